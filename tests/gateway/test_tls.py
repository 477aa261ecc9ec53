"""`bedrockctl serve --tls-cert/--tls-key`: boto3 sends bearer tokens only over HTTPS (botocore >= 1.44)."""

from __future__ import annotations

import datetime as dt
import ipaddress
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bedrockctl.store import Store
from bedrockctl.store.keys import KeyStore

from .conftest import HAIKU
from .test_protocols import MSG

SECRET = "tls-test-master-secret"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "gw.pem", tmp / "gw.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_bearer_token_over_https(sandbox_env: Any, tmp_path: Path, monkeypatch: Any) -> None:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    (tmp_path / "bedrockctl.toml").write_text(
        f'[aws]\nregion = "us-east-1"\nretry_attempts = 1\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        f'[environments.dev]\n[gateway]\nmaster_secret = "{SECRET}"\nledger = false\n'
    )
    key = KeyStore(Store(db).engine, SECRET.encode()).create(user="ana", team="ml", environment="dev")
    cert, pkey = _self_signed(tmp_path)
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
