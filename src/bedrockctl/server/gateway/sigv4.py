"""AWS Signature Version 4 for the gateway's hot path: botocore's ``SigV4Auth`` rules, computed with hashlib/hmac
and two small caches (the signing key per secret/day/Region/service, the canonical form of each path).

botocore's signer builds an ``HTTPHeaders`` object, re-parses the URL and re-derives the signing key on every
call; this one does the same arithmetic on plain strings (see ``bench/RESULTS.md`` for the figures).
``tests/gateway/test_sigv4_botocore.py`` signs thousands of random requests with both and asserts identical
``Authorization``, ``X-Amz-Date``, ``X-Amz-Security-Token`` and ``X-Amz-Content-SHA256`` headers: methods, paths
with reserved, unicode and percent-escaped characters, dot segments and double slashes, query strings with
repeated keys and empty values, mixed-case headers with runs of whitespace, empty and non-empty bodies, with and
without a session token, several services and Regions.

The rules, as botocore applies them (``botocore/auth.py``):
- canonical URI: dot segments and empty segments removed (RFC 3986 5.2.4 plus AWS's "no double slashes"), then
  URI-encoded *again* (the path on the wire is already percent-encoded): ``quote(path, safe="/~")``;
- canonical query: the query string as sent, split on ``&`` and ``=``, sorted by (key, value), not re-encoded;
- canonical headers: every header except the hop-by-hop ones and ``user-agent`` / ``x-amzn-trace-id``, names
  lower-cased, values trimmed with runs of whitespace collapsed, sorted by name;
- payload hash: SHA-256 of the body, or the caller's ``x-amz-content-sha256`` header when it sets one;
- a ``date`` header, if present, is signed instead of ``x-amz-date`` (rewritten from the signing time).
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from collections.abc import MutableMapping
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# headers botocore leaves out of the signature (``botocore.auth.SIGNED_HEADERS_BLACKLIST``)
UNSIGNED_HEADERS = frozenset(
    {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


class FrozenCredentials(Protocol):
    access_key: str
    secret_key: str
    token: str | None


def amz_date(epoch_seconds: int) -> str:
    """``20250614T093000Z`` for a UNIX time (UTC)."""
    return time.strftime(AMZ_DATE_FORMAT, time.gmtime(epoch_seconds))


def host_header(url: str) -> str:
    """The ``host`` a request to ``url`` carries and signs: lower case, IPv6 in brackets, default port omitted."""
    parts = urlsplit(url)
    host = str(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, and empty segments dropped as AWS requires (``//`` -> ``/``)."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&"))
    return "&".join(f"{k}={v}" for k, v in pairs)


class SigV4Signer:
    """Signs requests in place. ``headers`` use lower-case names; the signer sets ``x-amz-date`` (or ``date``),
    ``x-amz-security-token`` (when the credentials carry a token) and ``authorization``."""

    def __init__(self, max_cached: int = 4096) -> None:
        self.max_cached = max_cached
        self._keys: dict[tuple[str, str, str, str], bytes] = {}
        self._paths: dict[str, str] = {}

    def signing_key(self, secret: str, day: str, region: str, service: str) -> bytes:
        ck = (secret, day, region, service)
        key = self._keys.get(ck)
        if key is None:
            k = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
            k = hmac.new(k, region.encode(), hashlib.sha256).digest()
            k = hmac.new(k, service.encode(), hashlib.sha256).digest()
            key = hmac.new(k, b"aws4_request", hashlib.sha256).digest()
            if len(self._keys) > 64:
                self._keys.clear()
            self._keys[ck] = key
        return key

    def canonical_path(self, path: str) -> str:
        quoted = self._paths.get(path)
        if quoted is None:
            if len(self._paths) > self.max_cached:
                self._paths.clear()
            quoted = self._paths[path] = quote(remove_dot_segments(path), safe="/~")
        return quoted

    def sign(
        self,
        method: str,
        target: str,
        headers: MutableMapping[str, str],
        body: bytes,
        creds: FrozenCredentials | Any,
        region: str,
        service: str,
        date: str,
    ) -> None:
        """Sign a request for ``target`` (the path and query as sent, percent-encoded) at ``date``
        (``YYYYMMDDTHHMMSSZ``, UTC). ``headers`` must hold ``host``."""
        headers.pop("authorization", None)
        if "date" in headers:
            headers["date"] = formatdate(calendar.timegm(time.strptime(date, AMZ_DATE_FORMAT)))
            headers.pop("x-amz-date", None)
        else:
            headers["x-amz-date"] = date
        if creds.token:
            headers["x-amz-security-token"] = creds.token
        path, _, query = target.partition("?")
        names = sorted(n for n in headers if n not in UNSIGNED_HEADERS)
        canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
        signed = ";".join(names)
        payload_hash = headers.get("x-amz-content-sha256")
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        canonical = "\n".join(
            (method.upper(), self.canonical_path(path), canonical_query(query), canonical_headers, signed, payload_hash)
        )
        scope = f"{date[:8]}/{region}/{service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        key = self.signing_key(creds.secret_key, date[:8], region, service)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
