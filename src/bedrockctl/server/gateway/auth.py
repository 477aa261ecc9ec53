"""Who is calling: ``Authorization: Bearer <gateway key>`` (also ``x-api-key``) or SigV4 signed with a
gateway-issued access-key pair, verified by recomputing the signature with botocore's SigV4 on the request as
received (method, raw path, query, the signed headers, the payload hash). Over HTTP/2 a client may sign the
``:authority`` pseudo-header instead of ``host`` (the AWS SDK for JavaScript v3 does): its value is the host the
server saw, and the canonical request then lists it, not ``host``, as that client did."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.http import MAX_BODY, close_unread, read_body
from bedrockctl.server.gateway.options import GatewayOptions
from bedrockctl.store.keys import KeyRecord, KeyStore


def identify(keys: KeyStore, headers: dict[bytes, bytes], skew: float = 900.0) -> tuple[KeyRecord, str | None]:
    """The key a request names, checked before its body is read (a bearer key completely; SigV4 its form, date and
    key id), and the SigV4 ``Authorization`` still to verify against the body (None for a bearer key)."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    signed: str | None = None
    if auth[:7].lower() == "bearer ":
        rec = keys.verify_bearer(auth[7:])
    elif auth.startswith("AWS4-HMAC-SHA256 "):
        rec, signed = sigv4_key(keys, headers, auth, skew), auth
    elif b"x-api-key" in headers:
        rec = keys.verify_bearer(headers[b"x-api-key"].decode("latin-1"))
    else:
        raise errors.unauthenticated(
            "Missing Authentication Token: send a gateway key (Authorization: Bearer) "
            "or sign with a gateway access key (SigV4)."
        )
    if rec is None:
        raise errors.unauthenticated()
    if signed is None:
        usable(rec)
    return rec, signed


def usable(rec: KeyRecord) -> KeyRecord:
    state = rec.state()
    if state == "revoked":
        raise errors.key_revoked(rec.key_id)
    if state == "expired":
        raise errors.key_expired(rec.key_id)
    return rec


def authenticate(
    keys: KeyStore, scope: dict[str, Any], headers: dict[bytes, bytes], body: bytes, skew: float = 900.0
) -> KeyRecord:
    rec, signed = identify(keys, headers, skew)
    return rec if signed is None else usable(check_signature(keys, rec, scope, headers, body, signed))


async def authenticate_request(
    keys: KeyStore, opts: GatewayOptions, scope: dict[str, Any], headers: dict[bytes, bytes], receive: Any
) -> tuple[KeyRecord, bytes]:
    """Authenticate, then read the body: a request without a valid key, or announcing a body over ``MAX_BODY``, is
    answered before its body is read (and its connection closed after the answer, so the body is never read). A
    SigV4 signature covers the body, so it is verified once the body is in; until then only the key id is known."""
    try:
        rec, signed = identify(keys, headers, opts.clock_skew_seconds)
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            raise errors.too_large(MAX_BODY)
    except errors.GatewayError as err:
        raise close_unread(err, headers) from None
    body = await read_body(receive, opts.body_timeout_seconds)
    if signed is not None:
        usable(check_signature(keys, rec, scope, headers, body, signed))
    return rec, body


def _parse(auth: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","):
        name, _, value = part.strip().partition("=")
        out[name] = value
    return out


def sigv4_key(keys: KeyStore, headers: dict[bytes, bytes], auth: str, skew: float) -> KeyRecord | None:
    """What SigV4 tells before the body is read: its form, scope and date are sound, and the key it names."""
    fields = _parse(auth)
    try:
        key_id, date, _region, service, terminator = fields["Credential"].split("/")
        if not fields.keys() >= {"SignedHeaders", "Signature"}:
            raise KeyError("SignedHeaders")
    except (KeyError, ValueError):
        raise errors.bad_signature("Authorization header requires Credential, SignedHeaders and Signature.") from None
    if service != "bedrock" or terminator != "aws4_request":
        raise errors.bad_signature(f"Credential should be scoped to service 'bedrock', not {service!r}.")
    amz_date = headers.get(b"x-amz-date", b"").decode("latin-1")
    try:
        signed_at = calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        raise errors.bad_signature("X-Amz-Date is missing or malformed.") from None
    if abs(time.time() - signed_at) > skew or amz_date[:8] != date:
        raise errors.bad_signature("Signature expired: the request time is too far from the server time.")
    return keys.lookup(key_id)


def check_signature(
    keys: KeyStore, rec: KeyRecord, scope: dict[str, Any], headers: dict[bytes, bytes], body: bytes, auth: str
) -> KeyRecord:
    fields = _parse(auth)
    key_id, _, region, _, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    given = fields["Signature"]
    amz_date = headers.get(b"x-amz-date", b"").decode("latin-1")
    sent_hash = headers.get(b"x-amz-content-sha256")
    if sent_hash and sent_hash != b"UNSIGNED-PAYLOAD" and sent_hash.decode() != hashlib.sha256(body).hexdigest():
        raise errors.bad_signature("The payload does not match X-Amz-Content-SHA256.")
    want = {h.encode() for h in signed}
    sig_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items() if k in want}
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    host = sig_headers.get("host", "localhost")
    if ":authority" in signed:  # HTTP/2: the server turned :authority into host
        sig_headers[":authority"] = headers.get(b"host", b"").decode("latin-1")
    url = f"http://{host}{raw_path.decode('latin-1')}" + (f"?{query.decode('latin-1')}" if query else "")
    request = AWSRequest(method=scope["method"], url=url, data=body, headers=sig_headers)
    request.context["timestamp"] = amz_date
    signer = _SignedAsSent(ReadOnlyCredentials(key_id, keys.secret_for(key_id), None), "bedrock", region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, given):
        raise errors.bad_signature("The request signature we calculated does not match the signature you provided.")
    return rec


class _SignedAsSent(SigV4Auth):  # type: ignore[misc]  # botocore has no types
    """botocore's SigV4, less the ``host`` header it adds when a request has none: a request signed over HTTP/2 with
    ``:authority`` in its place did not sign ``host``."""

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        if ":authority" not in request.headers:
            return super().headers_to_sign(request)
        signed = HTTPHeaders()
        for name, value in request.headers.items():
            signed[name.lower()] = value
        return signed
