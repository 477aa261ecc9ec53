"""The Anthropic Messages API on the wire, mapped onto Bedrock's Anthropic InvokeModel body: requests
(``anthropic_version: bedrock-2023-05-31``, the ``anthropic-beta`` header as ``anthropic_beta``), streamed
events (each Bedrock ``chunk`` is one Anthropic event, re-sent as SSE), usage, and errors in Anthropic's shape
(``{"type": "error", "error": {"type", "message"}}``)."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from bedrockctl.runtime.types import Usage
from bedrockctl.server.gateway import errors

BEDROCK_VERSION = "bedrock-2023-05-31"
METRICS_KEY = "amazon-bedrock-invocationMetrics"
GUARDRAIL_ACTION = "amazon-bedrock-guardrailAction"
TRACE_KEY = "amazon-bedrock-trace"
REFUSAL = "refusal"  # the Messages API's stop_reason of a declined answer: a guardrail that intervened
# fields of the Messages API that Bedrock's Anthropic body does not take (the rest is passed on as it is)
_API_ONLY = frozenset({"model", "stream", "metadata", "service_tier", "container", "mcp_servers"})
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def parse(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise errors.validation("The request body is not valid JSON.") from None
    if not isinstance(doc, dict):
        raise errors.validation("The request body must be a JSON object.")
    model = doc.get("model")
    if not isinstance(model, str) or not model:
        raise errors.validation("model: Field required")
    if not isinstance(doc.get("messages"), list):
        raise errors.validation("messages: Field required")
    return doc


def betas(headers: dict[bytes, bytes]) -> list[str]:
    raw = headers.get(b"anthropic-beta", b"").decode("latin-1")
    return [b.strip() for b in raw.split(",") if b.strip()]


def to_bedrock(req: dict[str, Any], beta: list[str], default_max_tokens: int) -> tuple[dict[str, Any], int]:
    """The InvokeModel body for a Messages request, and its output limit (the default when the caller set none)."""
    body = {k: v for k, v in req.items() if k not in _API_ONLY}
    body["anthropic_version"] = BEDROCK_VERSION
    if beta:
        body["anthropic_beta"] = sorted({*beta, *(body.get("anthropic_beta") or [])})
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        if max_tokens is not None:
            raise errors.validation("max_tokens: Input should be a positive integer")
        max_tokens = body["max_tokens"] = default_max_tokens
    return body, max_tokens


def count_tokens_request(req: dict[str, Any], beta: list[str]) -> bytes:
    """Bedrock CountTokens for a ``/v1/messages/count_tokens`` body (the InvokeModel body it would send)."""
    body, _ = to_bedrock(req, beta, 1)
    invoke = base64.b64encode(orjson.dumps(body)).decode()
    return orjson.dumps({"input": {"invokeModel": {"body": invoke}}})


def usage_of(doc: dict[str, Any]) -> Usage:
    """Usage of a Messages response (``usage``: input, output, cache read, cache creation tokens)."""
    u = doc.get("usage") or {}
    return Usage(
        int(u.get("input_tokens") or 0),
        int(u.get("output_tokens") or 0),
        int(u.get("cache_read_input_tokens") or 0),
        int(u.get("cache_creation_input_tokens") or 0),
    ).split_anthropic(doc)  # 1-hour cache writes at their own rate


def message(raw: bytes, model: str) -> tuple[bytes, Usage]:
    """A Bedrock InvokeModel answer as the Messages API's answer (the requested model name, no Bedrock metrics)."""
    doc = orjson.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("the upstream answer is not a JSON object")
    doc.pop(METRICS_KEY, None)
    if guardrail_intervened(doc):
        doc["stop_reason"] = REFUSAL
    doc["model"] = model
    return orjson.dumps(doc), usage_of(doc)


def guardrail_intervened(doc: dict[str, Any]) -> bool:
    """Drop Bedrock's guardrail fields from an answer or a stream event; True when the guardrail intervened (the
    answer's text is then the guardrail's blocked message)."""
    doc.pop(TRACE_KEY, None)
    return bool(doc.pop(GUARDRAIL_ACTION, None) == "INTERVENED")


class StreamWriter:
    """Bedrock ``chunk`` events -> Anthropic SSE events; keeps the usage they report."""

    __slots__ = ("finished", "held", "model", "usage")

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage = Usage()
        self.finished = False
        self.held: dict[str, Any] | None = None  # message_delta, sent with the next event (which may say refusal)

    def chunk(self, payload: dict[str, Any]) -> bytes:
        try:
            doc = orjson.loads(base64.b64decode(payload.get("bytes", "")))
        except (ValueError, TypeError):
            return b""
        if not isinstance(doc, dict):
            return b""
        kind = str(doc.get("type", ""))
        metrics = doc.pop(METRICS_KEY, None)
        refused = guardrail_intervened(doc)  # Bedrock says so on the last event
        if kind == "message_start":
            msg = doc.get("message") or {}
            msg["model"] = self.model
            start = usage_of(msg)
            self.usage.input_tokens = start.input_tokens
            self.usage.cache_read_tokens = start.cache_read_tokens
            self.usage.cache_write_tokens = start.cache_write_tokens
            self.usage.cache_write_1h_tokens = start.cache_write_1h_tokens
            self.usage.output_tokens = start.output_tokens
        elif kind == "message_delta":
            out = (doc.get("usage") or {}).get("output_tokens")
            if isinstance(out, int):
                self.usage.output_tokens = out
        elif kind == "message_stop":
            self.finished = True
        if isinstance(metrics, dict):  # Bedrock's own count, on the last event: the one that is billed
            self.usage = Usage(
                int(metrics.get("inputTokenCount", 0)),
                int(metrics.get("outputTokenCount", 0)),
                int(metrics.get("cacheReadInputTokenCount", 0)),
                int(metrics.get("cacheWriteInputTokenCount", 0)),
            )
        if kind == "message_delta":  # held back: the guardrail's verdict comes on the last event
            self.held = doc
        if refused and self.held is not None:
            self.held.setdefault("delta", {})["stop_reason"] = REFUSAL
        if kind == "message_delta":
            return b""
        held, self.held = self.held, None
        return (sse("message_delta", held) if held is not None else b"") + sse(kind, doc)


def sse(kind: str, doc: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(doc) + b"\n\n"


def error_doc(err: errors.GatewayError) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(err.openai_status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}}


def error(err: errors.GatewayError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """``err`` as the Messages API answers it (the status an OpenAI caller would get: 401 for a bad key, 429 for a
    budget or a limit, 413, 502 for an upstream failure)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"request-id", request_id.encode()),
        *[(k.encode(), v.encode()) for k, v in err.headers.items()],
    ]
    return err.openai_status, headers, orjson.dumps(error_doc(err))
