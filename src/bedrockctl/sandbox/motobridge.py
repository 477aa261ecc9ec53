"""Requests the sandbox hands to moto, and moto's Bedrock answers brought to AWS's wire format.

moto serves Bedrock custom models, customization jobs, the invocation-logging configuration, Agents agents and
knowledge bases. Its answers say ``Content-Type: text/html``, use 200 where AWS answers 201/202/204, 400 for
every error, and bodies that differ from the service model in small ways. ``conform_response`` rewrites each
Bedrock answer from botocore's model of the operation (found by method and path, ``servicemodel``):

- success: the status is the operation's ``http.responseCode``, ``Content-Type: application/json``, and the
  body is the output shape as ``conform.conform`` makes it (timestamps, enums, nulls, required members);
- errors: the status is the one the model gives the error (``ResourceNotFoundException`` -> 404 ...), rendered
  as rest-json errors are (``x-amzn-ErrorType`` header, ``{"message": ...}`` body).

Responses of other services pass through unchanged. Where a newer botocore speaks ``rest-json`` to a service
that moto's URL map still routes only at ``/`` (botocore 1.44 moved Athena from ``json`` to ``rest-json``; moto
finds the operation from botocore's model either way), ``call`` gives that service's app a catch-all route so the
REST paths reach moto's dispatcher instead of Flask's HTML 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

import botocore.exceptions
from botocore.model import OperationModel

from bedrockctl.sandbox import moto_ids, servicemodel, wire
from bedrockctl.sandbox.conform import MISSING, conform
from bedrockctl.sandbox.core import AwsError, SandboxResponse

MOTO_BEDROCK_PREFIXES = (
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
MOTO_BEDROCK_SERVICES = ("bedrock", "bedrock-agent")
# moto's error names that the operation's model calls otherwise (used only when the model declares the alias
# for the operation and not moto's name): a duplicate customization job or custom model name.
_MOTO_ERROR_ALIASES = {"ResourceInUseException": "ConflictException"}
_DROPPED_HEADERS = frozenset(
    {"content-type", "content-length", "status", "x-amzn-errortype", "x-amzn-requestid", "access-control-allow-origin"}
)


class MotoBridge:
    """moto's WSGI app, built on first use, with the Bedrock answers conformed to the service model."""

    def __init__(self, moto_app: Any = None, moto_factory: Callable[[], Any] | None = None) -> None:
        self._app = moto_app
        self._factory = moto_factory
        self._lock = threading.Lock()
        self._rest_routed: set[str] = set()
        moto_ids.install()

    @property
    def app(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None and self._factory is not None:
                    self._app = self._factory()
        return self._app

    def bedrock_app(self, environ: dict[str, Any]) -> Any:
        """moto finds the Bedrock service of a ``bedrock``-signed request by building every URL map per request
        (slow); the path prefix tells it directly (moto's bedrock app also serves the bedrock-agent paths)."""
        if "/bedrock/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
            return None
        if not environ.get("PATH_INFO", "").startswith(MOTO_BEDROCK_PREFIXES):
            return None
        moto = self.app
        with moto.lock:
            app = moto.app_instances.get("bedrock")
            if app is None:
                app = moto.app_instances["bedrock"] = moto.create_app("bedrock")
        return app

    def route_rest_paths(self, service: str) -> None:
        """Let moto's app for ``service`` take every path when botocore speaks rest-json to it but moto's URL map
        has only the ``/`` of the json protocol (the operation is then found from botocore's model by moto)."""
        if service in self._rest_routed or not service or service in MOTO_BEDROCK_SERVICES:
            return
        try:
            protocol = servicemodel.service_model(service).metadata.get("protocol")
        except botocore.exceptions.UnknownServiceError:
            return
        if protocol != "rest-json":
            self._rest_routed.add(service)
            return
        moto = self.app
        with moto.lock:
            app = moto.app_instances.get(service)
            if app is None:
                try:
                    app = moto.app_instances[service] = moto.create_app(service)
                except ImportError:  # a service moto does not implement: moto's own answer stands
                    self._rest_routed.add(service)
                    return
            rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
            if len(rules) == 1 and rules[0].rule == "/":
                methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
                app.add_url_rule("/<path:rest_path>", endpoint=rules[0].endpoint, methods=methods)
            self._rest_routed.add(service)

    def call(self, environ: dict[str, Any], start_response: Callable[..., Any], request_id: str) -> Iterable[bytes]:
        """Pass a request of any service to moto, unchanged (adds ``x-amzn-RequestId`` when moto has none)."""

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            names = {k.lower() for k, _ in headers}
            if "x-amzn-requestid" not in names and "x-amz-request-id" not in names:
                headers = [*headers, ("x-amzn-RequestId", request_id)]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return self.app(environ, _start)  # type: ignore[no-any-return]

    def call_bedrock(self, environ: dict[str, Any], request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Run a Bedrock request through moto and return ``(status, headers, body)`` as moto answered."""
        captured: list[Any] = []

        def _start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers]
            return lambda _data: None

        result = (self.bedrock_app(environ) or self.app)(environ, _start)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured
        return int(status.split(" ", 1)[0]), list(headers), body


def find_moto_operation(method: str, raw_path: str) -> tuple[str, OperationModel] | None:
    """The Bedrock or Agents operation a request for moto names."""
    return servicemodel.find_operation(MOTO_BEDROCK_SERVICES, method, raw_path)


def conform_response(
    found: tuple[str, OperationModel] | None,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    request_id: str,
) -> SandboxResponse:
    """moto's answer to the Bedrock operation ``found``, as AWS would have sent it (see the module docstring)."""
    kept = {k: v for k, v in headers if k.lower() not in _DROPPED_HEADERS}
    if status >= 400:
        return _conform_error(found, status, headers, body, request_id)
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError:
        return SandboxResponse(status, body, dict(headers))  # not JSON: nothing we can reason about
    if found is not None:
        _, op = found
        status = int(op.http.get("responseCode", 200))
        shape = op.output_shape
        if shape is None or not isinstance(doc, dict):
            doc = {}
        else:
            fixed = conform(shape, doc)
            doc = {} if fixed is MISSING else fixed
    kept["Content-Type"] = "application/json"
    return SandboxResponse(status, json.dumps(doc).encode(), kept)


def _conform_error(
    found: tuple[str, OperationModel] | None,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    request_id: str,
) -> SandboxResponse:
    lower = {k.lower(): v for k, v in headers}
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError:
        doc = {}
    doc = doc if isinstance(doc, dict) else {}
    code = str(lower.get("x-amzn-errortype") or doc.get("__type") or doc.get("code") or "")
    code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    if not code:
        code = "InternalServerException" if status >= 500 else "ValidationException"
    message = str(doc.get("message") or doc.get("Message") or "")
    service = found[0] if found else "bedrock"
    if found is not None:
        declared = {e.name for e in found[1].error_shapes}
        alias = _MOTO_ERROR_ALIASES.get(code, "")
        if code not in declared and alias in declared:
            code = alias
    err = AwsError(code, message, servicemodel.error_status(service, code, status), sender_fault=status < 500)
    return wire.render_error(err, service, request_id, "rest-json")
