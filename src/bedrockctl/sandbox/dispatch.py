"""The sandbox's WSGI application: admin API, then our handlers (ROUTER / X-Amz-Target), then moto.

A request is attributed the way AWS routes it: service and region from the SigV4 credential scope
(``Authorization`` header or presigned ``X-Amz-Credential``), or ``Authorization: Bearer`` (Bedrock API keys)
for the Bedrock services. All four Bedrock services sign as ``bedrock``, so such a request is tried against
every ``bedrock*`` route; an AWS hostname in ``Host`` narrows it to one service.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bedrockctl.sandbox import identity, wire
from bedrockctl.sandbox.core import ROUTER, AwsError, Caller, SandboxRequest, SandboxResponse

if TYPE_CHECKING:
    from bedrockctl.sandbox.server import Sandbox

log = logging.getLogger("bedrockctl.sandbox")

BEDROCK_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime", "bedrock", "bedrock-agent")
RUNTIME_SERVICES = ("bedrock-runtime", "bedrock-agent-runtime")
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

ActionHandler = Callable[[SandboxRequest], "SandboxResponse | None"]


class ActionRouter:
    """Operations of query-protocol services (IAM, STS, SNS...), matched on the ``Action`` form field (body of a
    POST, or the query string). A handler may return ``None`` to hand the request to moto unchanged (a guard
    that only sometimes answers, like the AssumeRole trust check)."""

    def __init__(self) -> None:
        self.actions: dict[tuple[str, str], ActionHandler] = {}

    def route(self, service: str, action: str) -> Callable[[ActionHandler], ActionHandler]:
        def deco(fn: ActionHandler) -> ActionHandler:
            self.actions[(service, action)] = fn
            return fn

        return deco

    def services(self) -> set[str]:
        return {service for service, _ in self.actions}

    def match(self, service: str, action: str) -> ActionHandler | None:
        return self.actions.get((service, action))


ACTIONS = ActionRouter()


def query_action(environ: dict[str, Any], query: dict[str, list[str]]) -> str:
    """The ``Action`` of a query-protocol request (form body first, then the query string)."""
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        form = urllib.parse.parse_qs(_read_body(environ).decode("utf-8", "replace"))
        if form.get("Action"):
            return form["Action"][0]
    return (query.get("Action") or [""])[0]


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

    def __init__(self, sandbox: Sandbox, moto_app: Any = None, moto_factory: Callable[[], Any] | None = None) -> None:
        """``moto_app``, or ``moto_factory`` to build moto's WSGI app on first use (importing moto's server and
        Flask is a good part of a cold start, and the seeds only need moto's backends)."""
        self.sandbox = sandbox
        self._moto_app = moto_app
        self._moto_factory = moto_factory
        self._moto_lock = threading.Lock()

    @property
    def moto_app(self) -> Any:
        if self._moto_app is None:
            with self._moto_lock:
                if self._moto_app is None and self._moto_factory is not None:
                    self._moto_app = self._moto_factory()
        return self._moto_app

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
        service = services[0] if services else ""
        protocol = "rest-json"
        try:
            matched = self._match(services, method, path, environ, query)
            service = matched[0] if matched else moto_service(signing, services, path)
            if signing:
                protocol = self._protocol(service, environ, query)
                self._pre_checks(service, region, key, protocol, runtime=bool(matched) and service in RUNTIME_SERVICES)
            if matched is not None:
                service, handler, params = matched
                caller = identity.caller_for_request(key, environ.get("HTTP_X_MOTO_ACCOUNT_ID"))
                req = self._build_request(environ, method, path, raw_path, query, service, region, caller)
                req.request_id = request_id
                if service in RUNTIME_SERVICES:
                    self.sandbox.check_faults(req, runtime_model_id(raw_path))
                resp = handler(req, **params)
                if resp is not None:
                    return self._send(resp, request_id, start_response)
            if signing == "bedrock" and not path.startswith(_MOTO_BEDROCK_PREFIXES):
                raise wire.unknown_operation_error(method, path, protocol)
            if bearer:  # moto routes on the credential scope: give it one
                environ["HTTP_AUTHORIZATION"] = (
                    f"AWS4-HMAC-SHA256 Credential={key or 'AKIAIOSFODNN7EXAMPLE'}/20240101/{region}/bedrock/"
                    "aws4_request, SignedHeaders=host, Signature=0"
                )
            return self._moto(environ, start_response, request_id, method, path, protocol, signing == "bedrock")
        except AwsError as err:
            resp = wire.render_error(err, service, request_id, protocol)
        except NotImplementedError:  # moto has the service but not this operation: AWS's answer, not a 500
            resp = wire.render_error(
                wire.unknown_operation_error(method, path, protocol), service, request_id, protocol
            )
        except Exception:  # a handler bug must look like AWS's 500, not kill the connection
            log.exception("sandbox handler failed")
            internal = AwsError("InternalServerException", "Internal error in the sandbox.", 500, sender_fault=False)
            resp = wire.render_error(internal, service, request_id, protocol)
        return self._send(resp, request_id, start_response)

    def _protocol(self, service: str, environ: dict[str, Any], query: dict[str, list[str]]) -> str:
        headers = {
            "X-Amz-Target": environ.get("HTTP_X_AMZ_TARGET", ""),
            "Content-Type": environ.get("CONTENT_TYPE", ""),
        }
        headers["Smithy-Protocol"] = environ.get("HTTP_SMITHY_PROTOCOL", "")
        return wire.protocol_for(service, headers, query, b"")

    def _pre_checks(self, service: str, region: str, key: str, protocol: str, *, runtime: bool) -> None:
        """What every signed request meets first: latency, a Region that is down, expired credentials. (Runtime
        routes check the Region in ``check_faults`` so that rejected invocations are recorded.)"""
        faults = self.sandbox.faults
        faults.apply_latency(service, region)
        if not runtime:
            code = wire.unavailable_error(protocol).code
            faults.check_region(region, self.sandbox.stopping, code)
        if faults.key_expired(key) or identity.credentials_expired(key):
            raise wire.expired_token_error(service, protocol)

    def _match(
        self,
        services: Iterable[str],
        method: str,
        path: str,
        environ: dict[str, Any],
        query: dict[str, list[str]],
    ) -> tuple[str, Callable[..., Any], dict[str, str]] | None:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        for service in services:
            if target:
                handler = TARGETS.match(service, target.rsplit(".", 1)[-1])
                if handler is not None:
                    return service, handler, {}
            if service in ACTIONS.services() and method in ("POST", "GET"):
                action_handler = ACTIONS.match(service, query_action(environ, query))
                if action_handler is not None:
                    return service, action_handler, {}
                continue
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

    def _moto(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        request_id: str,
        method: str,
        path: str,
        protocol: str,
        bedrock: bool,
    ) -> Iterable[bytes]:
        app = self._moto_bedrock_app(environ)
        captured: list[Any] = []

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {k.lower() for k, _ in headers}
            if "x-amzn-requestid" not in names and "x-amz-request-id" not in names:
                headers = [*headers, ("x-amzn-RequestId", request_id)]
            if bedrock:  # buffered below: an empty 404 is moto not knowing the path
                captured[:] = [status, headers, exc_info]
                return lambda _data: None
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = (app or self.moto_app)(environ, _start)
        if not bedrock:
            return result
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        status, headers, exc_info = captured
        if status.startswith("404") and not body.strip():
            err = wire.unknown_operation_error(method, path, protocol)
            return self._send(wire.render_error(err, "bedrock", request_id, protocol), request_id, start_response)
        start_response(status, headers, exc_info) if exc_info else start_response(status, headers)
        return [body]

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
