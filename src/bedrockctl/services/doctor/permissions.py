"""Permission checks: the IAM actions each feature needs, via iam:SimulatePrincipalPolicy, else harmless probes."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bedrockctl.aws.errors import error_code, error_message
from bedrockctl.services.doctor.model import Check, Facts, Severity, skipped_without_credentials
from bedrockctl.services.policy_features import feature_actions
from bedrockctl.services.policy_resources import model_resources

_ASSUMED = re.compile(r"^arn:(?P<p>aws[a-z-]*):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[^/]+)/")
_DENIED = re.compile(r"not authorized to perform:?\s+([\w-]+:[\w*]+)", re.I)


def _code(exc: BaseException) -> str:
    return error_code(exc) or type(exc).__name__


def _message(exc: BaseException) -> str:
    return error_message(exc)


def _is_denied(exc: BaseException) -> bool:
    return _code(exc) in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation") and (
        "access to the model" not in _message(exc).lower()
    )


def principal_arn(facts: Facts) -> str:
    """The IAM ARN to simulate: the user, or the role behind an assumed-role session (with its path)."""
    assert facts.identity is not None
    m = _ASSUMED.match(facts.identity.arn)
    if not m:
        return facts.identity.arn
    try:
        return str(facts.client("iam").get_role(RoleName=m.group("role"))["Role"]["Arn"])
    except Exception:
        return f"arn:{m.group('p')}:iam::{m.group('acct')}:role/{m.group('role')}"


def _models(facts: Facts) -> list[str]:
    return [m for m in facts.options.models if m != "all"]


def _resources(facts: Facts, feature: str) -> list[str]:
    if feature != "invoke" or not _models(facts):
        return ["*"]
    account = facts.identity.account if facts.identity else "*"
    out: list[str] = []
    for model in _models(facts):
        try:
            out += [a for a in model_resources(model, facts.region or "*", account) if a not in out]
        except Exception:  # noqa: S112 - an invalid id is the models check's finding
            continue
    return out or ["*"]


def _simulate(facts: Facts, features: list[str]) -> dict[str, dict[str, list[str]]]:
    """feature -> {"allowed": [...], "missing": ["action on resource", ...]}; raises when not allowed."""
    iam = facts.client("iam")
    source = principal_arn(facts)
    out: dict[str, dict[str, list[str]]] = {}
    for feature in features:
        resp = iam.simulate_principal_policy(
            PolicySourceArn=source, ActionNames=feature_actions(feature), ResourceArns=_resources(facts, feature)
        )
        allowed: list[str] = []
        missing: list[str] = []
        for r in resp.get("EvaluationResults", []):
            name = f"{r['EvalActionName']} on {r.get('EvalResourceName', '*')}"
            if r["EvalDecision"] == "allowed":
                allowed.append(name)
            else:
                missing.append(name + (" (explicit deny)" if r["EvalDecision"] == "explicitDeny" else ""))
        out[feature] = {"allowed": allowed, "missing": missing}
    return out


def _invoke_probe(facts: Facts, model: str) -> Any:
    probe = [{"role": "assistant", "content": [{"text": "probe"}]}]  # invalid on purpose: no tokens spent
    return facts.client("bedrock-runtime").converse(modelId=model, messages=probe, inferenceConfig={"maxTokens": 1})


def _probes(facts: Facts) -> dict[str, list[tuple[str, Callable[[], Any]]]]:
    account = facts.identity.account if facts.identity else ""
    now = datetime.now(UTC).date()
    invoke: list[tuple[str, Callable[[], Any]]] = [
        (f"bedrock:InvokeModel on {m}", functools.partial(_invoke_probe, facts, m)) for m in _models(facts)
    ]
    return {
        "discover": [
            ("bedrock:ListFoundationModels", lambda: facts.client("bedrock").list_foundation_models()),
            ("bedrock:ListInferenceProfiles", lambda: facts.client("bedrock").list_inference_profiles(maxResults=1)),
        ],
        "invoke": invoke,
        "agents": [("bedrock:ListAgents", lambda: facts.client("bedrock-agent").list_agents(maxResults=1))],
        "usage": [
            ("cloudtrail:LookupEvents", lambda: facts.client("cloudtrail").lookup_events(MaxResults=1)),
            (
                "bedrock:GetModelInvocationLoggingConfiguration",
                lambda: facts.client("bedrock").get_model_invocation_logging_configuration(),
            ),
            ("cloudwatch:ListMetrics", lambda: facts.client("cloudwatch").list_metrics(Namespace="AWS/Bedrock")),
        ],
        "budgets": [
            (
                "budgets:ViewBudget",
                lambda: facts.client("budgets", "us-east-1").describe_budgets(AccountId=account, MaxResults=1),
            ),
            (
                "ce:GetCostAndUsage",
                lambda: facts.client("ce", "us-east-1").get_cost_and_usage(
                    TimePeriod={"Start": str(now - timedelta(days=1)), "End": str(now)},
                    Granularity="DAILY",
                    Metrics=["UnblendedCost"],
                ),
            ),
        ],
        "sagemaker": [("sagemaker:ListEndpoints", lambda: facts.client("sagemaker").list_endpoints(MaxResults=1))],
    }


def _probe(facts: Facts, feature: str) -> dict[str, list[str]]:
    allowed: list[str] = []
    missing: list[str] = []
    notes: list[str] = []
    for action, call in _probes(facts).get(feature, []):
        try:
            call()
            allowed.append(action)
        except Exception as exc:
            if _is_denied(exc):
                m = _DENIED.search(_message(exc))
                missing.append(f"{m.group(1) if m else action} ({_code(exc)})")
            else:  # authorised: the request got past IAM and failed on something else
                allowed.append(action)
                notes.append(f"{action}: {_code(exc)}")
    return {"allowed": allowed, "missing": missing, "notes": notes}


def permission_checks(facts: Facts) -> list[Check]:
    features = list(dict.fromkeys(facts.options.features + (["agents"] if facts.options.agent_id else [])))
    if not facts.credentials_ok:
        return [skipped_without_credentials("permissions", "IAM permissions", "high", target=f) for f in features]
    method = "iam:SimulatePrincipalPolicy"
    try:
        results = _simulate(facts, features)
    except Exception as exc:
        method = f"harmless probes (iam:SimulatePrincipalPolicy unavailable: {_code(exc)})"
        results = {f: _probe(facts, f) for f in features}
    out: list[Check] = []
    models = " ".join(f"--model {m}" for m in _models(facts))
    who = facts.identity.arn if facts.identity else "the caller"
    for feature in features:
        r = results[feature]
        kw: dict[str, Any] = {"target": feature, "region": facts.region, "data": {"method": method.split(" (")[0], **r}}
        severity: Severity = "high" if feature in ("discover", "invoke", "agents") else "medium"
        if feature == "invoke" and not r["allowed"] and not r["missing"]:
            out.append(
                Check(
                    "permissions",
                    f"IAM permissions for {feature}",
                    severity,
                    "skip",
                    "No model to probe: pass --model.",
                    **kw,
                )
            )
        elif r["missing"]:
            out.append(
                Check(
                    "permissions",
                    f"IAM permissions for {feature}",
                    severity,
                    "fail",
                    f"Checked with {method}. Missing: {'; '.join(r['missing'])}.",
                    f"Attach the policy printed by `bedrockctl policy --features {feature}"
                    f"{' ' + models if models and feature == 'invoke' else ''}` to {who} "
                    "(aws iam put-user-policy / put-role-policy).",
                    **kw,
                )
            )
        else:
            out.append(
                Check(
                    "permissions",
                    f"IAM permissions for {feature}",
                    severity,
                    "pass",
                    f"Checked with {method}: {len(r['allowed'])} action(s) allowed.",
                    **kw,
                )
            )
    return out
