"""What the gateway asks of its HTTP server, and who may read ``/metrics`` (docs/gateway.md "Hardening").

- ``HeaderTimeoutHttpTools``: uvicorn's httptools protocol with a header timeout and a header size limit. uvicorn
  closes an idle kept-alive connection after ``timeout_keep_alive``, but a connection that sends part of a
  request's headers and then nothing (slowloris) is held for ever, and httptools sets no limit on the headers'
  size; this one is closed ``gateway.header_timeout_seconds`` after it opened or after its request began unless
  the headers completed by then, and answered 431 once ``gateway.max_header_bytes`` arrived without their end.
- ``uvicorn_options``: the keyword arguments ``bedrockctl serve`` (and the tests' servers) give uvicorn: that
  protocol, the keep-alive timeout, the access log, and JSON log lines when ``logging.json`` is set (the project's
  ``JsonFormatter`` and ``RedactingFilter``).
- ``granian_options``: the same limits for ``serve --http 2`` (granian), as far as granian has settings for them:
  the header timeout and size over HTTP/1.1, the header list size and concurrent streams over HTTP/2, and no cap
  on connections that silent ones could fill.
- ``metrics_refusal``: ``/metrics`` (it shows spend) is answered only to a client from ``gateway.metrics_allow``
  (loopback by default) sending no proxy header, or, once ``gateway.metrics_token`` is set, only to a caller that
  sends that token (compared in constant time), wherever it is.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bedrockctl.server.gateway.options import GatewayOptions

_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


class HeaderTimeoutHttpTools(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float = 10.0, max_header_bytes: int = 65536, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._header_timer: asyncio.TimerHandle | None = None  # armed while a request's headers are incomplete
        self._headers_pending = False  # a request began, its headers are not complete
        self._header_bytes = 0

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._headers_pending and self._header_timer is None and not self.transport.is_closing():
            self._arm()  # a request began in this data and its headers did not all come with it
        if self._header_timer is None or self.transport.is_closing():
            return
        self._header_bytes += len(data)  # what came since the request began, its headers still incomplete
        if self._header_bytes > self.max_header_bytes:
            self._disarm()
            body = b'{"message":"The request headers are larger than the gateway accepts."}'
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                b"x-amzn-errortype: ValidationException\r\nconnection: close\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        # the timer is armed when the data this request began in has been parsed (``data_received``), and only if
        # its headers were not all in it: a request whose headers come in one read (nearly every one) arms none
        super().on_message_begin()
        self._header_bytes = 0
        self._headers_pending = True

    def on_headers_complete(self) -> None:
        self._headers_pending = False
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers did not arrive in %g s", self.header_timeout)
            self.transport.close()


def uvicorn_options(opts: GatewayOptions, logging_settings: Any = None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` (picklable: workers receive them)."""
    out: dict[str, Any] = {
        "http": functools.partial(
            HeaderTimeoutHttpTools,
            header_timeout=opts.header_timeout_seconds,
            max_header_bytes=opts.max_header_bytes,
        ),
        "timeout_keep_alive": opts.keep_alive_timeout_seconds,
        "access_log": opts.access_log,
    }
    if logging_settings is not None and logging_settings.json:
        out["log_config"] = json_log_config(logging_settings.file)
    return out


MAX_CONCURRENT_STREAMS = 200  # per HTTP/2 connection (granian's default, pinned): the 201st is refused


def granian_options(opts: GatewayOptions, open_files: int) -> dict[str, Any]:
    """Keyword arguments for ``Granian`` (``serve --http 2``), the limits of ``uvicorn_options`` as far as granian
    has settings for them (docs/gateway.md "HTTP/2" says what it has none for):

    - HTTP/1.1: hyper has one timer for a request's headers, from when it begins to wait for them (a kept-alive
      connection: the end of the previous answer), so it gets the smaller of ``gateway.header_timeout_seconds`` and
      ``gateway.keep_alive_timeout_seconds``; ``gateway.max_header_bytes`` bounds its read buffer (431 once that
      much arrived without the headers' end; its floor is 8 KiB).
    - HTTP/2: ``gateway.max_header_bytes`` as ``SETTINGS_MAX_HEADER_LIST_SIZE`` (a larger header block is answered
      431, or the connection is closed with GOAWAY ENHANCE_YOUR_CALM when it is far larger), and at most
      ``MAX_CONCURRENT_STREAMS`` streams open on one connection (more are reset with REFUSED_STREAM).
    - Connections: granian serves at most ``backpressure`` connections per worker at once and stops accepting
      beyond; its default (1,024 / workers) was filled by as many connections that send nothing, which it never
      closes. ``open_files``, the process's open-file limit, instead: uvicorn has no such cap.

    The body limits are the app's own (``http.read_body``), alike under both servers."""
    from granian.http import HTTP1Settings, HTTP2Settings

    head_seconds = min(opts.header_timeout_seconds, opts.keep_alive_timeout_seconds)
    return {
        "http1_settings": HTTP1Settings(
            header_read_timeout=max(1, round(head_seconds * 1000)),  # milliseconds
            keep_alive=True,
            max_buffer_size=max(8192, opts.max_header_bytes),
        ),
        "http2_settings": HTTP2Settings(
            max_concurrent_streams=MAX_CONCURRENT_STREAMS,
            max_headers_size=opts.max_header_bytes,
        ),
        "backpressure": max(1024, open_files),
    }


def json_log_config(file: str | None = None) -> dict[str, Any]:
    """uvicorn's loggers (``uvicorn``, ``uvicorn.error``, ``uvicorn.access``) writing one JSON object per line."""
    handler: dict[str, Any] = {"formatter": "json", "filters": ["redact"]}
    if file:
        handler.update({"class": "logging.FileHandler", "filename": file})
    else:
        handler.update({"class": "logging.StreamHandler", "stream": "ext://sys.stderr"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "bedrockctl.context.JsonFormatter"}},
        "filters": {"redact": {"()": "bedrockctl.redact.RedactingFilter"}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["json"], "level": "INFO", "propagate": False},
        },
    }


@functools.lru_cache(maxsize=64)
def _networks(allow: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(a, strict=False) for a in allow)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def metrics_refusal(opts: GatewayOptions, scope: dict[str, Any], headers: dict[bytes, bytes]) -> tuple[int, str] | None:
    """Why ``/metrics`` is refused to this request (status, message), or None when it may be served."""
    if opts.metrics_token:
        auth = headers.get(b"authorization", b"")
        given = auth[7:] if auth[:7].lower() == b"bearer " else b""
        if hmac.compare_digest(given, opts.metrics_token.encode()):
            return None
        return 401, "Send the metrics token: Authorization: Bearer <gateway.metrics_token>."
    client = scope.get("client")
    addr = _address(str(client[0])) if client else None
    proxied = any(h in headers for h in _PROXY_HEADERS)
    if addr is not None and not proxied and any(addr in net for net in _networks(tuple(opts.metrics_allow))):
        return None
    return 403, (
        "/metrics is served only to clients in gateway.metrics_allow (loopback by default, not through a proxy); "
        "set gateway.metrics_token to scrape it from elsewhere."
    )
