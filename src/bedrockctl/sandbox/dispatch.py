"""The sandbox's WSGI application: admin API, then our handlers (ROUTER / X-Amz-Target / Action), then moto.

How a request is attributed (signing service, Region, caller) is in ``requestinfo``; moto's Bedrock answers are
brought to the service model in ``motobridge``. A request without any credentials that names a Bedrock
operation gets AWS's 403 ``MissingAuthenticationTokenException`` (``wire.missing_token_response``), never moto.
"""

from __future__ import annotations

import logging
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from bedrockctl.sandbox import identity, requestcheck, servicemodel, wire
from bedrockctl.sandbox.core import ACTIONS, ROUTER, TARGETS, AwsError, Caller, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.motobridge import MOTO_BEDROCK_PREFIXES, MotoBridge, conform_response, find_moto_operation
from bedrockctl.sandbox.requestinfo import (
    BEDROCK_SERVICES,
    RUNTIME_SERVICES,
    candidate_services,
    has_credentials,
    header_map,
    host_service,
    moto_service,
    query_action,
    read_body,
    resolve_signing,
    runtime_model_id,
)

if TYPE_CHECKING:
    from bedrockctl.sandbox.server import Sandbox

__all__ = ["ACTIONS", "TARGETS", "Dispatcher", "resolve_signing"]

log = logging.getLogger("bedrockctl.sandbox")


class Dispatcher:
    """WSGI callable; holds a back reference to the running Sandbox for state, effects and faults."""

    def __init__(self, sandbox: Sandbox, moto_app: Any = None, moto_factory: Callable[[], Any] | None = None) -> None:
        """``moto_app``, or ``moto_factory`` to build moto's WSGI app on first use (importing moto's server and
        Flask is a good part of a cold start, and the seeds only need moto's backends)."""
        self.sandbox = sandbox
        self.moto = MotoBridge(moto_app, moto_factory)

    @property
    def moto_app(self) -> Any:
        return self.moto.app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        raw_path = raw_path.split("?", 1)[0]
        path = urllib.parse.unquote(raw_path)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)

        if path.startswith("/_sandbox/"):
            from bedrockctl.sandbox.faults import handle_admin

            body = read_body(environ)
            return self._send(handle_admin(self.sandbox, method, path, body), request_id, start_response)

        signing, region, key, bearer = resolve_signing(environ, query)
        if not signing and _names_bedrock(environ, query, method, raw_path):
            return self._send(wire.missing_token_response(request_id), request_id, start_response)
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
            if signing == "bedrock" and not path.startswith(MOTO_BEDROCK_PREFIXES):
                raise wire.unknown_operation_error(method, path, protocol)
            if bearer:  # moto routes on the credential scope: give it one
                environ["HTTP_AUTHORIZATION"] = (
                    f"AWS4-HMAC-SHA256 Credential={key or 'AKIAIOSFODNN7EXAMPLE'}/20240101/{region}/bedrock/"
                    "aws4_request, SignedHeaders=host, Signature=0"
                )
            if signing != "bedrock":
                self.moto.route_rest_paths(service)
                return self.moto.call(environ, start_response, request_id)
            found = find_moto_operation(method, raw_path)
            if found is not None:  # moto trusts its input: AWS's validation first
                requestcheck.check_body(found[1], read_body(environ))
            status, headers, body = self.moto.call_bedrock(environ, request_id)
            if status == 404 and not body.strip():  # moto does not know the path
                raise wire.unknown_operation_error(method, path, protocol)
            resp = conform_response(found, status, headers, body, request_id)
            return self._send(resp, request_id, start_response)
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
        headers = header_map(environ)
        return SandboxRequest(
            method=method,
            path=path,
            raw_path=raw_path,
            query=query,
            headers=headers,
            body=read_body(environ),
            service=service,
            region=region,
            caller=caller,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            user_agent=headers.get("User-Agent", ""),
            sandbox=self.sandbox,
        )

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


def _names_bedrock(environ: dict[str, Any], query: dict[str, list[str]], method: str, raw_path: str) -> bool:
    """An unsigned request AWS would answer with ``MissingAuthenticationTokenException``: no credentials at all,
    and a Bedrock host name or a path that is one of the four Bedrock APIs' operations."""
    if has_credentials(environ, query):
        return False
    if host_service(environ.get("HTTP_HOST", "")) in BEDROCK_SERVICES:
        return True
    return servicemodel.find_operation(servicemodel.BEDROCK_MODEL_SERVICES, method, raw_path) is not None
