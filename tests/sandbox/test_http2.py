"""HTTP/2 on the sandbox's port: h2c with prior knowledge beside HTTP/1.1 (``sandbox/http2.py``).

Real clients: the AWS SDK for JavaScript v3 on its default handler (NodeHttp2Handler), httpx with ``http2=True``
(prior knowledge), the ``h2`` library on a plain socket, and boto3 (HTTP/1.1) on the same port.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import h2.config
import h2.connection
import h2.events
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from hyperframe.frame import GoAwayFrame
from hypothesis import given, settings
from hypothesis import strategies as st

from bedrockctl.sandbox.http2 import PREFACE, ClientFrames
from bedrockctl.sandbox.server import Sandbox
from bedrockctl.sandbox.testing import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from bedrockctl.security.tls import ensure_local_tls

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
PATH = "/model/" + HAIKU.replace(":", "%3A")
BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "hello over HTTP/2"}]}]}).encode()
STREAM_TAIL = ["contentBlockStop", "messageStop", "metadata"]


def signed_headers(endpoint: str, path: str, body: bytes = BODY) -> dict[str, str]:
    request = AWSRequest(method="POST", url=endpoint + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY), "bedrock", "us-east-1").add_auth(request)
    return dict(request.prepare().headers.items())


def event_types(raw: bytes) -> list[str]:
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return [message.headers[":event-type"] for message in buffer]


def test_js_sdk_converses_and_streams_on_its_default_http2_handler(js_runtime: Any, sandbox_env: Any) -> None:
    out = js_runtime(
        {
            "endpoint": sandbox_env.endpoint_url,
            "accessKeyId": FAKE_ACCESS_KEY_ID,
            "secretAccessKey": FAKE_SECRET_ACCESS_KEY,
        },
    )
    assert out["handler"] == "NodeHttp2Handler"
    reply = out["Converse"]["output"]["message"]["content"][0]["text"]
    assert reply.startswith("Sandbox reply")
    stream = out["ConverseStream"]
    assert stream["events"][0] == "messageStart" and stream["events"][-3:] == STREAM_TAIL, stream
    assert stream["text"] == reply and stream["stopReason"] == "end_turn"
    assert stream["usage"] == out["Converse"]["usage"]


def test_httpx_prior_knowledge_and_boto3_http11_share_the_port(sandbox_env: Any, boto_client: Any) -> None:
    url = sandbox_env.endpoint_url
    with httpx.Client(http1=False, http2=True, timeout=30) as client:
        streamed = client.post(
            url + PATH + "/converse-stream", content=BODY, headers=signed_headers(url, PATH + "/converse-stream")
        )
        assert streamed.http_version == "HTTP/2" and streamed.status_code == 200
        assert streamed.headers["content-type"] == "application/vnd.amazon.eventstream"
        events = event_types(streamed.content)
        assert events[0] == "messageStart" and events[-3:] == STREAM_TAIL
        answered = client.post(url + PATH + "/converse", content=BODY, headers=signed_headers(url, PATH + "/converse"))
        assert answered.http_version == "HTTP/2" and answered.status_code == 200
    over_h2 = answered.json()["output"]["message"]["content"][0]["text"]
    runtime = boto_client("bedrock-runtime")
    over_h11 = runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hello over HTTP/2"}]}])
    assert over_h11["output"]["message"]["content"][0]["text"] == over_h2
    with httpx.Client(http1=False, http2=True, timeout=30) as client:  # the admin API too
        assert client.get(url + "/_sandbox/faults").http_version == "HTTP/2"


def test_a_client_that_sends_goaway_after_its_request_still_gets_the_response(sandbox_env: Any) -> None:
    """What the JavaScript SDK does (a session per request, closed as soon as the request is sent)."""
    url = sandbox_env.endpoint_url
    parts = urlsplit(url)
    headers = signed_headers(url, PATH + "/converse")
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    request = [(":method", "POST"), (":scheme", "http"), (":authority", parts.netloc), (":path", PATH + "/converse")]
    request += [(k.lower(), v) for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    conn.send_headers(1, request)
    conn.send_data(1, BODY, end_stream=True)
    goaway = GoAwayFrame(0)  # sent by hand: the h2 library stops reading once it has said GOAWAY itself
    status, body, ended = None, b"", False
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(conn.data_to_send() + goaway.serialize())
        while not ended:
            data = sock.recv(65536)
            assert data, "the connection closed before the response ended"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers)[b":status"]
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
            sock.sendall(conn.data_to_send())
    assert status == b"200", body
    assert json.loads(body)["output"]["message"]["content"][0]["text"].startswith("Sandbox reply")


def _client_bytes() -> bytes:
    """A client's side of a connection, from the h2 library: preface and settings, two requests (headers, data,
    a ping, a window update each), then GOAWAY."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    for stream_id in (1, 3):
        conn.send_headers(stream_id, [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/")])
        conn.send_data(stream_id, b"x" * 300 * stream_id, end_stream=True)
        conn.ping(b"12345678")
        conn.increment_flow_control_window(1000)
    conn.close_connection()
    return conn.data_to_send()


def _server_events(data: bytes) -> list[str]:
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    events: list[str] = []
    for event in server.receive_data(data):
        events.append(type(event).__name__)
    return events


CLIENT = _client_bytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CLIENT)), max_size=12))
def test_client_frames_drop_goaway_and_nothing_else_whatever_the_reads(cuts: list[int]) -> None:
    """``ClientFrames`` (hand-written) against the h2 library's own parser, for every way the reads may split the
    bytes: the server sees the same events less ConnectionTerminated."""
    assert CLIENT.startswith(PREFACE)
    frames = ClientFrames()
    bounds = [0, *sorted(cuts), len(CLIENT)]
    out = b"".join(frames.feed(CLIENT[a:b]) for a, b in itertools.pairwise(bounds))
    expected = [name for name in _server_events(CLIENT) if name != "ConnectionTerminated"]
    assert "ConnectionTerminated" in _server_events(CLIENT)
    assert _server_events(out) == expected
    assert expected.count("RequestReceived") == 2 and expected.count("DataReceived") >= 2


