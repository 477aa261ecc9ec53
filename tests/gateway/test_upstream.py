"""The hot-path pieces cut for CPU keep their behaviour: upstream read timeouts (a timer instead of wait_for) and
request ids (a per-process prefix + a counter instead of uuid4)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bedrockctl.server.gateway.http import request_id
from bedrockctl.store.audit import query

from .conftest import HAIKU, make_settings
from .test_policy import BODY


def test_upstream_read_timeout_then_recovery(start_gateway: Any, sandbox_env: Any, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.aws.read_timeout = 2.0  # generous: a loaded machine still answers in time
    gw = start_gateway(settings=settings)
    key = gw.key()
    headers = {"authorization": f"Bearer {key['token']}", "content-type": "application/json"}
    url = f"{gw.url}/model/{HAIKU}/converse"
    assert httpx.post(url, content=BODY, headers=headers, timeout=30).status_code == 200
    sandbox_env.faults.set({"latency": [{"ms": 5000, "service": "bedrock-runtime"}]})
    started = time.monotonic()
    slow = httpx.post(url, content=BODY, headers=headers, timeout=30)
    took = time.monotonic() - started
    sandbox_env.faults.clear()
    assert slow.status_code == 502 and took < 4.9, (slow.status_code, took)  # gave up before the answer came
    assert slow.headers["x-amzn-errortype"].startswith("RequestTimeout:")
    assert "within 2 s" in slow.json()["message"]
    time.sleep(3.5)  # the sandbox finishes the slow answer; the gateway must not read it as the next reply
    for _ in range(3):
        ok = httpx.post(url, content=BODY, headers=headers, timeout=30)
        assert ok.status_code == 200 and ok.json()["usage"]["outputTokens"] == 10
    gw.flush()
    statuses = [r.status for r in query(gw.gateway.engine, limit=None)]
    assert statuses[0] == "ok" and statuses[1] != "ok" and statuses[2:] == ["ok"] * 3


def test_request_ids_unique_uuid_shaped_and_new_after_fork() -> None:
    ids = [request_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == ids[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.write(write, request_id().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child[:24] != ids[0][:24]  # the child has its own random prefix
