"""Fixtures for the alert service: a store on SQLite and on PostgreSQL (own schema), a clock the test owns, and a real
local webhook server that can fail its first N requests, answer 500, or not answer in time."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bedrockctl.store import Store


class Clock:
    """Time as the test says (starts now, moves only when told)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Hook:
    """A real HTTP server: ``fail_first`` requests answer ``fail_status`` (then 204); ``delay`` seconds before any
    answer (a client with a shorter timeout sees no answer). ``requests`` counts every POST, ``received`` keeps the
    bodies of those answered 2xx."""

    def __init__(self) -> None:
        self.fail_first = 0
        self.fail_status = 500
        self.delay = 0.0
        self.requests = 0
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with hook.lock:
                    hook.requests += 1
                    failing = hook.requests <= hook.fail_first
                    if not failing:
                        hook.received.append(body)
                if hook.delay:
                    time.sleep(hook.delay)
                self.send_response(hook.fail_status if failing else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/secret-token-123"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    try:
        yield h
    finally:
        h.server.shutdown()
        h.server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Stores:
    """Stores of one dialect on one database (a SQLite file, or a PostgreSQL schema dropped afterwards): several
    ``open()`` calls are several engines on the same data, as several workers or replicas have."""

    def __init__(self, dialect: str, tmp_path: Path) -> None:
        self.dialect = dialect
        self.url = f"sqlite:///{tmp_path / 'alerts.db'}"
        self.schema: str | None = None
        if dialect == "postgresql":
            pg = os.environ.get("BEDROCKCTL_TEST_PG_URL")
            if not pg:
                pytest.skip("PostgreSQL alert test: set BEDROCKCTL_TEST_PG_URL (postgresql://postgres@127.0.0.1/test)")
            self.url, self.schema = pg, f"t_{uuid.uuid4().hex[:12]}"
        self.opened: list[Store] = []

    def open(self, *, migrate: bool = True) -> Any:
        store = Store(self.url, schema=self.schema, migrate=migrate and not self.opened)
        self.opened.append(store)
        return store.engine

    def close(self) -> None:
        if self.schema and self.opened:
            with self.opened[0].engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    s = Stores(request.param, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def engine(stores: Stores) -> Any:
    return stores.open()
