"""The demo's settings and its server: one ASGI app (gateway + console) on two loopback listeners.

The console listens on plain HTTP (``--port``, 8765) so a browser opens it without a certificate warning; the
gateway's clients use the HTTPS listener (``--tls-port``), whose certificate comes from the throwaway CA in the demo
data directory (``bedrockctl.security.tls``): botocore 1.44 and later send bearer tokens only over HTTPS. Ports are
bound before anything else starts, so a busy port is a clear error naming the flag to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.demo.errors import DemoPortUnavailable
from bedrockctl.security.tls import LocalTLS
from bedrockctl.settings import AwsSettings, EnvironmentSettings, Settings, StoreSettings

REGION = "us-east-1"
FAILOVER_REGION = "us-west-2"
# Sandbox credentials: the sandbox accepts any key pair; these are not a secret (and are redacted anyway).
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "demo-secret-not-real"  # noqa: S105 - the sandbox's, not a secret
DEV_BUDGET_USD = 0.01  # small on purpose: carol's code reviews trip it


def demo_settings(data_dir: Path, endpoint: str) -> Settings:
    """Every setting of the demo, explicit: nothing comes from the user's config files or environment."""
    return Settings(
        aws=AwsSettings(
            region=REGION,
            endpoint_url=endpoint,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            retry_attempts=2,
        ),
        environments={
            "prod": EnvironmentSettings(name="prod", monthly_budget_usd=50.0, alert_thresholds=[50.0, 80.0]),
            "dev": EnvironmentSettings(
                name="dev", monthly_budget_usd=DEV_BUDGET_USD, alert_thresholds=[50.0, 80.0], hard_stop_pct=95.0
            ),
        },
        # no gateway ledger: the usage report reads the invocation logs and CloudTrail the demo ingests (the
        # gateway's calls, tagged with each caller); the ledger would count the same calls a second time, and only
        # when its 30-second shipping happened to run before the report
        gateway={"master_secret": "demo-master-secret-not-for-production", "flush_interval": 0.2, "ledger": False},
        runtime={"failover_regions": [FAILOVER_REGION], "backoff_base": 0.0},
        store=StoreSettings(url=f"sqlite:///{data_dir / 'bedrockctl.db'}", data_dir=str(data_dir)),
    )


def bind_port(host: str, port: int, flag: str) -> socket.socket:
    """A listening-ready socket on ``host:port``; a busy or forbidden port is ``DemoPortUnavailable`` naming
    ``flag``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be opened ({exc.strerror})"
        raise DemoPortUnavailable(
            f"port {port} on {host} {why}: choose another with {flag} (0 picks any free port)",
            remediation=f"Stop the program that uses port {port}, or run the demo with {flag} <another port>.",
            details={"flag": flag, "port": port, "errno": exc.errno},
        ) from exc
    return sock


@dataclass
class Listeners:
    """The two sockets of the demo server, bound up front."""

    http: socket.socket
    https: socket.socket
    host: str = "127.0.0.1"

    @classmethod
    def bind(cls, port: int, tls_port: int | None, host: str = "127.0.0.1") -> Listeners:
        if tls_port is None:
            tls_port = port + 1 if 0 < port < 65535 else 0
        http = bind_port(host, port, "--port")
        try:
            https = bind_port(host, tls_port, "--tls-port")
        except DemoPortUnavailable:
            http.close()
            raise
        return cls(http, https, host)

    def close(self) -> None:
        self.http.close()
        self.https.close()


@dataclass
class RunningServer:
    url: str  # console (http)
    tls_url: str  # gateway for clients (https)
    app: Any
    servers: list[Any]
    thread: threading.Thread | None = None
    loop: asyncio.AbstractEventLoop | None = None
    failure: list[BaseException] = field(default_factory=list)

    @property
    def gateway(self) -> Any:
        return self.app.state["gateway"]

    def flush(self) -> None:
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(self.gateway.flush(True), self.loop).result(30)

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        if self.thread is not None:
            self.thread.join(10)

    def wait(self) -> None:
        with contextlib.suppress(KeyboardInterrupt):
            while self.thread is not None and self.thread.is_alive():
                self.thread.join(0.5)


def start_server(ctx: Any, listeners: Listeners, tls: LocalTLS) -> RunningServer:
    """``create_app(ctx)`` under uvicorn in a background thread, on the HTTP and the HTTPS listener."""
    import uvicorn

    from bedrockctl.server import create_app

    app = create_app(ctx)
    common: dict[str, Any] = {"log_level": "warning", "access_log": False}
    http = uvicorn.Server(uvicorn.Config(app, lifespan="on", **common))
    https = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key), **common)
    )
    host = listeners.host
    running = RunningServer(
        url=f"http://{host}:{listeners.http.getsockname()[1]}",
        tls_url=f"https://{host}:{listeners.https.getsockname()[1]}",
        app=app,
        servers=[http, https],
    )

    async def serve() -> None:
        # the HTTPS listener has no lifespan of its own: the app's startup runs once, on the HTTP one, and
        # start_server returns only when both listen
        await asyncio.gather(http.serve(sockets=[listeners.http]), https.serve(sockets=[listeners.https]))

    def run() -> None:
        loop = asyncio.new_event_loop()
        running.loop = loop
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # reported by the caller: start_server raises it
            running.failure.append(exc)

    running.thread = threading.Thread(target=run, name="bedrockctl-demo-server", daemon=True)
    running.thread.start()
    deadline = time.monotonic() + 15
    while not (http.started and https.started):
        if running.failure:
            raise RuntimeError(f"the demo server did not start: {running.failure[0]!r}") from running.failure[0]
        if time.monotonic() > deadline or not running.thread.is_alive():
            raise RuntimeError("the demo server did not start within 15 s")
        time.sleep(0.02)
    return running
