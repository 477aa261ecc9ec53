"""Fixtures: a real gateway (uvicorn in a thread, free port) in front of the sandbox, and keys for it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bedrockctl.aws.session import SessionFactory
from bedrockctl.context import AppContext
from bedrockctl.security.tls import ensure_local_tls
from bedrockctl.server import create_app
from bedrockctl.server.gateway.hardening import uvicorn_options
from bedrockctl.server.gateway.pipeline import Gateway
from bedrockctl.settings import AwsSettings, EnvironmentSettings, Settings, StoreSettings

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass
class RunningGateway:
    url: str
    gateway: Gateway
    server: uvicorn.Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop | None = None
    ca: Path | None = None  # the CA certificate to trust when the gateway serves TLS (``start_gateway(tls=True)``)

    def key(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("user", "ana")
        kwargs.setdefault("team", "ml")
        kwargs.setdefault("environment", "dev")
        return self.gateway.keys.create(**kwargs)

    def flush(self) -> None:
        """Run the background flush now (settle counters, write audit rows) on the server's loop."""
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self.gateway.flush(), self.loop).result(10)


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def make_settings(
    tmp: Path, environments: dict[str, EnvironmentSettings] | None = None, gateway: dict[str, Any] | None = None
) -> Settings:
    envs = environments if environments is not None else {"dev": EnvironmentSettings(name="dev")}
    gw = {
        "ledger": False,
        "key_cache_ttl": 0.2,
        "flush_interval": 0.05,
        "master_secret": "test-master-secret",
        **(gateway or {}),
    }
    return Settings(
        aws=AwsSettings(region="us-east-1", retry_attempts=1),
        environments=envs,
        gateway=gw,
        store=StoreSettings(url=f"sqlite:///{tmp / 'gateway.db'}", data_dir=str(tmp)),
    )


@pytest.fixture
def start_gateway(sandbox_env: Any, tmp_path: Path) -> Iterator[Callable[..., RunningGateway]]:
    started: list[RunningGateway] = []

    def start(
        environments: dict[str, EnvironmentSettings] | None = None,
        gateway: dict[str, Any] | None = None,
        settings: Settings | None = None,
        tls: bool = False,
        host: str = "127.0.0.1",
    ) -> RunningGateway:
        """A gateway on a free port; ``tls=True`` serves HTTPS with a certificate from a fresh local CA (``.ca``), as
        bearer-token clients need (botocore >= 1.44 refuses to send a bearer token over plain HTTP)."""
        settings = settings or make_settings(tmp_path, environments, gateway)
        ctx = AppContext(settings=settings, sessions=SessionFactory(settings.aws))
        app = create_app(ctx)
        gw = app.state["gateway"]
        started_at = time.time()
        gw.window_clock = lambda: started_at  # the test owns the calendar: no window ends during its requests
        sock = free_socket(host)
        local = ensure_local_tls(tmp_path / "tls") if tls else None  # the CA `serve --tls self-signed` uses
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_level="warning",
            loop="asyncio",
            ssl_certfile=str(local.cert) if local else None,
            ssl_keyfile=str(local.key) if local else None,
            **uvicorn_options(gw.opts),  # what `bedrockctl serve` gives uvicorn: header timeout, keep-alive
        )
        server = uvicorn.Server(config)
        url = f"{'https' if tls else 'http'}://{host}:{sock.getsockname()[1]}"
        running = RunningGateway(url, gw, server, None, ca=local.ca_cert if local else None)  # type: ignore[arg-type]

        def run() -> None:
            loop = asyncio.new_event_loop()
            running.loop = loop
            loop.run_until_complete(server.serve(sockets=[sock]))

        thread = threading.Thread(target=run, daemon=True)
        running.thread = thread
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.01)
        started.append(running)
        return running

    yield start
    for running in started:
        running.server.should_exit = True
        running.thread.join(10)


@pytest.fixture
def gw(start_gateway: Callable[..., RunningGateway]) -> RunningGateway:
    return start_gateway()


def serve_process(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``bedrockctl serve --port <free> *args`` with ``config``, once its /readyz answers 200 (stderr piped)."""
    from ports import spawn_listening

    proc, port = spawn_listening(
        lambda port: [sys.executable, "-m", "bedrockctl.cli.main", "serve", "--port", str(port), *args],
        env={**os.environ, "BEDROCKCTL_CONFIG": str(config), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "serve exited")
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"serve {' '.join(args)} did not come up")
        time.sleep(0.2)
