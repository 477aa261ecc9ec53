"""HTTPS for the gateway: boto3 sends bearer tokens only over HTTPS (botocore >= 1.44).

``bedrockctl.security.tls`` makes a local CA and a server certificate; real TLS clients verify the chain (and refuse
it without the CA); ``bedrockctl serve --tls self-signed`` serves with it and tells the user what to export;
``--tls-cert/--tls-key`` serve a certificate the user brings.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import httpx
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bedrockctl.security.tls import CA_DAYS, SERVER_DAYS, ensure_local_tls
from bedrockctl.store import Store
from bedrockctl.store.keys import KeyStore
from ports import spawn_listening

from .conftest import HAIKU
from .test_protocols import MSG

SECRET = "tls-test-master-secret"


# -- the local CA ------------------------------------------------------------------------------------------
def _tls_server(cert: Path, key: Path) -> tuple[int, socket.socket]:
    """A real TLS server on 127.0.0.1 that answers ``ok`` to every handshake that succeeds."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):  # a client that refused our certificate
                pass

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], listener


def _hello(port: int, context: ssl.SSLContext, hostname: str) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        return tls.recv(2)


def test_a_real_tls_client_verifies_the_chain_and_the_keys_are_private(tmp_path: Path) -> None:
    local = ensure_local_tls(tmp_path / "tls")
    files = [local.ca_cert, local.ca_key, local.cert, local.key]
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    port, listener = _tls_server(local.cert, local.key)
    try:
        trusting = local.client_context()
        assert trusting.verify_mode == ssl.CERT_REQUIRED and trusting.check_hostname
        assert _hello(port, trusting, "127.0.0.1") == b"ok"
        assert _hello(port, trusting, "localhost") == b"ok"
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
            _hello(port, ssl.create_default_context(), "127.0.0.1")  # the system store does not know our CA
        with pytest.raises(ssl.SSLCertVerificationError):
            _hello(port, trusting, "example.com")  # the certificate names only this machine
    finally:
        listener.close()
    ca = x509.load_pem_x509_certificate(local.ca_cert.read_bytes())
    leaf = x509.load_pem_x509_certificate(local.cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"localhost"}
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_ca_is_reused_while_valid_and_renewed_when_not(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    now = dt.datetime.now(dt.UTC)
    first = ensure_local_tls(directory, now=now)
    ca_pem, leaf_pem = first.ca_cert.read_bytes(), first.cert.read_bytes()
    again = ensure_local_tls(directory, now=now + dt.timedelta(hours=1))
    assert first.created and not again.created
    assert again.ca_cert.read_bytes() == ca_pem and again.cert.read_bytes() == leaf_pem
    # the server certificate near its end: a new one from the same CA (an exported AWS_CA_BUNDLE keeps working)
    later = ensure_local_tls(directory, now=now + dt.timedelta(days=SERVER_DAYS - 0.5))
    assert later.created and later.ca_cert.read_bytes() == ca_pem and later.cert.read_bytes() != leaf_pem
    # the CA itself near its end: everything new
    much_later = ensure_local_tls(directory, now=now + dt.timedelta(days=CA_DAYS - 0.5))
    assert much_later.ca_cert.read_bytes() != ca_pem
    # a damaged key (a crash mid-write, a stray edit) is replaced, not trusted
    much_later.key.write_bytes(b"-----BEGIN PRIVATE KEY-----\ntruncated")
    repaired = ensure_local_tls(directory, now=now + dt.timedelta(days=CA_DAYS - 0.5))
    assert repaired.created and b"truncated" not in repaired.key.read_bytes()
    repaired_ca = repaired.ca_cert.read_bytes()
    # a host the CA may not vouch for: a new CA whose certificate names it
    lan = ensure_local_tls(directory, ["10.1.2.3"], now=now + dt.timedelta(days=CA_DAYS - 0.5))
    leaf = x509.load_pem_x509_certificate(lan.cert.read_bytes())
    ips = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.1.2.3") in ips and lan.ca_cert.read_bytes() != repaired_ca


# -- bedrockctl serve over HTTPS -----------------------------------------------------------------------------
def _config(tmp_path: Path) -> dict[str, Any]:
    db = f"sqlite:///{tmp_path / 'gw.db'}"
    (tmp_path / "bedrockctl.toml").write_text(
        f'[aws]\nregion = "us-east-1"\nretry_attempts = 1\n[store]\nurl = "{db}"\ndata_dir = "{tmp_path}"\n'
        f'[environments.dev]\n[gateway]\nmaster_secret = "{SECRET}"\nledger = false\n'
    )
    return KeyStore(Store(db).engine, SECRET.encode()).create(user="ana", team="ml", environment="dev")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        proc, port = spawn_listening(
            lambda port: [sys.executable, "-m", "bedrockctl.cli.main", "serve", "--port", str(port), *args],
            env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc, f"https://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(20)


def _wait_healthy(proc: subprocess.Popen[str], url: str, ca: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "serve exited"
        try:
            if httpx.get(url + "/healthz", verify=ssl.create_default_context(cafile=str(ca)), timeout=1).is_success:
                return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "serve did not come up over HTTPS"
            time.sleep(0.2)


def test_serve_tls_self_signed_works_with_boto3_bearer_auth(
    sandbox_env: Any, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _config(tmp_path)
    proc, url = serve("--tls", "self-signed")
    assert proc.stderr is not None
    announced = ""
    while "bedrockctl gateway on" not in announced:  # printed before uvicorn starts
        line = proc.stderr.readline()
        assert line, f"serve exited: {announced}"
        announced += line
    ca = Path(re.search(r"export AWS_CA_BUNDLE=(\S+)", announced).group(1))  # type: ignore[union-attr]
    assert ca == tmp_path / "tls" / "ca.pem" and stat.S_IMODE(ca.stat().st_mode) == 0o600
    assert f"bedrockctl gateway on {url} " in announced
    _wait_healthy(proc, url, ca)
    # what the printed lines tell a user to do: a default boto3 client with the two variables
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key["token"])
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca))
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=Config(retries={"total_max_attempts": 1})
    )
    assert client.converse(modelId=HAIKU, messages=MSG)["stopReason"]
    monkeypatch.delenv("AWS_CA_BUNDLE")
    untrusting = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(botocore.exceptions.SSLError):
        untrusting.converse(modelId=HAIKU, messages=MSG)


def test_serve_tls_self_signed_conflicts_with_a_certificate(tmp_path: Path) -> None:
    _config(tmp_path)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "bedrockctl.cli.main",
            "serve",
            "--tls",
            "self-signed",
            "--tls-cert",
            "a",
            "--tls-key",
            "b",
        ],
        env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 2 and "BRC-VAL-001" in res.stderr and "--tls" in res.stderr


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate the user brings (here: self-signed, not from our CA)."""
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


def test_bearer_token_over_https_with_a_given_certificate(
    sandbox_env: Any, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _config(tmp_path)
    cert, pkey = _self_signed(tmp_path)
    proc, url = serve("--tls-cert", str(cert), "--tls-key", str(pkey))
    _wait_healthy(proc, url, cert)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key["token"])
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        verify=str(cert),
        config=Config(retries={"total_max_attempts": 1}),
    )
    assert client.converse(modelId=HAIKU, messages=MSG)["stopReason"]
