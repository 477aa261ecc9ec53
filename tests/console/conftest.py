"""Fixtures for the console: a fresh SQLite store, a local master key, users (admin, two members)."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bedrockctl.services.credentials import CredentialService
from bedrockctl.services.envelope import LocalMasterKey
from bedrockctl.services.users import SYSTEM, Actor, UserService
from bedrockctl.settings import AwsSettings, EnvironmentSettings, Settings, StoreSettings
from bedrockctl.store import Store

PASSWORD = "correct horse battery"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"  # a fake secret the tests hunt for everywhere
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789"
EXTERNAL_ID = "ext-id-4f1d9c"


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per worker; each test gets a copy (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("template") / "console.db"
    Store(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store(tmp_path: Path, migrated_db: Path) -> Any:
    target = tmp_path / "console.db"
    shutil.copyfile(migrated_db, target)
    s = Store(f"sqlite:///{target}", migrate=False)
    yield s
    s.close()


@pytest.fixture
def users(store: Any) -> UserService:
    return UserService(store.engine, hash_cost="test")


@pytest.fixture
def actors(users: UserService) -> dict[str, Actor]:
    out = {}
    for name, role, team in (("root", "admin", "platform"), ("alice", "member", "ml"), ("bob", "member", "web")):
        u = users.create(SYSTEM, name, PASSWORD, role=role, team=team)
        out[name] = Actor(u["id"], name, role, team)
    return out


@pytest.fixture
def master(tmp_path: Path) -> LocalMasterKey:
    return LocalMasterKey(tmp_path / "keys" / "credentials-master.key")


@pytest.fixture
def creds(store: Any, master: LocalMasterKey) -> CredentialService:
    return CredentialService(store.engine, master, base_settings=AwsSettings(region="us-east-1"))


# -- a running console (uvicorn in a thread, free port) -------------------------------------------------------
@dataclass
class RunningConsole:
    url: str
    app: Any
    settings: Any
    engine: Any
    server: Any
    thread: threading.Thread

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30.0)

    def login(self, username: str, password: str = PASSWORD) -> httpx.Client:
        c = self.client()
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"})
        assert r.status_code == 303, r.text
        return c


def csrf_of(client: httpx.Client, path: str = "/") -> str:
    r = client.get(path)
    m = re.search(r'data-csrf="([^"]+)"', r.text)
    assert m, f"no CSRF token on {path} ({r.status_code})"
    return m.group(1)


def console_settings(tmp: Path) -> Settings:
    return Settings(
        aws=AwsSettings(region="us-east-1", retry_attempts=1),
        environments={
            "dev": EnvironmentSettings(name="dev", monthly_budget_usd=100.0),
            "prod": EnvironmentSettings(name="prod", monthly_budget_usd=1000.0, alert_thresholds=[50.0, 80.0]),
        },
        gateway={"master_secret": "test-master-secret", "ledger": False},
        store=StoreSettings(url=f"sqlite:///{tmp / 'console.db'}", data_dir=str(tmp)),
    )


@pytest.fixture
def console(
    sandbox_env: Any, store: Any, tmp_path: Path, actors: dict[str, Actor], master: LocalMasterKey
) -> Iterator[RunningConsole]:
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.context import AppContext
    from bedrockctl.server import create_app
    from bedrockctl.server.console import mount_console

    settings = console_settings(tmp_path)
    ctx = AppContext(settings=settings, sessions=SessionFactory(settings.aws))
    app = create_app(ctx, with_gateway=False)
    mount_console(app, ctx, engine=store.engine, master=master, hash_cost="test")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, loop="asyncio"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("console did not start")
        time.sleep(0.01)
    yield RunningConsole(f"http://127.0.0.1:{sock.getsockname()[1]}", app, settings, store.engine, server, thread)
    server.should_exit = True
    thread.join(10)
