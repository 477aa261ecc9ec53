"""``bedrockctl keys create|list|revoke`` and ``bedrockctl audit list|export`` as subprocesses, against the same
store as a running gateway: the key works at once, is shown once and never again, and never reaches the logs."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import HAIKU
from .test_policy import MSG, bedrock


def _cli(tmp: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BEDROCKCTL_CONFIG": str(tmp / "bedrockctl.toml"), "NO_COLOR": "1", "COLUMNS": "250"}
    out = subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert out.returncode == 0, out.stderr
    return out


def _config(tmp: Path) -> None:
    # the same store, data directory and master secret as tests/gateway/conftest.make_settings
    (tmp / "bedrockctl.toml").write_text(f"""
[aws]
region = "us-east-1"

[store]
url = "sqlite:///{tmp / "gateway.db"}"
data_dir = "{tmp}"

[logging]
level = "DEBUG"
file = "{tmp / "cli.log"}"

[environments.dev]

[gateway]
master_secret = "test-master-secret"
""")


def test_keys_cli_shown_once_never_logged(start_gateway: Any, tmp_path: Path) -> None:
    gw = start_gateway()
    _config(tmp_path)
    created = json.loads(
        _cli(tmp_path, "-v", "keys", "create", "--user", "ana", "--team", "ml", "--env", "dev", "--rpm", "100",
             "--expires", "30d", "--name", "laptop", "--json").stdout
    )  # fmt: skip
    token, secret = created["token"], created["aws_secret_access_key"]
    assert token.startswith("bgk.") and created["key_id"] in token and created["aws_access_key_id"] == created["key_id"]
    text = _cli(tmp_path, "-v", "keys", "create", "--user", "bo", "--team", "search", "--env", "dev")
    other_id = next(line.split()[-1] for line in text.stdout.splitlines() if "Gateway key" in line)
    other_token = next(w for w in text.stdout.split() if w.startswith("bgk."))
    assert text.stdout.count(other_token) == 1  # shown once in the text output too

    # the key works against the running gateway at once, bearer and SigV4
    c = bedrock(gw, created)
    c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    r = httpx.post(
        f"{gw.url}/model/{HAIKU}/converse",
        json={"messages": MSG, "inferenceConfig": {"maxTokens": 5}},
        headers={"authorization": f"Bearer {other_token}"},
    )
    assert r.status_code == 200 and r.json()["usage"]["outputTokens"] == 5

    listed = _cli(tmp_path, "keys", "list", "--json").stdout
    table = _cli(tmp_path, "keys", "list", "--all").stdout
    recs = {r["key_id"]: r for r in json.loads(listed)}
    assert recs[created["key_id"]]["limits"] == {"rpm": 100.0} and recs[created["key_id"]]["name"] == "laptop"
    assert recs[created["key_id"]]["expires_at"] and recs[other_id]["team"] == "search"
    for blob in (listed, table):
        for s in (token, secret, other_token, token.rsplit(".", 1)[1]):
            assert s not in blob
        assert "secret_hash" not in blob

    revoked = json.loads(_cli(tmp_path, "keys", "revoke", created["key_id"], "--json").stdout)
    assert revoked["state"] == "revoked" and revoked["revoked_at"]
    time.sleep(0.3)  # gateway.key_cache_ttl = 0.2 in the tests
    with pytest.raises(c.exceptions.AccessDeniedException):
        c.converse(modelId=HAIKU, messages=MSG)
    active = {r["key_id"] for r in json.loads(_cli(tmp_path, "keys", "list", "--json").stdout)}
    assert created["key_id"] not in active and other_id in active
    every = {r["key_id"]: r["state"] for r in json.loads(_cli(tmp_path, "keys", "list", "--all", "--json").stdout)}
    assert every[created["key_id"]] == "revoked"
    missing = _cli(tmp_path, "keys", "revoke", "BGKNOTAKEY", check=False)
    assert missing.returncode == 4 and "BRC-GW-001" in missing.stderr and "BGKNOTAKEY" in missing.stderr

    log = (tmp_path / "cli.log").read_text() if (tmp_path / "cli.log").exists() else ""
    for s in (token, secret, other_token):
        assert s not in log and s not in text.stderr


def test_audit_cli_list_and_export(start_gateway: Any, tmp_path: Path) -> None:
    gw = start_gateway()
    _config(tmp_path)
    key = gw.key(team="ml")
    c = bedrock(gw, key)
    for _ in range(3):
        c.converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    other = gw.key(team="search", user="bo")
    bedrock(gw, other).converse(modelId=HAIKU, messages=MSG, inferenceConfig={"maxTokens": 5})
    with pytest.raises(c.exceptions.ClientError):
        c.converse(modelId="no.such-model-v1:0", messages=MSG)
    gw.flush()

    rows = json.loads(_cli(tmp_path, "audit", "list", "--since", "1h", "--json").stdout)
    assert len(rows) == 5 and {r["status"] for r in rows} >= {"ok"}
    ml = json.loads(_cli(tmp_path, "audit", "list", "--team", "ml", "--status", "ok", "--json").stdout)
    assert len(ml) == 3 and all(r["key_id"] == key["key_id"] and r["output_tokens"] == 5 for r in ml)
    assert [r["request_id"] for r in json.loads(_cli(tmp_path, "audit", "list", "--limit", "2", "--json").stdout)] == [
        r["request_id"] for r in rows[-2:]
    ]
    table = _cli(tmp_path, "audit", "list").stdout
    assert "Gateway audit" in table and key["key_id"] in table

    out = tmp_path / "audit.csv"
    _cli(tmp_path, "audit", "export", "--since", "1h", "--format", "csv", "-o", str(out))
    with open(out, newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert [r["request_id"] for r in exported] == [r["request_id"] for r in rows]
    assert {r["team"] for r in exported} == {"ml", "search"}
    logs = [
        json.loads(line) for line in _cli(tmp_path, "audit", "export", "--format", "invocation-log").stdout.splitlines()
    ]
    assert len(logs) == 5 and all(doc["schemaType"] == "ModelInvocationLog" for doc in logs)
    ok = [doc for doc in logs if "errorCode" not in doc]
    assert len(ok) == 4 and {doc["requestMetadata"]["team"] for doc in ok} == {"ml", "search"}
    jsonl = _cli(tmp_path, "audit", "export", "--until", "2000-01-01T00:00:00Z").stdout
    assert jsonl == ""  # nothing before 2000
    bad = _cli(tmp_path, "audit", "export", "--format", "xml", check=False)
    assert bad.returncode != 0
    for blob in (table, out.read_text()):
        assert key["token"] not in blob and key["aws_secret_access_key"] not in blob
