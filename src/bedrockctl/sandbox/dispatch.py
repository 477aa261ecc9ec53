"""The sandbox's WSGI application: admin API, then our handlers (ROUTER / X-Amz-Target), then moto.

A request is attributed the way AWS routes it: service and region from the SigV4 credential scope
(``Authorization`` header or presigned ``X-Amz-Credential``), or ``Authorization: Bearer`` (Bedrock API keys)
for the Bedrock services. All four Bedrock services sign as ``bedrock``, so such a request is tried against
every ``bedrock*`` route; an AWS hostname in ``Host`` narrows it to one service.
"""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bedrockctl.sandbox import identity
from bedrockctl.sandbox.core import ROUTER, AwsError, Caller, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from bedrockctl.sandbox.server import Sandbox

log = logging.getLogger("bedrockctl.sandbox")

BEDROCK_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock", "bedrock-agent")
RUNTIME_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime")
JSON_PROTOCOL_SERVICES = {"cloudtrail"}  # awsJson1_1: errors carry __type
_HOST_RE = re.compile(r"^(?P<svc>[a-z0-9-]+)\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com")

TargetHandler = Callable[[SandboxRequest], SandboxResponse]


class TargetRouter:
    """Operations of JSON-protocol services, matched on ``X-Amz-Target`` (``<prefix>.<Operation>``)."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str, str], TargetHandler] = {}

    def route(self, service: str, target: str) -> Callable[[TargetHandler], TargetHandler]:
        def deco(fn: TargetHandler) -> TargetHandler:
            self.targets[(service, target)] = fn
            return fn

        return deco

    def match(self, service: str, target: str) -> TargetHandler | None:
        return self.targets.get((service, target))


TARGETS = TargetRouter()


def render_error(err: AwsError, service: str, request_id: str) -> SandboxResponse:
    """rest-json / json style error: ``x-amzn-ErrorType`` header + JSON body botocore parses."""
    body: dict[str, Any] = {"message": err.message}
    if service in JSON_PROTOCOL_SERVICES:
        body = {"__type": err.code, "message": err.message}
    headers = {
        "Content-Type": "application/x-amz-json-1.1" if service in JSON_PROTOCOL_SERVICES else "application/json",
        "x-amzn-ErrorType": err.code,
        "x-amzn-RequestId": request_id,
    }
    return SandboxResponse(status=err.status, body=json.dumps(body).encode(), headers=headers)


def _header_map(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["Content-Length"] = environ["CONTENT_LENGTH"]
    return _CIDict(headers)


class _CIDict(dict[str, str]):
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


def resolve_signing(environ: dict[str, Any], query: dict[str, list[str]]) -> tuple[str, str, str, bool]:
    """``(signing_service, region, access_key_id, bearer)`` of a request; empty strings when unsigned."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if auth.lower().startswith("bearer "):
        parsed = identity.access_key_from_bearer(auth[7:].strip())
        key, region = parsed if parsed else ("", "")
        host = _HOST_RE.match(environ.get("HTTP_HOST", ""))
        return "bedrock", region or (host.group("region") if host else "us-east-1"), key, True
    scope = identity.parse_credential_scope(auth) if auth else None
    if scope is None and query.get("X-Amz-Credential"):
        scope = identity.parse_credential_scope(query["X-Amz-Credential"][0])
    if scope is None:
        return "", "", "", False
    key, region, service = scope
    return service.lower(), region, key, False


def candidate_services(signing: str, host: str) -> tuple[str, ...]:
    if signing != "bedrock":
        return (signing,)
    m = _HOST_RE.match(host)
    if m and m.group("svc") in BEDROCK_SERVICES:
        return (m.group("svc"),)
    return BEDROCK_SERVICES


