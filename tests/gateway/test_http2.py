"""HTTP/2 on the gateway: ``bedrockctl serve --http 2`` (granian) in front of the sandbox.

Cleartext: h2c with prior knowledge and HTTP/1.1 on one port; TLS: h2 or http/1.1 by ALPN. Real clients: the AWS
SDK for JavaScript v3 on its default handler (NodeHttp2Handler, the only one that streams Bedrock Runtime), httpx
with ``http2=True``, boto3 (HTTP/1.1, SigV4 and bearer), a TLS socket offering ALPN protocols.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bedrockctl.errors import ValidationFailed
from bedrockctl.server.serving import pkcs8_key
from ports import spawn_listening

from .conftest import HAIKU
from .test_protocols import MSG
from .test_tls import _config, _self_signed

CONVERSE = {"messages": MSG}
STREAM_TAIL = ["contentBlockStop", "messageStop", "metadata"]


class Served:
    def __init__(self, proc: subprocess.Popen[str], url: str, announced: str) -> None:
        self.proc, self.url, self.announced = proc, url, announced

    @property
    def ca(self) -> Path:
        return Path(re.search(r"export AWS_CA_BUNDLE=(\S+)", self.announced).group(1))  # type: ignore[union-attr]


@pytest.fixture
def serve_h2(sandbox_env: Any, tmp_path: Path) -> Iterator[Any]:
    """``start(*args)``: ``bedrockctl serve --http 2 *args`` on a free port, ready; stopped after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, verify: ssl.SSLContext | None = None) -> Served:
        proc, port = spawn_listening(
            lambda port: [
                *(sys.executable, "-m", "bedrockctl.cli.main", "serve", "--port", str(port), "--http", "2"),
                *args,
            ],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stderr is not None
        announced = ""
        while "HTTP/2 (" not in announced:  # printed before granian starts
            line = proc.stderr.readline()
            assert line, f"serve exited: {announced}"
            announced += line
        scheme = "https" if "--tls" in args or "--tls-cert" in args else "http"
        served = Served(proc, f"{scheme}://127.0.0.1:{port}", announced)
        if scheme == "https" and verify is None:
            verify = ssl.create_default_context(cafile=str(served.ca))
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "serve exited"
            try:
                if httpx.get(served.url + "/livez", verify=verify or True, timeout=1).is_success:
                    return served
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve --http 2 did not come up"
                time.sleep(0.2)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(20)
        if proc.stderr:
            proc.stderr.close()


def _alpn(port: int, context: ssl.SSLContext, offered: list[str]) -> str | None:
    context.set_alpn_protocols(offered)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.selected_alpn_protocol()


def _converse_and_stream(js_runtime: Any, doc: dict[str, Any], env: dict[str, str] | None = None) -> None:
    out = js_runtime(doc, env)
    assert out["handler"] == "NodeHttp2Handler"
    reply = out["Converse"]["output"]["message"]["content"][0]["text"]
    assert reply.startswith("Sandbox reply"), out
    stream = out["ConverseStream"]
    assert stream["events"][0] == "messageStart" and stream["events"][-3:] == STREAM_TAIL, stream
    assert stream["text"] == reply and stream["stopReason"] == "end_turn"


def test_h2c_with_prior_knowledge_beside_http11(serve_h2: Any, tmp_path: Path, js_runtime: Any) -> None:
    key = _config(tmp_path)
    served = serve_h2()
    assert "h2c with prior knowledge" in served.announced
    bearer = {"Authorization": f"Bearer {key['token']}"}
    with httpx.Client(http1=False, http2=True, base_url=served.url, headers=bearer, timeout=30) as client:
        answered = client.post(f"/model/{HAIKU}/converse", json=CONVERSE)
        assert answered.http_version == "HTTP/2" and answered.status_code == 200, answered.text
        reply = answered.json()["output"]["message"]["content"][0]["text"]
        chat = {"model": HAIKU, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        with client.stream("POST", "/v1/chat/completions", json=chat) as streamed:
            assert streamed.http_version == "HTTP/2" and streamed.status_code == 200
            lines = [line for line in streamed.iter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]" and len(lines) > 2
        forwarded = client.post(f"/model/{HAIKU}/converse", json=CONVERSE, headers={"X-Forwarded-For": "203.0.113.7"})
        assert forwarded.status_code == 200
    # the proxy headers are read as uvicorn reads them (from 127.0.0.1): the audit names the forwarded client
    assert _audited_clients(tmp_path, "203.0.113.7") == {"127.0.0.1", "203.0.113.7"}
    # HTTP/1.1 on the same port: boto3 signing with the key's SigV4 pair
    runtime = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=served.url,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert runtime.converse(modelId=HAIKU, messages=MSG)["output"]["message"]["content"][0]["text"] == reply
    # the JavaScript SDK on its default (HTTP/2) handler, with each way the gateway authenticates
    doc = {"endpoint": served.url}
    _converse_and_stream(js_runtime, {**doc, "token": key["token"]})
    pair = {"accessKeyId": key["aws_access_key_id"], "secretAccessKey": key["aws_secret_access_key"]}
    _converse_and_stream(js_runtime, {**doc, **pair})


def _audited_clients(tmp_path: Path, awaited: str) -> set[str]:
    """The client addresses in the gateway's audit, once ``awaited`` is among them (the gateway writes its records
    in batches) or after a minute."""
    deadline = time.monotonic() + 60
    while True:
        listed = subprocess.run(
            [sys.executable, "-m", "bedrockctl.cli.main", "audit", "list", "--output", "json"],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        clients = {r["client"] for r in json.loads(listed.stdout) if r["client"]}
        if awaited in clients or time.monotonic() > deadline:
            return clients
        time.sleep(0.5)


def test_h2_by_alpn_over_tls_beside_http11(
    serve_h2: Any, tmp_path: Path, js_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _config(tmp_path)
    served = serve_h2("--tls", "self-signed")
    assert "h2 by ALPN over TLS" in served.announced
    port = int(served.url.rsplit(":", 1)[1])
    trusting = ssl.create_default_context(cafile=str(served.ca))
    assert _alpn(port, trusting, ["h2", "http/1.1"]) == "h2"
    assert _alpn(port, ssl.create_default_context(cafile=str(served.ca)), ["http/1.1"]) == "http/1.1"
    bearer = {"Authorization": f"Bearer {key['token']}"}
    with httpx.Client(http2=True, verify=trusting, base_url=served.url, headers=bearer, timeout=30) as client:
        answered = client.post(f"/model/{HAIKU}/converse", json=CONVERSE)
        assert answered.http_version == "HTTP/2" and answered.status_code == 200, answered.text
    with httpx.Client(verify=trusting, base_url=served.url, headers=bearer, timeout=30) as client:
        assert client.post(f"/model/{HAIKU}/converse", json=CONVERSE).http_version == "HTTP/1.1"
    # boto3 (HTTP/1.1) with the bearer token, as `serve --tls self-signed` tells a user to set it up
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key["token"])
    runtime = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=served.url,
        verify=str(served.ca),
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert runtime.converse(modelId=HAIKU, messages=MSG)["stopReason"]
    _converse_and_stream(
        js_runtime, {"endpoint": served.url, "token": key["token"]}, {"NODE_EXTRA_CA_CERTS": str(served.ca)}
    )


def test_a_certificate_the_user_brings_with_a_traditional_key(serve_h2: Any, tmp_path: Path) -> None:
    """granian reads PKCS#8 keys only; openssl's default (a traditional EC or RSA key) is converted for it."""
    _config(tmp_path)
    cert, pkcs8 = _self_signed(tmp_path)
    key = serialization.load_pem_private_key(pkcs8.read_bytes(), password=None)
    traditional = tmp_path / "traditional.key"
    traditional.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    assert b"BEGIN EC PRIVATE KEY" in traditional.read_bytes()
    trusting = ssl.create_default_context(cafile=str(cert))
    served = serve_h2("--tls-cert", str(cert), "--tls-key", str(traditional), verify=trusting)
    port = int(served.url.rsplit(":", 1)[1])
    assert _alpn(port, ssl.create_default_context(cafile=str(cert)), ["h2", "http/1.1"]) == "h2"


def test_pkcs8_key_passes_pkcs8_through_and_refuses_what_is_not_a_key(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = tmp_path / "k.pem"
    pkcs8.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    assert pkcs8_key(pkcs8) == pkcs8
    traditional = tmp_path / "t.pem"
    traditional.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    converted = pkcs8_key(traditional)
    assert converted != traditional and (converted.stat().st_mode & 0o777) == 0o600
    again = serialization.load_pem_private_key(converted.read_bytes(), password=None)
    assert again.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    not_a_key = tmp_path / "cert.pem"
    not_a_key.write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(ValidationFailed, match="not an unencrypted PEM private key"):
        pkcs8_key(not_a_key)


def test_an_unknown_http_version_is_refused(tmp_path: Path) -> None:
    _config(tmp_path)
    res = subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", "serve", "--http", "3"],
        env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "BRC-VAL-001" in res.stderr and "--http" in res.stderr
