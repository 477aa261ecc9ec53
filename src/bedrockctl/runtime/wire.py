"""The wire layer shared by the sync and async paths: build signed requests, parse responses and event streams.

Nothing here does I/O: ``transport.py`` sends what ``build_*`` produce and feeds bytes back to the parsers.
Requests are signed with botocore's ``SigV4Auth`` (signing name ``bedrock`` for all four Bedrock services).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError
from botocore.utils import percent_encode

from bedrockctl.aws.errors import translate
from bedrockctl.errors import BedrockctlError

SIGNING_NAME = "bedrock"
RUNTIME = "bedrock-runtime"
AGENT_RUNTIME = "bedrock-agent-runtime"


@dataclass
class WireRequest:
    service: str  # bedrock-runtime | bedrock-agent-runtime
    operation: str  # Converse | ConverseStream | InvokeModel | InvokeModelWithResponseStream | InvokeAgent
    path: str  # percent-encoded
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"

    @property
    def streaming(self) -> bool:
        return self.operation in ("ConverseStream", "InvokeModelWithResponseStream", "InvokeAgent")


@dataclass
class AwsCallError(Exception):
    """An AWS error response (or transport failure) before translation."""

    code: str
    message: str
    status: int | None = None
    request_id: str | None = None
    operation: str = ""
    region: str = ""
    transport: bool = False  # connection/timeout error: no response at all

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def translate(self) -> BedrockctlError:
        resp: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"RequestId": self.request_id, "HTTPStatusCode": self.status},
        }
        return translate(ClientError(resp, self.operation), service="bedrock-runtime", region=self.region)  # type: ignore[arg-type]


def endpoint(service: str, region: str, override: str | None) -> str:
    return (override or f"https://{service}.{region}.amazonaws.com").rstrip("/")


def sign(req: WireRequest, base_url: str, region: str, creds: ReadOnlyCredentials) -> tuple[str, dict[str, str]]:
    """Return the URL and the signed headers for ``req``."""
    url = base_url + req.path
    headers = {"Content-Type": "application/json", "Accept": "application/json", **req.headers}
    aws_req = AWSRequest(method=req.method, url=url, data=req.body, headers=headers)
    SigV4Auth(creds, SIGNING_NAME, region).add_auth(aws_req)
    return url, {k: str(v) for k, v in aws_req.headers.items()}


def _model_path(model_id: str, suffix: str) -> str:
    return f"/model/{percent_encode(model_id)}/{suffix}"


def build_converse(model_id: str, payload: dict[str, Any], stream: bool) -> WireRequest:
    body = {k: v for k, v in payload.items() if k != "modelId"}
    op = "ConverseStream" if stream else "Converse"
    return WireRequest(RUNTIME, op, _model_path(model_id, "converse-stream" if stream else "converse"), _dumps(body))


def build_invoke(
    model_id: str,
    body: bytes,
    *,
    stream: bool,
    content_type: str = "application/json",
    accept: str = "application/json",
    guardrail: tuple[str, str] | None = None,
    trace: bool = False,
) -> WireRequest:
    headers = {"Content-Type": content_type, "Accept": accept if not stream else "application/json"}
    if stream:
        headers["X-Amzn-Bedrock-Accept"] = accept
    if guardrail:
        headers["X-Amzn-Bedrock-GuardrailIdentifier"] = guardrail[0]
        headers["X-Amzn-Bedrock-GuardrailVersion"] = guardrail[1]
        if trace:
            headers["X-Amzn-Bedrock-Trace"] = "ENABLED"
    op = "InvokeModelWithResponseStream" if stream else "InvokeModel"
    return WireRequest(
        RUNTIME, op, _model_path(model_id, "invoke-with-response-stream" if stream else "invoke"), body, headers
    )


def build_agent(agent_id: str, alias_id: str, session_id: str, payload: dict[str, Any]) -> WireRequest:
    path = (
        f"/agents/{percent_encode(agent_id)}/agentAliases/{percent_encode(alias_id)}"
        f"/sessions/{percent_encode(session_id)}/text"
    )
    return WireRequest(AGENT_RUNTIME, "InvokeAgent", path, _dumps(payload))


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_default).encode()


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def request_id(headers: Any) -> str | None:
    for name in ("x-amzn-requestid", "x-amzn-request-id", "x-amz-request-id"):
        value = headers.get(name)
        if value:
            return str(value)
    return None


def parse_error(status: int, headers: Any, body: bytes, operation: str, region: str) -> AwsCallError:
    """AWS rest-json error -> ``AwsCallError`` (code from ``x-amzn-errortype`` or the body)."""
    code = str(headers.get("x-amzn-errortype") or "").split(":", 1)[0]
    message = ""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = {}
    if isinstance(doc, dict):
        message = str(doc.get("message") or doc.get("Message") or "")
        code = code or str(doc.get("__type") or doc.get("code") or "").rsplit("#", 1)[-1]
    if not code:
        code = {
            400: "ValidationException",
            403: "AccessDeniedException",
            404: "ResourceNotFoundException",
            429: "ThrottlingException",
            503: "ServiceUnavailableException",
        }.get(status, "InternalServerException")
    return AwsCallError(code, message or code, status, request_id(headers), operation, region)


class EventDecoder:
    """Incremental ``application/vnd.amazon.eventstream`` decoder yielding ``(event_type, payload)``."""

    def __init__(self, operation: str, region: str) -> None:
        self._buf = EventStreamBuffer()
        self.operation = operation
        self.region = region

    def feed(self, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
        self._buf.add_data(data)
        for message in self._buf:
            headers = message.headers
            kind = headers.get(":message-type")
            payload = json.loads(message.payload or b"{}") if message.payload else {}
            if kind == "exception":
                code = str(headers.get(":exception-type", "InternalServerException"))
                code = code[0].upper() + code[1:]
                raise AwsCallError(code, str(payload.get("message", code)), None, None, self.operation, self.region)
            if kind == "error":
                code = str(headers.get(":error-code", "InternalServerException"))
                raise AwsCallError(
                    code, str(headers.get(":error-message", code)), None, None, self.operation, self.region
                )
            yield str(headers.get(":event-type", "")), payload


def decode_chunk(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of an InvokeModelWithResponseStream ``chunk`` event."""
    raw = base64.b64decode(payload.get("bytes", ""))
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        return {"raw": raw.decode("utf-8", "replace")}
    return doc if isinstance(doc, dict) else {"value": doc}


@cache
def operation_model(service: str, operation: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation)
