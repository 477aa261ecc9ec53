"""Hardening over real sockets: slow headers and stalled bodies are cut off, a large body without a key is refused
before it is read, ``/metrics`` is served only to allowed clients or with its token."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bedrockctl.server.gateway import http

from .conftest import HAIKU, RunningGateway

BIG = 32 << 20
GUARD = 30.0  # a socket that hears nothing for this long fails the test (never reached when the server behaves)


def _connect(gw: RunningGateway, source: str | None = None) -> socket.socket:
    host, port = gw.url.split("//")[1].split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if source:
        sock.bind((source, 0))
    sock.settimeout(GUARD)
    sock.connect((host, int(port)))
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def _head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: gateway", *[f"{k}: {v}" for k, v in headers.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _answer(sock: socket.socket) -> bytes:
    """One HTTP answer with a Content-Length (headers and body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def _send_body(sock: socket.socket, size: int) -> int:
    """Send up to ``size`` bytes; how many the connection took before the server closed it."""
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < size:
            sent += sock.send(chunk[: size - sent])
    except (BrokenPipeError, ConnectionResetError):
        pass
    return sent


def test_slowloris_half_headers_are_disconnected(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(gateway={"header_timeout_seconds": 0.3})
    sock = _connect(gw)
    sock.sendall(f"POST /model/{HAIKU}/converse HTTP/1.1\r\nHost: gateway\r\nContent-Ty".encode())
    assert _read_until_closed(sock) == b""  # closed without an answer
    sock.close()
    idle = _connect(gw)  # a connection that sends nothing at all is closed too
    assert _read_until_closed(idle) == b""
    idle.close()
    assert httpx.get(gw.url + "/livez").status_code == 200  # the server itself is fine


def test_half_headers_of_a_later_request_on_a_kept_alive_connection_are_disconnected(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    """The timer of a request whose headers did not come in one read is armed when that read is parsed (a request
    whose headers did come whole arms none)."""
    gw = start_gateway(gateway={"header_timeout_seconds": 0.3})
    sock = _connect(gw)
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: gateway\r\n\r\n")
    assert _answer(sock).startswith(b"HTTP/1.1 200 ")
    time.sleep(0.5)  # longer than the header timeout: no timer runs between requests (the keep-alive one does)
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: gateway\r\n\r\nGET /livez HTTP/1.1\r\nHo")  # one whole, one half
    sent = time.monotonic()
    answer = _read_until_closed(sock)
    waited = time.monotonic() - sent
    sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1, answer[:300]
    assert waited < 2.0  # the header timeout closed it, not the keep-alive timeout (5 s)


def test_a_request_within_the_header_timeout_is_served(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(gateway={"header_timeout_seconds": 5})
    with httpx.Client(base_url=gw.url) as client:
        for _ in range(3):  # one kept-alive connection: the timer re-arms for each request and is cancelled
            assert client.get("/livez").status_code == 200


def test_stalled_body_gets_408_and_the_connection_closes(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(gateway={"body_timeout_seconds": 0.3})
    token = gw.key()["token"]
    sock = _connect(gw)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": "1000"}
    sock.sendall(_head(f"/model/{HAIKU}/converse", head) + b'{"messages": [')
    answer = _read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"RequestTimeoutException" in answer and b"connection: close" in answer.lower()


def test_a_whole_body_is_read_without_a_timer_a_partial_one_with_it(
    start_gateway: Callable[..., RunningGateway], monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn has a small body in whole when the route reads it: no timer is armed for it (hot path); a body still
    arriving is read under the timeout (the 408 above)."""
    timed: list[bool] = []
    real = http._read_body

    async def spy(receive: Any, idle: Any) -> bytes:
        timed.append(idle is not None)
        return await real(receive, idle)

    monkeypatch.setattr(http, "_read_body", spy)
    gw = start_gateway(gateway={"body_timeout_seconds": 5})
    token = gw.key()["token"]
    body = b'{"messages": [{"role": "user", "content": [{"text": "hi"}]}]}'
    sock = _connect(gw)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": str(len(body))}
    sock.sendall(_head(f"/model/{HAIKU}/converse", head) + body)  # one segment: the whole request at once
    assert _answer(sock).startswith(b"HTTP/1.1 200 ")
    sock.sendall(_head(f"/model/{HAIKU}/converse", head) + body[:10])  # the rest follows later
    time.sleep(0.3)
    sock.sendall(body[10:])
    assert _answer(sock).startswith(b"HTTP/1.1 200 ")
    sock.close()
    assert timed == [False, True]


@pytest.mark.parametrize(
    ("path", "headers", "status", "error"),
    [
        (f"/model/{HAIKU}/converse", {}, 403, b"UnrecognizedClientException"),
        (f"/model/{HAIKU}/invoke", {"Authorization": "Bearer not-a-key"}, 403, b"UnrecognizedClientException"),
        (
            f"/model/{HAIKU}/converse",
            {
                "Authorization": "AWS4-HMAC-SHA256 Credential=GWNOSUCHKEY/20260101/us-east-1/bedrock/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=00",
                "X-Amz-Date": "20260101T000000Z",
            },
            403,
            b"InvalidSignatureException",  # the date is off: refused before the body as well
        ),
        ("/v1/chat/completions", {"x-api-key": "not-a-key"}, 401, b"invalid_api_key"),
    ],
)
def test_32mb_body_without_a_valid_key_is_refused_unread(
    gw: RunningGateway, path: str, headers: dict[str, str], status: int, error: bytes
) -> None:
    sock = _connect(gw)
    sock.sendall(_head(path, {**headers, "Content-Type": "application/json", "Content-Length": str(BIG)}))
    answer = _answer(sock)  # the answer comes before any of the body was sent
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    assert error in answer and b"connection: close" in answer.lower()
    sent = _send_body(sock, BIG)
    sock.close()
    assert sent < BIG // 4, sent  # the server closed the connection instead of reading the body


def test_a_body_announced_too_large_gets_413_in_each_protocol_unread(gw: RunningGateway) -> None:
    token = gw.key()["token"]
    for path, marker in ((f"/model/{HAIKU}/converse", b"ValidationException"), ("/v1/embeddings", b"request_too")):
        sock = _connect(gw)
        head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Length": str(BIG + 1)}
        sock.sendall(_head(path, head))
        answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert marker in answer
        sent = _send_body(sock, BIG + 1)
        sock.close()
        assert sent < BIG // 4, sent


def test_a_chunked_body_over_the_limit_gets_413(gw: RunningGateway) -> None:
    token = gw.key()["token"]

    def body() -> Any:
        for _ in range(BIG // (1 << 20) + 1):
            yield b"x" * (1 << 20)

    r = httpx.post(
        f"{gw.url}/model/{HAIKU}/converse",
        content=body(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
        timeout=GUARD,
    )
    assert r.status_code == 413 and r.headers["x-amzn-errortype"].startswith("ValidationException")


# -- /metrics -------------------------------------------------------------------------------------------------
def _metrics(gw: RunningGateway, source: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport) as client:
        return client.get(gw.url + "/metrics", headers=headers or {})


def test_metrics_served_to_loopback_refused_through_a_proxy(gw: RunningGateway) -> None:
    ok = _metrics(gw, "127.0.0.1")
    assert ok.status_code == 200 and "bedrockctl_gateway_cost_usd_total" in ok.text
    proxied = _metrics(gw, "127.0.0.1", {"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403 and "bedrockctl_gateway" not in proxied.text


def test_metrics_from_an_address_not_allowed(start_gateway: Callable[..., RunningGateway]) -> None:
    """127.0.0.2 stands for a remote client: the gateway allows only 127.0.0.1 here (Linux routes all of 127/8
    to lo, so the client can bind 127.0.0.2 as its source address)."""
    gw = start_gateway(gateway={"metrics_allow": ["127.0.0.1/32"]}, host="127.0.0.2")
    refused = _metrics(gw, "127.0.0.2")
    assert refused.status_code == 403
    assert "bedrockctl_gateway" not in refused.text and "metrics_token" in refused.json()["message"]
    assert _metrics(gw, "127.0.0.1").status_code == 200


def test_metrics_with_a_token(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(gateway={"metrics_token": "scrape-secret-1"}, host="127.0.0.2")
    assert _metrics(gw, "127.0.0.2").status_code == 401
    assert _metrics(gw, "127.0.0.2", {"Authorization": "Bearer scrape-secret-2"}).status_code == 401
    assert _metrics(gw, "127.0.0.1").status_code == 401  # with a token, loopback needs it as well
    served = _metrics(gw, "127.0.0.2", {"Authorization": "Bearer scrape-secret-1"})
    assert served.status_code == 200 and "bedrockctl_gateway_cost_usd_total" in served.text


def test_oversized_headers_get_431(start_gateway: Callable[..., RunningGateway]) -> None:
    gw = start_gateway(gateway={"max_header_bytes": 8192})
    sock = _connect(gw)
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: gateway\r\n")
    for _ in range(9):  # 9 KB of headers that do not end: the answer comes without waiting for the rest
        sock.sendall(b"X-Padding: " + b"p" * 1000 + b"\r\n")
    answer = _read_until_closed(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    big_but_fine = {"X-Padding": "p" * 4000}
    assert httpx.get(gw.url + "/livez", headers=big_but_fine).status_code == 200
