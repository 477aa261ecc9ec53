"""Gateway errors, answered in the caller's protocol (Bedrock's x-amzn-ErrorType + JSON, or OpenAI's JSON)."""

from __future__ import annotations

import time
from typing import Any

import orjson

_BEDROCK_NS = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        bedrock_code: str,
        message: str,
        *,
        openai_status: int | None = None,
        openai_type: str | None = None,
        openai_code: str | None = None,
        headers: dict[str, str] | None = None,
        audit_status: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.param = param  # the request field at fault (OpenAI's ``error.param``)
        self.status = status
        self.bedrock_code = bedrock_code
        self.message = message
        self.openai_status = openai_status or status
        self.openai_type = openai_type or _OPENAI_TYPES.get(self.openai_status, "api_error")
        self.openai_code = openai_code
        self.headers = headers or {}
        self.audit_status = audit_status or bedrock_code

    def bedrock(self, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", (self.bedrock_code + _BEDROCK_NS).encode()),
            (b"x-amzn-requestid", request_id.encode()),
            *[(k.encode(), v.encode()) for k, v in self.headers.items()],
        ]
        return self.status, headers, orjson.dumps({"message": self.message})

    def openai(self, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = [
            (b"content-type", b"application/json"),
            (b"x-request-id", request_id.encode()),
            *[(k.encode(), v.encode()) for k, v in self.headers.items()],
        ]
        error = {"message": self.message, "type": self.openai_type, "param": self.param, "code": self.openai_code}
        body = {"error": error}
        return self.openai_status, headers, orjson.dumps(body)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def unauthenticated(message: str = "The security token included in the request is invalid.") -> GatewayError:
    return GatewayError(
        403,
        "UnrecognizedClientException",
        message,
        openai_status=401,
        openai_code="invalid_api_key",
        audit_status="unauthenticated",
    )


def bad_signature(message: str) -> GatewayError:
    return GatewayError(
        403,
        "InvalidSignatureException",
        message,
        openai_status=401,
        openai_code="invalid_api_key",
        audit_status="bad_signature",
    )


def key_expired(key_id: str) -> GatewayError:
    return GatewayError(
        403,
        "ExpiredTokenException",
        f"The gateway key {key_id} has expired.",
        openai_status=401,
        openai_code="expired_api_key",
        audit_status="key_expired",
    )


def key_revoked(key_id: str) -> GatewayError:
    return GatewayError(
        403,
        "AccessDeniedException",
        f"The gateway key {key_id} has been revoked.",
        openai_status=401,
        openai_code="revoked_api_key",
        audit_status="key_revoked",
    )


def model_not_allowed(model: str, why: str) -> GatewayError:
    return GatewayError(
        403,
        "AccessDeniedException",
        f"Model {model} is not allowed for this key: {why}.",
        openai_code="model_not_allowed",
        audit_status="model_not_allowed",
    )


def validation(
    message: str, *, openai_status: int = 400, openai_code: str | None = None, param: str | None = None
) -> GatewayError:
    return GatewayError(
        400,
        "ValidationException",
        message,
        openai_status=openai_status,
        openai_code=openai_code,
        audit_status="invalid_request",
        param=param,
    )


def over_budget(
    label: str, limit_usd: float, hard_stop_pct: float, resets_at: float, scope: str, *, closed: bool = False
) -> GatewayError:
    """A budget's refusal: spent to its hard stop, or ``closed`` after a call cost more than it reserved."""
    if closed:
        msg = (
            f"Budget closed: a call cost more than it reserved on {label} of ${limit_usd:,.2f}, so the budget is "
            f"closed until {iso(resets_at)} (an administrator was alerted)."
        )
    else:
        msg = (
            f"Budget exceeded: {label} of ${limit_usd:,.2f} reached its hard stop at {hard_stop_pct:g}%; "
            f"it resets at {iso(resets_at)}."
        )
    return GatewayError(
        400,
        "ServiceQuotaExceededException",
        msg,
        openai_status=429,
        openai_type="insufficient_quota",
        openai_code="budget_exceeded",
        headers={"x-bedrockctl-budget": scope, "x-bedrockctl-budget-resets": iso(resets_at)},
        audit_status="budget_exceeded",
    )


def rate_limited(label: str, limit: float, resets_at: float, scope: str) -> GatewayError:
    wait = max(int(resets_at - time.time()) + 1, 1)
    msg = f"Rate limit exceeded: {label} ({limit:g}); retry after {wait} s (window resets at {iso(resets_at)})."
    return GatewayError(
        429,
        "ThrottlingException",
        msg,
        openai_code="rate_limit_exceeded",
        headers={"retry-after": str(wait), "x-bedrockctl-limit": scope},
        audit_status="rate_limited",
    )


def unknown_operation(method: str, path: str) -> GatewayError:
    return GatewayError(
        404,
        "UnknownOperationException",
        f"Unknown operation: {method} {path}",
        openai_type="invalid_request_error",
        openai_code="unknown_url",
        audit_status="unknown_operation",
    )


def too_large(limit: int) -> GatewayError:
    return GatewayError(
        413,
        "ValidationException",
        f"The request body is larger than the gateway accepts ({limit // (1 << 20)} MiB).",
        openai_type="invalid_request_error",
        openai_code="request_too_large",
        headers={"connection": "close"},  # the rest of the body is not read
        audit_status="too_large",
    )


def body_timeout(seconds: float) -> GatewayError:
    return GatewayError(
        408,
        "RequestTimeoutException",
        f"The request body stalled for {seconds:g} s; send it without pauses.",
        openai_type="invalid_request_error",
        openai_code="request_timeout",
        headers={"connection": "close"},
        audit_status="body_timeout",
    )


def upstream(code: str, message: str, status: int | None) -> GatewayError:
    status = status or 502
    openai_status = {400: 400, 403: 403, 404: 404, 429: 429}.get(status, 502 if status >= 500 else status)
    return GatewayError(status, code, message, openai_status=openai_status, openai_code=code, audit_status=code)


def as_dict(err: GatewayError) -> dict[str, Any]:
    return {"status": err.status, "code": err.bedrock_code, "message": err.message}
