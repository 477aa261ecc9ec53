"""The contract between the sandbox server (dispatch, identity, side effects) and our service handlers.

A handler is a function ``handler(req: SandboxRequest, **path_params) -> SandboxResponse`` registered on the
module-level ``ROUTER`` with ``@ROUTER.route(service, method, path_regex)``. The server matches the
SigV4 credential-scope service (``bedrock``, ``bedrock-runtime``, ``bedrock-agent``, ``bedrock-agent-runtime``,
``cloudtrail``, ...) and the path; a request no route matches goes to moto. Handlers raise ``AwsError`` for
AWS-shaped errors; the server renders it in the protocol of the service. Operations of JSON-protocol services
register on ``TARGETS`` (matched on ``X-Amz-Target``), those of query-protocol services on ``ACTIONS``
(matched on the ``Action`` form field).

Runtime handlers report each model invocation with ``req.sandbox.record_invocation(InvocationRecord(...))``;
the server turns it into the invocation log record, the CloudTrail event and the CloudWatch metrics.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


class AwsError(Exception):
    """An error AWS would return: ``code`` is the exact AWS error code (``ValidationException`` ...)."""

    def __init__(self, code: str, message: str, status: int = 400, *, sender_fault: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = sender_fault


@dataclass(frozen=True)
class Caller:
    """Who signed the request, derived from the access key the way AWS would record it in CloudTrail."""

    account_id: str
    arn: str
    principal_type: str  # IAMUser | AssumedRole | Root | FederatedUser
    principal_id: str
    access_key_id: str
    user_name: str | None = None
    session_issuer_arn: str | None = None


@dataclass
class InvocationRecord:
    """One runtime call, as the side-effect writers need it."""

    operation: str  # Converse | ConverseStream | InvokeModel | InvokeModelWithResponseStream | InvokeAgent
    model_id: str  # as the caller passed it (model id, profile id or ARN)
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms: int = 0
    inference_region: str | None = None  # set when a cross-region profile routed elsewhere
    request_metadata: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None  # set when the call failed (then no invocation log, but a trail event)
    input_body: Any = None
    output_body: Any = None
    cache_details: list[dict[str, Any]] = field(default_factory=list)  # TokenUsage.cacheDetails: writes per TTL
    service_tier: str | None = None  # priority | default | flex | reserved, when the request named one
    guardrail_usage: dict[str, int] | None = None  # GuardrailUsage units, input and output assessments summed


class SandboxHooks(Protocol):
    def record_invocation(self, req: SandboxRequest, record: InvocationRecord) -> None: ...


@dataclass
class SandboxRequest:
    method: str
    path: str  # URL-decoded path, e.g. /model/anthropic.claude-3-haiku-20240307-v1:0/converse
    raw_path: str  # as sent on the wire (percent-encoded)
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    service: str
    region: str
    caller: Caller
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sandbox: Any = None  # the running Sandbox (state + hooks)

    @property
    def account_id(self) -> str:
        return self.caller.account_id

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise AwsError("ValidationException", f"Malformed input request: {exc}") from exc

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class SandboxResponse:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> SandboxResponse:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return cls(status=status, body=json.dumps(payload, default=str).encode(), headers=hdrs)


Handler = Callable[..., SandboxResponse]


@dataclass
class Route:
    service: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, service: str, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method`` on ``path`` (a regex with named groups, anchored)."""

        def deco(fn: Handler) -> Handler:
            self.routes.append(Route(service, method.upper(), re.compile(f"^{path}$"), fn))
            return fn

        return deco

    def match(self, service: str, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for r in self.routes:
            if r.service == service and r.method == method.upper():
                m = r.pattern.match(path)
                if m:
                    return r.handler, m.groupdict()
        return None


ROUTER = Router()


# --- JSON-protocol (X-Amz-Target) and query-protocol (Action) operations ---------------------------------

TargetHandler = Callable[[SandboxRequest], "SandboxResponse | None"]  # None: moto answers


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
