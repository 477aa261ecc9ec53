"""Fixtures for the budget tests: an isolated data dir, a config writer, the CLI with the budget group, Cost
Explorer result injection (moto's ``/moto-api/static/ce/cost-and-usage-results``) and a local webhook receiver."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import moto.core.base_backend  # noqa: F401 - import moto before the sandbox's warm-up thread does (import race)
import pytest

import bedrockctl.sandbox.billing  # noqa: F401 - registers the Budgets operations moto lacks (in-process sandbox)

ACCOUNT = "123456789012"  # the sandbox account of the fake test credentials


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(d))
    return d


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], str]:
    def write(text: str) -> str:
        path = tmp_path / "bedrockctl.toml"
        path.write_text(text)
        return str(path)

    return write


@pytest.fixture
def cli() -> Callable[..., Any]:
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    def run(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def inject_ce(sandbox_env: Any) -> Callable[..., None]:
    """Queue Cost Explorer ``GetCostAndUsage`` results (taken in order by each distinct request)."""

    def inject(*results: dict[str, Any]) -> None:
        body = json.dumps({"account_id": ACCOUNT, "results": list(results)}).encode()
        req = urllib.request.Request(
            f"{sandbox_env.endpoint_url}/moto-api/static/ce/cost-and-usage-results", data=body, method="POST"
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 201

    return inject


class Receiver:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail = False
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if received.fail:
                    self.send_response(503)
                else:
                    received.posts.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
def invocation() -> Callable[..., str]:
    return make_invocation


def make_invocation(rid: str, ts: str, env: dict[str, str] | None, input_tokens: int, output_tokens: int) -> str:
    """One invocation-log record on anthropic.claude-3-haiku (0.00025 / 0.00125 USD per 1k tokens)."""
    rec: dict[str, Any] = {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": ts,
        "accountId": ACCOUNT,
        "identity": {"arn": f"arn:aws:iam::{ACCOUNT}:user/alice"},
        "region": "us-east-1",
        "requestId": rid,
        "operation": "Converse",
        "modelId": "anthropic.claude-3-haiku-20240307-v1:0",
        "input": {"inputTokenCount": input_tokens},
        "output": {"outputTokenCount": output_tokens},
    }
    if env:
        rec["requestMetadata"] = env
    return json.dumps(rec)
