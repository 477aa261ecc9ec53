"""A client that leaves mid-stream ends the upstream call and the gateway settles what was used; uvicorn's own
log lines are JSON when the gateway logs JSON."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bedrockctl.server.gateway.counters import SqlCounters
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store import Store
from bedrockctl.store.audit import query
from bedrockctl.store.keys import KeyStore

from .conftest import HAIKU, RunningGateway, serve_process
from .test_policy import month_window

GUARD = 30.0  # fails the test if reached; a behaving gateway never comes near it
PROMPT = "tell me a long story about a gateway"


def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD
    while not check():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.02)


def _open_stream(gw: RunningGateway, path: str, token: str, body: dict[str, Any], marker: bytes) -> None:
    """POST a streaming request, read until ``marker`` (a regex) arrived (the stream is under way), then hang up."""
    host, port = gw.url.split("//")[1].split(":")
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=GUARD) as sock:
        sock.sendall(head + payload)
        seen = b""
        while not re.search(marker, seen):
            chunk = sock.recv(65536)
            assert chunk, seen
            seen += chunk
        assert seen.startswith(b"HTTP/1.1 200 ")


def _flush_all(gw: RunningGateway) -> None:
    assert gw.loop is not None
    asyncio.run_coroutine_threadsafe(gw.gateway.flush(everything=True), gw.loop).result(GUARD)


CASES = [
    (
        "converse-stream",
        lambda: {"messages": [{"role": "user", "content": [{"text": PROMPT}]}], "inferenceConfig": {"maxTokens": 500}},
        b"contentBlockDelta",
        "ConverseStream",
    ),
    (
        "invoke-with-response-stream",
        lambda: {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 500,
            "messages": [{"role": "user", "content": PROMPT}],
        },
        b":event-type",
        "InvokeModelWithResponseStream",
    ),
]


@pytest.mark.parametrize(("suffix", "body", "marker", "operation"), CASES)
def test_client_leaving_mid_stream_cancels_upstream_and_settles(
    start_gateway: Callable[..., RunningGateway],
    sandbox_env: Any,
    boto_client: Callable[..., Any],
    suffix: str,
    body: Callable[[], dict[str, Any]],
    marker: bytes,
    operation: str,
) -> None:
    gw = start_gateway(environments={"dev": EnvironmentSettings(name="dev", monthly_budget_usd=100.0)})
    sandbox_env.faults.set({"stream_pace": [{"ms": 500}]})
    dropped = sandbox_env.faults.streams_dropped
    _open_stream(gw, f"/model/{HAIKU}/{suffix}", gw.key()["token"], body(), marker)
    _until(lambda: sandbox_env.faults.streams_dropped > dropped)  # the sandbox saw the gateway hang up
    _flush_all(gw)
    rows = [r for r in query(gw.gateway.engine, limit=None) if r.operation == operation]
    assert len(rows) == 1
    row = rows[0]
    assert (row.status, row.http_status) == ("incomplete", 499)
    assert row.input_tokens > 0 and row.cost_nusd > 0  # the partial usage is billed, not dropped
    if suffix == "invoke-with-response-stream":  # exact: Anthropic's message_start said so before the client left
        direct = boto_client("bedrock-runtime").invoke_model(modelId=HAIKU, body=json.dumps(body()))
        assert row.input_tokens == json.loads(direct["body"].read())["usage"]["input_tokens"]
    window = month_window(gw.gateway.window_clock())
    ((used, reserved, _cap),) = SqlCounters(gw.gateway.engine).read([("budget:env:dev", window)]).values()
    assert reserved == 0  # the worst-case reservation went back
    assert used == row.cost_nusd


def test_openai_client_leaving_mid_stream(start_gateway: Callable[..., RunningGateway], sandbox_env: Any) -> None:
    gw = start_gateway()
    sandbox_env.faults.set({"stream_pace": [{"ms": 500}]})
    dropped = sandbox_env.faults.streams_dropped
    body = {"model": "haiku", "stream": True, "max_tokens": 500, "messages": [{"role": "user", "content": PROMPT}]}
    _open_stream(gw, "/v1/chat/completions", gw.key()["token"], body, rb'"content":"[^"]')
    _until(lambda: sandbox_env.faults.streams_dropped > dropped)
    _flush_all(gw)
    (row,) = list(query(gw.gateway.engine, limit=None))
    assert (row.status, row.http_status) == ("incomplete", 499)
    assert row.input_tokens > 0 and row.output_tokens > 0


def test_anthropic_client_leaving_mid_stream(start_gateway: Callable[..., RunningGateway], sandbox_env: Any) -> None:
    gw = start_gateway()
    sandbox_env.faults.set({"stream_pace": [{"ms": 500}]})
    dropped = sandbox_env.faults.streams_dropped
    body = {
        "model": "claude-3-haiku-20240307",
        "stream": True,
        "max_tokens": 500,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    _open_stream(gw, "/v1/messages", gw.key()["token"], body, rb'"text_delta","text":"[^"]')
    _until(lambda: sandbox_env.faults.streams_dropped > dropped)
    _flush_all(gw)
    (row,) = list(query(gw.gateway.engine, limit=None))
    assert (row.protocol, row.status, row.http_status) == ("anthropic", "incomplete", 499)
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.cost_nusd > 0


def test_a_stream_read_to_its_end_is_settled_as_before(gw: RunningGateway, sandbox_env: Any) -> None:
    sandbox_env.faults.set({"stream_pace": [{"ms": 1}]})
    body = {"model": "haiku", "stream": True, "max_tokens": 50, "messages": [{"role": "user", "content": PROMPT}]}
    r = httpx.post(gw.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {gw.key()['token']}"})
    assert r.status_code == 200 and r.text.endswith("data: [DONE]\n\n")
    _flush_all(gw)
    (row,) = list(query(gw.gateway.engine, limit=None))
    assert (row.status, row.http_status) == ("ok", 200)


# -- uvicorn's log lines ----------------------------------------------------------------------------------------
def test_uvicorn_log_lines_are_json(sandbox_env: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(
        f'[aws]\nregion = "us-east-1"\nretry_attempts = 1\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        "[logging]\njson = true\n[environments.dev]\n"
        '[gateway]\nmaster_secret = "log-test-secret"\nledger = false\naccess_log = true\n'
    )
    key = KeyStore(Store(db).engine, b"log-test-secret").create(user="ana", team="ml", environment="dev")
    proc, url = serve_process(cfg, "--log-level", "info")
    try:
        chat = {"model": "haiku", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
        ok = httpx.post(url + "/v1/chat/completions", json=chat, headers={"authorization": f"Bearer {key['token']}"})
        assert ok.status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    lines = [line for line in err.decode().splitlines() if line and not line.startswith("bedrockctl gateway on ")]
    docs = [json.loads(line) for line in lines]  # every line uvicorn wrote is one JSON object
    loggers = {d["logger"] for d in docs}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    access = [d for d in docs if d["logger"] == "uvicorn.access"]
    assert any("POST /v1/chat/completions" in d["message"] for d in access)
    assert key["token"] not in err.decode()
