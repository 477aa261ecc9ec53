"""`bedrockctl serve --tls-cert/--tls-key`: boto3 sends bearer tokens only over HTTPS (botocore >= 1.44)."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from bedrockctl.server.gateway.keys import KeyStore
from bedrockctl.store import Store

from .conftest import HAIKU, self_signed
from .test_protocols import MSG

SECRET = "tls-test-master-secret"


def test_bearer_token_over_https(sandbox_env: Any, tmp_path: Path, monkeypatch: Any) -> None:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    (tmp_path / "bedrockctl.toml").write_text(
        f'[aws]\nregion = "us-east-1"\nretry_attempts = 1\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        f'[environments.dev]\n[gateway]\nmaster_secret = "{SECRET}"\nledger = false\n'
    )
    key = KeyStore(Store(db).engine, SECRET.encode()).create(user="ana", team="ml", environment="dev")
    cert, pkey = self_signed(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bedrockctl.cli.main",
            "serve",
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(pkey),
        ],
        env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "serve exited"
            try:
                if (
                    httpx.get(
                        url + "/healthz", verify=ssl.create_default_context(cafile=str(cert)), timeout=1
                    ).status_code
                    == 200
                ):
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve --tls-cert did not come up"
                time.sleep(0.2)
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key["token"])
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=url,
            verify=str(cert),
            config=Config(retries={"total_max_attempts": 1}),
        )
        assert client.converse(modelId=HAIKU, messages=MSG)["stopReason"]
    finally:
        proc.terminate()
        proc.wait(20)