class Dispatcher:
    """WSGI callable; holds a back reference to the running Sandbox for state, effects and faults."""

    def __init__(self, sandbox: Sandbox, moto_app: Any) -> None:
        self.sandbox = sandbox
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        raw_path = raw_path.split("?", 1)[0]
        path = urllib.parse.unquote(raw_path)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)

        if path.startswith("/_sandbox/"):
            from bedrockctl.sandbox.faults import handle_admin

            body = _read_body(environ)
            return self._send(handle_admin(self.sandbox, method, path, body), request_id, start_response)

        signing, region, key, bearer = resolve_signing(environ, query)
        services = candidate_services(signing, environ.get("HTTP_HOST", "")) if signing else ()
        faults = self.sandbox.faults
        try:
            if signing:
                faults.apply_latency(services[0], region)
            matched = self._match(services, method, path, environ)
            if matched is None:
                if signing == "sts":
                    denied = identity.sts_guard(_read_body(environ), key, request_id)
                    if denied is not None:
                        return self._send(denied, request_id, start_response)
                if bearer:  # moto routes on the credential scope: give it one
                    environ["HTTP_AUTHORIZATION"] = (
                        f"AWS4-HMAC-SHA256 Credential={key or 'AKIAIOSFODNN7EXAMPLE'}/20240101/{region}/bedrock/"
                        "aws4_request, SignedHeaders=host, Signature=0"
                    )
                return self._moto(environ, start_response, request_id)
            service, handler, params = matched
            caller = identity.caller_for_request(key, environ.get("HTTP_X_MOTO_ACCOUNT_ID"))
            req = self._build_request(environ, method, path, raw_path, query, service, region, caller)
            req.request_id = request_id
            if service in RUNTIME_SERVICES:
                self.sandbox.check_faults(req, runtime_model_id(raw_path))
            resp = handler(req, **params)
        except AwsError as err:
            resp = render_error(err, services[0] if services else "", request_id)
        except Exception:  # a handler bug must look like AWS's 500, not kill the connection
            log.exception("sandbox handler failed")
            resp = render_error(
                AwsError("InternalServerException", "Internal error in the sandbox.", 500, sender_fault=False),
                services[0] if services else "",
                request_id,
            )
        return self._send(resp, request_id, start_response)

    def _match(
        self, services: Iterable[str], method: str, path: str, environ: dict[str, Any]
    ) -> tuple[str, Callable[..., SandboxResponse], dict[str, str]] | None:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        for service in services:
            if target:
                handler = TARGETS.match(service, target.rsplit(".", 1)[-1])
                if handler is not None:
                    return service, handler, {}
            found = ROUTER.match(service, method, path)
            if found is not None:
                return service, found[0], found[1]
        return None

    def _build_request(
        self,
        environ: dict[str, Any],
        method: str,
        path: str,
        raw_path: str,
        query: dict[str, list[str]],
        service: str,
        region: str,
        caller: Caller,
    ) -> SandboxRequest:
        headers = _header_map(environ)
        return SandboxRequest(
            method=method,
            path=path,
            raw_path=raw_path,
            query=query,
            headers=headers,
            body=_read_body(environ),
            service=service,
            region=region,
            caller=caller,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            user_agent=headers.get("User-Agent", ""),
            sandbox=self.sandbox,
        )

    def _moto(self, environ: dict[str, Any], start_response: Callable[..., Any], request_id: str) -> Iterable[bytes]:
        app = self._moto_bedrock_app(environ)

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {k.lower() for k, _ in headers}
            if "x-amzn-requestid" not in names and "x-amz-request-id" not in names:
                headers = [*headers, ("x-amzn-RequestId", request_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return (app or self.moto_app)(environ, _start)

    def _moto_bedrock_app(self, environ: dict[str, Any]) -> Any:
        """moto finds the Bedrock service of a ``bedrock``-signed request by building every URL map per
        request (slow); the path prefix tells it directly."""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if "/bedrock/aws4_request" not in auth:
            return None
        if not environ.get("PATH_INFO", "").startswith(_MOTO_BEDROCK_PREFIXES):
            return None
        backend = "bedrock"  # moto's bedrock app also serves the bedrock-agent paths below
        moto = self.moto_app
        with moto.lock:
            app = moto.app_instances.get(backend)
            if app is None:
                app = moto.app_instances[backend] = moto.create_app(backend)
        return app

    @staticmethod
    def _send(resp: SandboxResponse, request_id: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
        from werkzeug.http import HTTP_STATUS_CODES

        headers = dict(resp.headers)
        if not any(k.lower() == "x-amzn-requestid" for k in headers):
            headers["x-amzn-RequestId"] = request_id
        body = resp.body
        if isinstance(body, bytes):
            headers["Content-Length"] = str(len(body))
            start_response(f"{resp.status} {HTTP_STATUS_CODES.get(resp.status, 'Unknown')}", list(headers.items()))
            return [body]
        start_response(f"{resp.status} {HTTP_STATUS_CODES.get(resp.status, 'Unknown')}", list(headers.items()))
        return body


_MOTO_BEDROCK_PREFIXES = (
    "/custom-models",
    "/model-customization-jobs",
    "/logging/",
    "/agents",
    "/knowledgebases",
    "/tags/",
    "/listTagsForResource",
    "/tagResource",
    "/untagResource",
)
_MODEL_PATH = re.compile(r"^/model/([^/]+)/")
_AGENT_PATH = re.compile(r"^/agents/([^/]+)/agentAliases/([^/]+)/")


def runtime_model_id(raw_path: str) -> str | None:
    """The model id a runtime request targets (URL-decoded; ARNs arrive percent-encoded in one segment)."""
    m = _MODEL_PATH.match(raw_path)
    if m:
        return urllib.parse.unquote(m.group(1))
    m = _AGENT_PATH.match(raw_path)
    if m:
        return urllib.parse.unquote(m.group(1))
    return None


def _read_body(environ: dict[str, Any]) -> bytes:
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
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
    environ["CONTENT_LENGTH"] = str(len(body))
    return body
