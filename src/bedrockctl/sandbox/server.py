"""The sandbox server: one threaded WSGI server with our Bedrock handlers and moto in-process; HTTP/1.1 and HTTP/2
on the same port (``http2.py``): h2c with prior knowledge, or h2 by ALPN when it serves TLS (``tls=``).

``Sandbox(host="127.0.0.1", port=0, seed="empty", faults=None)`` — ``start()`` serves in a background
thread (``port=0`` picks a free port, see ``endpoint_url``), ``stop()``, ``reset()``, context manager;
``run_forever()`` / ``serve_cli()`` for ``bedrockctl sandbox``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from types import TracebackType
from typing import Any

from bedrockctl.sandbox.core import AwsError, InvocationRecord, SandboxRequest
from bedrockctl.sandbox.effects import Effects
from bedrockctl.sandbox.faults import Faults
from bedrockctl.sandbox.retention import weaken_moto_tracking
from bedrockctl.sandbox.state import reset_all

HANDLER_PACKAGES = (
    "bedrockctl.sandbox.bedrock",
    "bedrockctl.sandbox.cloudtrail",
    "bedrockctl.sandbox.iam_sim",
    "bedrockctl.sandbox.iam_api_keys",
    "bedrockctl.sandbox.sts_sim",
    "bedrockctl.sandbox.billing",
    "bedrockctl.sandbox.quotas",
)
SEEDS = ("empty", "demo")

_OPERATIONS = {
    "converse": "Converse",
    "converse-stream": "ConverseStream",
    "invoke": "InvokeModel",
    "invoke-with-response-stream": "InvokeModelWithResponseStream",
    "text": "InvokeAgent",
}


def load_handlers() -> list[str]:
    """Import the handler packages so their routes register."""
    for name in HANDLER_PACKAGES:
        importlib.import_module(name)
    return list(HANDLER_PACKAGES)


def _moto_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    return DomainDispatcherApplication(create_backend_app)


def reset_moto() -> None:
    from moto.core.base_backend import BackendDict
    from moto.core.model_instances import reset_model_data

    BackendDict.reset()
    reset_model_data()
    weaken_moto_tracking()


class Sandbox:
    """An offline AWS-compatible endpoint (see docs/sandbox.md)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str = "empty",
        faults: dict[str, Any] | None = None,
        tls: tuple[str, str] | None = None,
    ) -> None:
        if seed not in SEEDS:
            raise ValueError(f"unknown seed {seed!r}; expected one of {', '.join(SEEDS)}")
        self.host = host
        self.port = port
        self.seed = seed
        self.initial_faults = dict(faults or {})
        self.tls = tls  # (certificate, key) PEM files: HTTPS, with ALPN h2 / http/1.1
        self.faults = Faults(self.initial_faults)
        self.effects = Effects()
        self.stopping = threading.Event()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.ready_seconds: float | None = None  # wall time of start(): listening and seeded
        self.ready_cpu_seconds: float | None = None  # CPU time of the process during start()
        self.app: Any = None
        self.seed_skipped: list[str] = []

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def start(self) -> Sandbox:
        from werkzeug.serving import make_server

        from bedrockctl.sandbox.dispatch import Dispatcher
        from bedrockctl.sandbox.http2 import H2Bridge, tls_context
        from bedrockctl.sandbox.http11 import KeepAliveRequestHandler

        started, started_cpu = time.perf_counter(), time.process_time()
        import moto.core

        load_handlers()
        weaken_moto_tracking()  # docs/sandbox.md, "Memory"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.stopping.clear()
        self.app = Dispatcher(self, moto_factory=_moto_app)
        self._server = make_server(
            self.host,
            self.port,
            self.app,
            threaded=True,
            request_handler=KeepAliveRequestHandler,
            ssl_context=tls_context(*self.tls) if self.tls else None,
        )
        self._server.daemon_threads = True
        self._server.h2_bridge = H2Bridge(self.app)  # HTTP/2 (h2c, prior knowledge) on the same port
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="bedrockctl-sandbox", daemon=True)
        self._thread.start()
        self._apply_seed()
        self.ready_seconds = time.perf_counter() - started
        self.ready_cpu_seconds = time.process_time() - started_cpu
        # moto's server app (Flask, URL maps) is built on first use; warm it now that we are ready. The modules
        # reset() needs are imported first, here: two threads importing moto.core at once can see it half-built.
        import moto.core.base_backend
        import moto.core.model_instances  # noqa: F401

        threading.Thread(target=lambda: self.app.moto_app, name="bedrockctl-sandbox-warmup", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            from bedrockctl.sandbox.http11 import close_connections

            self._server.shutdown()
            close_connections(self._server)
            self._server.h2_bridge.stop()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self, *, reseed: bool = True) -> None:
        """Forget everything (moto, our handlers' state, events, faults); re-apply the seed if ``reseed``."""
        reset_moto()
        reset_all()
        self.effects.reset()
        self.faults.set(self.initial_faults)
        if reseed:
            self._apply_seed()

    def _apply_seed(self) -> None:
        """Build the seed's estate; faults (a Region that is down, expired keys...) apply to clients, not to the
        seed, so they are lifted while it runs."""
        if self.seed == "demo":
            from bedrockctl.sandbox.seeds import seed_demo

            config = self.faults.config
            self.faults.set({})
            try:
                self.seed_skipped = seed_demo(self.endpoint_url, app=self.app)
            finally:
                self.faults.set(config)

    def run_forever(self) -> None:
        if self._thread is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- hooks for handlers (core.SandboxHooks) ------------------------------------------------------------
    def record_invocation(self, req: SandboxRequest, record: InvocationRecord) -> None:
        self.effects.record_invocation(req, record)
        if not record.error_code:
            self.faults.note_tokens(
                req.account_id, req.region, record.model_id, record.input_tokens + record.output_tokens
            )

    def check_faults(self, req: SandboxRequest, model_id: str | None) -> None:
        """Raise the AwsError an injected fault produces; idempotent per request (the server calls it for
        every runtime route before the handler runs). Rejected calls are recorded like AWS records them."""
        if getattr(req, "_faults_checked", False):
            return
        req._faults_checked = True  # type: ignore[attr-defined]
        try:
            self.faults.check(req, model_id, self.stopping)
        except AwsError as err:
            if model_id and not self.stopping.is_set():
                operation = _OPERATIONS.get(req.path.rstrip("/").rsplit("/", 1)[-1], "InvokeModel")
                self.record_invocation(
                    req,
                    InvocationRecord(
                        operation=operation,
                        model_id=model_id,
                        input_tokens=0,
                        output_tokens=0,
                        error_code=err.code,
                        output_body=err.message,
                    ),
                )
            raise


def serve_cli(
    host: str = "127.0.0.1", port: int = 4566, seed: str = "empty", tls: tuple[str, str] | None = None
) -> None:
    """Entry point of ``bedrockctl sandbox``: serve until Ctrl-C."""
    sandbox = Sandbox(host=host, port=port, seed=seed, tls=tls).start()
    out = sys.stderr
    print(
        f"bedrockctl sandbox listening on {sandbox.endpoint_url} (seed={seed}, ready in "
        f"{sandbox.ready_seconds or 0:.2f}s, cpu {sandbox.ready_cpu_seconds or 0:.2f}s)",
        file=out,
    )
    print(f"  export AWS_ENDPOINT_URL={sandbox.endpoint_url}", file=out)
    print(
        "  export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1", file=out
    )
    print("  admin API: GET/POST/DELETE /_sandbox/faults, POST /_sandbox/reset; Ctrl-C to stop", file=out)
    sandbox.run_forever()
