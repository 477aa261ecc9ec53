"""The alert tests' fixtures (a store on SQLite and on PostgreSQL, a clock the test owns, a real webhook server),
shared with the scheduled-job tests."""

from alerts.conftest import Clock, Hook, Stores, clock, engine, hook, stores

__all__ = ["Clock", "Hook", "Stores", "clock", "engine", "hook", "stores"]
