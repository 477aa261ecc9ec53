"""What the dispatcher reads off a WSGI request: body, headers, the signing service and Region, the model id.

A request is attributed the way AWS routes it: service and region from the SigV4 credential scope
(``Authorization`` header or presigned ``X-Amz-Credential``), or ``Authorization: Bearer`` (Bedrock API keys)
for the Bedrock services. All four Bedrock services sign as ``bedrock``, so such a request is tried against
every ``bedrock*`` route; an AWS hostname in ``Host`` narrows it to one service.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from typing import Any

from bedrockctl.sandbox import identity

BEDROCK_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock", "bedrock-agent")
RUNTIME_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime")
HOST_RE = re.compile(r"^(?P<svc>[a-z0-9-]+)\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com")
_MODEL_PATH = re.compile(r"^/model/([^/]+)/")
_AGENT_PATH = re.compile(r"^/agents/([^/]+)/agentAliases/([^/]+)/")


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once (moto reads it again from the rewound ``wsgi.input``)."""
    if "bedrockctl.body" in environ:
        return bytes(environ["bedrockctl.body"])
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = stream.read(length) if stream is not None and length > 0 else b""
    if stream is not None and environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and not length:
        body = stream.read()
    environ["bedrockctl.body"] = body
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def query_action(environ: dict[str, Any], query: dict[str, list[str]]) -> str:
    """The ``Action`` of a query-protocol request (form body first, then the query string)."""
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = urllib.parse.parse_qs(read_body(environ).decode("utf-8", "replace"))
        if form.get("Action"):
            return form["Action"][0]
    return (query.get("Action") or [""])[0]


class CIDict(dict[str, str]):
    """Case-insensitive header lookup (``req.headers.get('x-amz-target')``)."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__(data)
        self._lower = {k.lower(): k for k in data}

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(self._lower.get(key.lower(), key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._lower

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(self._lower.get(key.lower(), key), default)


def header_map(environ: dict[str, Any]) -> CIDict:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["Content-Length"] = environ["CONTENT_LENGTH"]
    return CIDict(headers)


def resolve_signing(environ: dict[str, Any], query: dict[str, list[str]]) -> tuple[str, str, str, bool]:
    """``(signing_service, region, access_key_id, bearer)`` of a request; empty strings when unsigned."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        parsed = identity.access_key_from_bearer(auth[7:].strip())
        key, region = parsed if parsed else ("", "")
        host = HOST_RE.match(environ.get("HTTP_HOST", ""))
        return "bedrock", region or (host.group("region") if host else "us-east-1"), key, True
    scope = identity.parse_credential_scope(auth) if auth else None
    if scope is None and query.get("X-Amz-Credential"):
        scope = identity.parse_credential_scope(query["X-Amz-Credential"][0])
    if scope is None:
        return "", "", "", False
    key, region, service = scope
    return service.lower(), region, key, False


def has_credentials(environ: dict[str, Any], query: dict[str, list[str]]) -> bool:
    """Whether the request carries any authentication at all (a header, or a presigned query)."""
    return bool(environ.get("HTTP_AUTHORIZATION")) or any(
        k in query for k in ("X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature")
    )


def host_service(host: str) -> str | None:
    """The service an AWS host name names (``bedrock-runtime.us-east-1.amazonaws.com`` -> ``bedrock-runtime``)."""
    m = HOST_RE.match(host)
    return m.group("svc") if m else None


def candidate_services(signing: str, host: str) -> tuple[str, ...]:
    if signing != "bedrock":
        return (signing,)
    named = host_service(host)
    if named in BEDROCK_SERVICES:
        return (named,)
    return BEDROCK_SERVICES


def moto_service(signing: str, services: tuple[str, ...], path: str) -> str:
    """The service a request for moto belongs to (for faults and error rendering)."""
    if signing != "bedrock" or len(services) == 1:
        return services[0] if services else signing
    return "bedrock-agent" if path.startswith(("/agents", "/knowledgebases")) else "bedrock"


def runtime_model_id(raw_path: str) -> str | None:
    """The model id a runtime request targets (URL-decoded; ARNs arrive percent-encoded in one segment)."""
    m = _MODEL_PATH.match(raw_path)
    if m:
        return urllib.parse.unquote(m.group(1))
    m = _AGENT_PATH.match(raw_path)
    if m:
        return urllib.parse.unquote(m.group(1))
    return None
