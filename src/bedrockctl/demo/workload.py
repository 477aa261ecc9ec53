"""The demo's synthetic workload: several users and teams, three client protocols, one budget that trips and one
throttled Region that fails over.

Every client is built with what it needs passed in (endpoint, key, the CA to trust): nothing is read from or
written to ``os.environ``. Each client error is sorted: the ones the demo provokes on purpose (the dev budget
refusing calls) are *expected* and counted by code; any other is *unexpected*, named, and fails the step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.demo.gateway import REGION, RunningServer
from bedrockctl.security.tls import LocalTLS

# (user, team, environment, protocol, workflow, model, calls)
WORKLOAD: tuple[tuple[str, str, str, str, str, str, int], ...] = (
    ("alice", "search", "prod", "boto3-sigv4", "rag-answers", "us.anthropic.claude-haiku-4-5-20251001-v1:0", 12),
    ("alice", "search", "prod", "openai", "query-rewrite", "amazon.nova-lite-v1:0", 8),
    ("bob", "support", "prod", "openai", "ticket-triage", "anthropic.claude-3-haiku-20240307-v1:0", 12),
    ("bob", "support", "prod", "boto3-bearer", "summaries", "us.anthropic.claude-haiku-4-5-20251001-v1:0", 6),
    ("carol", "platform", "dev", "boto3-bearer", "code-review", "us.anthropic.claude-sonnet-4-20250514-v1:0", 20),
)
PROMPTS = (
    "Summarise the customer's last three tickets in two sentences.",
    "Rewrite this search query for a product catalogue: waterproof hiking boots size 44.",
    "Review this diff and list risky changes: + retries = 0",
    "Classify the sentiment of: the new release fixed my issue, thanks!",
)
# What the gateway answers when a budget refuses a call, per protocol: the demo's dev budget trips on purpose.
BUDGET_CODES = frozenset({"ServiceQuotaExceededException", "insufficient_quota"})


@dataclass
class WorkloadResult:
    calls: int = 0
    refused_by_budget: int = 0
    expected: dict[str, int] = field(default_factory=dict)  # error code -> count, provoked on purpose
    errors: dict[str, int] = field(default_factory=dict)  # unexpected error code -> count
    error_messages: dict[str, str] = field(default_factory=dict)  # unexpected error code -> first message
    by_user: dict[str, int] = field(default_factory=dict)
    by_protocol: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, dict) else v for k, v in self.__dict__.items()}

    def describe_errors(self) -> str:
        """``"InvalidEndpointConfigurationError x26 (Bearer authorization requires an HTTPS endpoint)"``."""
        return "; ".join(
            f"{code} x{n} ({self.error_messages.get(code, '')})" for code, n in sorted(self.errors.items())
        )


def make_client(protocol: str, url: str, key: dict[str, Any], tls: LocalTLS) -> Any:
    """A client as a user of the gateway builds it, trusting the demo's CA (verification stays on)."""
    from botocore.config import Config

    from bedrockctl.aws.callers import gateway_runtime_client

    if protocol == "openai":
        import openai

        # the SDK's own HTTP client (its defaults), told which CA to trust and to ignore proxy variables
        http = openai.DefaultHttpxClient(verify=tls.client_context(), trust_env=False, timeout=60)
        return openai.OpenAI(api_key=key["token"], base_url=f"{url}/v1", max_retries=0, http_client=http)
    cfg = Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60, proxies={})
    if protocol == "boto3-bearer":
        return gateway_runtime_client(url, region=REGION, ca_bundle=tls.ca_cert, bearer_token=key["token"], config=cfg)
    return gateway_runtime_client(
        url,
        region=REGION,
        ca_bundle=tls.ca_cert,
        access_key_id=key["aws_access_key_id"],
        secret_access_key=key["aws_secret_access_key"],
        config=cfg,
    )


def _call(protocol: str, client: Any, model: str, prompt: str, tags: dict[str, str]) -> None:
    if protocol == "openai":
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], max_tokens=300, user=tags.get("user")
        )
        return
    client.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        inferenceConfig={"maxTokens": 300},
        requestMetadata=tags,
    )


def error_code(exc: Exception) -> str:
    """The code a client error carries (botocore ``Error.Code``, OpenAI ``error.code``), else its class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("code"):
            return str(err["code"])
    return type(exc).__name__


def run_workload(server: RunningServer, tls: LocalTLS) -> WorkloadResult:
    """Drive the workload through the gateway's HTTPS listener, each user with their own key and protocol."""
    result = WorkloadResult()
    keys: dict[tuple[str, str, str], dict[str, Any]] = {}
    for i, (user, team, env, protocol, workflow, model, n) in enumerate(WORKLOAD):
        key = keys.get((user, team, env))
        if key is None:
            key = keys[(user, team, env)] = server.gateway.keys.create(user=user, team=team, environment=env)
            result.keys.append(key["key_id"])
        tags = {"team": team, "workflow": workflow, "user": user}
        client = make_client(protocol, server.tls_url, key, tls)
        try:
            _drive(result, protocol, client, user, model, tags, i, n)
        finally:
            close = getattr(client, "close", None)
            if close is not None:
                close()
    server.flush()
    return result


def _drive(
    result: WorkloadResult, protocol: str, client: Any, user: str, model: str, tags: dict[str, str], i: int, n: int
) -> None:
    expected, errors = Counter(result.expected), Counter(result.errors)
    for j in range(n):
        try:
            _call(protocol, client, model, PROMPTS[(i + j) % len(PROMPTS)] + f" (#{j})", tags)
        except Exception as exc:  # sorted below: an unexpected one fails the workload step, by name
            code = error_code(exc)
            if code in BUDGET_CODES:
                result.refused_by_budget += 1
                expected[code] += 1
            else:
                errors[code] += 1
                result.error_messages.setdefault(code, str(exc)[:300])
            continue
        result.calls += 1
        result.by_user[user] = result.by_user.get(user, 0) + 1
        result.by_protocol[protocol] = result.by_protocol.get(protocol, 0) + 1
    result.expected, result.errors = dict(expected), dict(errors)
