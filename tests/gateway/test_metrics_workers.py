"""``/metrics`` under ``bedrockctl serve --workers 2``: one scrape, whichever worker answers it, reports the sum
over both workers (prometheus_client multiprocess mode), and the run starts from an emptied directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bedrockctl.server.gateway.metrics import prepare_multiprocess_dir, remove_multiprocess_dir
from bedrockctl.store import Store
from bedrockctl.store.keys import KeyStore

from .conftest import serve_process

SECRET = "metrics-test-master-secret"
CHAT = {"model": "haiku", "messages": [{"role": "user", "content": "count me"}], "max_tokens": 16}


def _samples(text: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


def _total(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def _stale_run(metrics_dir: Path) -> None:
    """Counters a previous run left in the directory (a worker that counted 7 requests)."""
    code = (
        "from bedrockctl.server.gateway.metrics import Metrics\n"
        "m = Metrics()\n"
        "for _ in range(7): m.observe('openai', 'ok', 5, None, 1000)\n"
        "m.publish()\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    assert list(metrics_dir.glob("counter_*.db"))


def test_one_scrape_sums_every_worker(sandbox_env: Any, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(
        f'[aws]\nregion = "us-east-1"\nretry_attempts = 1\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        f'[environments.dev]\n[gateway]\nmaster_secret = "{SECRET}"\nledger = false\n'
    )
    key = KeyStore(Store(db).engine, SECRET.encode()).create(user="ana", team="ml", environment="dev")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    _stale_run(metrics_dir)
    proc, url = serve_process(cfg, "--workers", "2", env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    try:
        # Each request on a new connection, until both workers have answered some (the request id's first 24
        # characters are per process).
        headers = {"authorization": f"Bearer {key['token']}"}
        workers: dict[str, int] = {}
        sent = 0
        while sent < 300 and (len(workers) < 2 or sent < 40):
            r = httpx.post(url + "/v1/chat/completions", json=CHAT, headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            prefix = r.headers["x-request-id"][:24]
            workers[prefix] = workers.get(prefix, 0) + 1
            sent += 1
        assert len(workers) == 2, f"one worker answered all {sent} requests"

        # The workers record a request just after answering it: wait until a scrape shows them all, then every
        # scrape (each on a new connection, so either worker answers) reports exactly the sum.
        deadline = time.monotonic() + 10
        while _total(_samples(httpx.get(url + "/metrics").text), "bedrockctl_gateway_requests_total") < sent:
            assert time.monotonic() < deadline, "the scrape never reached the number of requests sent"
            time.sleep(0.1)
        for _ in range(10):
            scrape = httpx.get(url + "/metrics")
            assert scrape.headers["content-type"].startswith("text/plain; version=0.0.4")
            samples = _samples(scrape.text)
            assert _total(samples, "bedrockctl_gateway_requests_total") == sent  # the stale run's 7 are gone
            assert _total(samples, "bedrockctl_gateway_requests_total", protocol="openai", status="ok") == sent
            assert _total(samples, "bedrockctl_gateway_request_duration_seconds_count") == sent
            assert _total(samples, "bedrockctl_gateway_tokens_total", kind="output") > 0
            assert _total(samples, "bedrockctl_gateway_cost_usd_total") > 0
            live = {s.labels["pid"] for s in samples["bedrockctl_gateway_worker_start_time_seconds"]}
            assert len(live) == 2  # one series per live worker; the stale run's process is not among them
    finally:
        proc.terminate()
        proc.wait(20)
    assert proc.returncode is not None
    # the operator's directory stays (serve only empties it on start); no live gauge of a stopped worker remains
    assert metrics_dir.is_dir() and not list(metrics_dir.glob("gauge_liveall_*.db"))


def test_serve_makes_and_removes_its_own_directory(monkeypatch: Any) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    path, owned = prepare_multiprocess_dir()
    assert owned and path.is_dir() and not list(path.iterdir())
    (path / "counter_1.db").write_bytes(b"")
    remove_multiprocess_dir(path, owned)
    assert not path.exists()
