"""Gateway administration for the CLI: its keys (``bedrockctl keys``) and its audit trail (``bedrockctl audit``),
in the gateway's database (``bedrockctl.store.gateway.open_engine``) -- never through the running gateway."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bedrockctl.errors import ValidationFailed
from bedrockctl.store.audit import AuditRecord, query
from bedrockctl.store.gateway import open_engine
from bedrockctl.store.keys import KeyRecord, KeyStore, master_secret

DEFAULT_ENVIRONMENT = "default"  # gateway.default_environment when unset (the gateway's own default)


def default_environment(settings: Any) -> str:
    return str(dict(getattr(settings, "gateway", {}) or {}).get("default_environment") or DEFAULT_ENVIRONMENT)


@contextmanager
def key_store(settings: Any) -> Iterator[KeyStore]:
    """The gateway's key store, uncached (a revocation is read back at once); the engine is closed afterwards."""
    engine = open_engine(settings)
    try:
        yield KeyStore(engine, master_secret(settings), 0.0)
    finally:
        engine.dispose()


def create_key(
    settings: Any,
    *,
    user: str,
    team: str,
    environment: str | None = None,
    name: str = "",
    allowed_models: list[str] | None = None,
    limits: dict[str, float] | None = None,
    expires_in: float | None = None,
    guardrail_id: str | None = None,
    guardrail_version: str | None = None,
) -> dict[str, Any]:
    """Create a key; the returned ``token`` and ``aws_secret_access_key`` are shown once, never stored."""
    with key_store(settings) as keys:
        try:
            return keys.create(
                user=user,
                team=team,
                environment=environment or default_environment(settings),
                name=name,
                allowed_models=allowed_models,
                limits=limits,
                expires_in=expires_in,
                guardrail_id=guardrail_id,
                guardrail_version=guardrail_version,
            )
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from exc


def environment_models(settings: Any, environment: str | None) -> list[str]:
    """The models an environment allows (empty: any model)."""
    env = settings.environments.get(environment or default_environment(settings))
    return list(env.allowed_models) if env is not None else []


def list_keys(settings: Any, *, include_inactive: bool = True) -> list[KeyRecord]:
    with key_store(settings) as keys:
        return keys.list(include_inactive=include_inactive)


def revoke_key(settings: Any, key_id: str) -> KeyRecord:
    with key_store(settings) as keys:
        return keys.revoke(key_id)


def audit_records(settings: Any, **filters: Any) -> Iterator[AuditRecord]:
    """Audit records in time order, read as they stream; ``filters`` are ``bedrockctl.store.audit.query``'s
    (``since``, ``until``, ``key_id``, ``team``, ``user``, ``status``, ``limit``: the most recent N, None for all)."""
    engine = open_engine(settings)
    try:
        yield from query(engine, **filters)
    finally:
        engine.dispose()