@pytest.fixture
def tls_sandbox(tmp_path: Path) -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox of its own serving HTTPS with a certificate from a local CA; yields it and the CA file."""
    local = ensure_local_tls(tmp_path / "tls")
    sandbox = Sandbox(port=0, tls=(str(local.cert), str(local.key))).start()
    try:
        yield sandbox, local.ca_cert
    finally:
        sandbox.stop()


def _alpn(url: str, ca: Path, offered: list[str]) -> str | None:
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(offered)
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        return tls.selected_alpn_protocol()


def test_over_tls_alpn_chooses_h2_or_http11(tls_sandbox: tuple[Sandbox, Path], js_runtime: Any) -> None:
    sandbox, ca = tls_sandbox
    url = sandbox.endpoint_url
    assert url.startswith("https://")
    assert _alpn(url, ca, ["h2", "http/1.1"]) == "h2" and _alpn(url, ca, ["http/1.1"]) == "http/1.1"
    trusting = ssl.create_default_context(cafile=str(ca))
    with httpx.Client(http2=True, verify=trusting, timeout=30) as client:
        streamed = client.post(
            url + PATH + "/converse-stream", content=BODY, headers=signed_headers(url, PATH + "/converse-stream")
        )
        assert streamed.http_version == "HTTP/2" and streamed.status_code == 200
        assert event_types(streamed.content)[-3:] == STREAM_TAIL
    runtime = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        verify=str(ca),
        aws_access_key_id=FAKE_ACCESS_KEY_ID,
        aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
    )
    text = runtime.converse(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "hello over TLS"}]}])
    assert text["output"]["message"]["content"][0]["text"].startswith("Sandbox reply")
    pair = {"accessKeyId": FAKE_ACCESS_KEY_ID, "secretAccessKey": FAKE_SECRET_ACCESS_KEY}
    out = js_runtime({"endpoint": url, **pair}, {"NODE_EXTRA_CA_CERTS": str(ca)})
    assert out["handler"] == "NodeHttp2Handler"
    assert out["ConverseStream"]["events"][-3:] == STREAM_TAIL, out
    assert out["ConverseStream"]["text"] == out["Converse"]["output"]["message"]["content"][0]["text"]


def test_cli_sandbox_tls_self_signed(tmp_path: Path) -> None:
    (tmp_path / "bedrockctl.toml").write_text(f'[store]\ndata_dir = "{tmp_path}"\n')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bedrockctl.cli.main",
            "sandbox",
            "--tls",
            "self-signed",
            "--seed",
            "empty",
            "--port",
            "0",
        ],
        env={**os.environ, "BEDROCKCTL_CONFIG": str(tmp_path / "bedrockctl.toml")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        announced = ""
        while "export AWS_ENDPOINT_URL=" not in announced:
            line = proc.stderr.readline()
            assert line, f"sandbox exited: {announced}"
            announced += line
        url = re.search(r"export AWS_ENDPOINT_URL=(\S+)", announced).group(1)  # type: ignore[union-attr]
        ca = Path(re.search(r"export AWS_CA_BUNDLE=(\S+)", announced).group(1))  # type: ignore[union-attr]
        assert url.startswith("https://127.0.0.1:") and ca == tmp_path / "tls" / "ca.pem"
        assert _alpn(url, ca, ["h2", "http/1.1"]) == "h2"
    finally:
        proc.terminate()
        proc.wait(20)
        if proc.stderr:
            proc.stderr.close()
