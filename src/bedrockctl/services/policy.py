"""Least-privilege IAM policies for bedrockctl's features (``bedrockctl policy``).

``build_policy(...)`` turns the features asked for (``policy_features``) into a policy document whose resources are
as narrow as AWS allows (``policy_resources``: foundation-model ARNs in the Region, inference-profile ARNs **and**
the foundation models a profile routes to in each member Region, agents and agent aliases), with the conditions
asked for (principal tags, source CIDRs or VPC endpoints, the invoke guards of ``policy_guards``) and warnings when
the document is too broad or too big for the kind of policy it will be.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.errors import ValidationFailed
from bedrockctl.services.policy_features import FEATURE_NAMES, FEATURES, parse_features
from bedrockctl.services.policy_guards import INVOKE_ACTIONS, InvokeGuards
from bedrockctl.services.policy_resources import feature_resources

MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded
INLINE_USER_POLICY_LIMIT = 2048


@dataclass
class PolicyStatement:
    sid: str
    actions: list[str]
    resources: list[str]
    reason: str
    resource_reasons: dict[str, str] = field(default_factory=dict)
    condition: dict[str, dict[str, Any]] = field(default_factory=dict)
    effect: str = "Allow"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": self.effect,
            "Action": self.actions if len(self.actions) > 1 else self.actions[0],
            "Resource": self.resources if len(self.resources) > 1 else self.resources[0],
        }
        if self.condition:
            out["Condition"] = self.condition
        return out


@dataclass
class PolicyResult:
    statements: list[PolicyStatement]
    warnings: list[str]

    @property
    def document(self) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [s.to_dict() for s in self.statements]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.document, indent=indent)

    def explain(self) -> list[dict[str, Any]]:
        return [
            {
                "sid": s.sid,
                "reason": s.reason,
                "actions": s.actions,
                "resources": s.resources,
                "resource_reasons": s.resource_reasons,
                "condition": s.condition,
            }
            for s in self.statements
        ]


def _conditions(
    require_tags: dict[str, str], source_cidrs: Sequence[str], vpc_endpoints: Sequence[str], warnings: list[str]
) -> dict[str, dict[str, Any]]:
    cond: dict[str, dict[str, Any]] = {}
    if require_tags:
        cond["StringEquals"] = {f"aws:PrincipalTag/{k}": v for k, v in require_tags.items()}
    if source_cidrs:
        for cidr in source_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValidationFailed(
                    f"--source-cidr {cidr!r} is not a CIDR block", remediation="Pass a CIDR such as 10.0.0.0/8."
                ) from exc
        cond["IpAddress"] = {"aws:SourceIp": list(source_cidrs) if len(source_cidrs) > 1 else source_cidrs[0]}
    if vpc_endpoints:
        for vpce in vpc_endpoints:
            if not re.fullmatch(r"vpce-[0-9a-f]{8,17}", vpce):
                raise ValidationFailed(
                    f"--vpc-endpoint {vpce!r} is not a VPC endpoint id",
                    remediation="Pass an id such as vpce-0123456789abcdef0.",
                )
        cond.setdefault("StringEquals", {})["aws:SourceVpce"] = (
            list(vpc_endpoints) if len(vpc_endpoints) > 1 else vpc_endpoints[0]
        )
    if source_cidrs and vpc_endpoints:
        warnings.append(
            "aws:SourceIp is not set for requests that arrive through a VPC endpoint: with both "
            "--source-cidr and --vpc-endpoint no request can satisfy the conditions. Use one."
        )
    return cond


def build_policy(
    features: str | Iterable[str],
    *,
    models: Sequence[str] = (),
    region: str | None = None,
    account_id: str | None = None,
    agent_ids: Sequence[str] = (),
    require_tags: dict[str, str] | None = None,
    source_cidrs: Sequence[str] = (),
    vpc_endpoints: Sequence[str] = (),
    guards: InvokeGuards | None = None,
) -> PolicyResult:
    names = parse_features(features)
    if not names:
        raise ValidationFailed("No feature asked for", remediation=f"Pass --features {','.join(FEATURE_NAMES)}.")
    region = region or "*"
    account = account_id or "*"
    warnings: list[str] = []
    if account == "*":
        warnings.append("The account id is unknown (no credentials?): ARNs use '*' for the account; pass --account.")
    condition = _conditions(dict(require_tags or {}), source_cidrs, vpc_endpoints, warnings)
    statements: list[PolicyStatement] = []
    for name in names:
        for i, (actions, kind, reason) in enumerate(FEATURES[name]):
            resources = feature_resources(kind, models, agent_ids, region, account, warnings)
            sid = re.sub(r"[^A-Za-z0-9]", "", name.title()) + (str(i + 1) if len(FEATURES[name]) > 1 else "")
            invoke = guards is not None and any(a in INVOKE_ACTIONS for a in actions)
            extra = guards.invoke_condition(account) if guards is not None and invoke else {}
            statements.append(
                PolicyStatement(
                    sid=f"Bedrockctl{sid}",
                    actions=list(actions),
                    resources=list(resources),
                    reason=reason,
                    resource_reasons=resources,
                    condition=_merged(condition, extra),
                )
            )
    if guards is not None:
        invoke_resources = [r for s in statements if set(s.actions) & set(INVOKE_ACTIONS) for r in s.resources]
        for extra_stmt in guards.statements(invoke_resources):
            statements.append(
                PolicyStatement(
                    sid=extra_stmt["sid"],
                    actions=extra_stmt["actions"],
                    resources=extra_stmt["resources"],
                    reason=extra_stmt["reason"],
                    condition=_merged(condition if extra_stmt["effect"] == "Allow" else {}, extra_stmt["condition"]),
                    effect=extra_stmt["effect"],
                )
            )
    result = PolicyResult(statements, warnings)
    size = len(re.sub(r"\s", "", result.to_json(indent=None)))
    if size > MANAGED_POLICY_LIMIT:
        warnings.append(
            f"The policy is {size} characters: over the {MANAGED_POLICY_LIMIT}-character limit of a "
            "managed policy; split it by feature."
        )
    elif size > INLINE_USER_POLICY_LIMIT:
        warnings.append(
            f"The policy is {size} characters: too big for an inline user policy "
            f"({INLINE_USER_POLICY_LIMIT}); attach it as a managed policy."
        )
    return result


def _merged(base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {op: dict(clauses) for op, clauses in base.items()}
    for op, clauses in extra.items():
        out.setdefault(op, {}).update(clauses)
    return out


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise ValidationFailed(f"--require-tag {value!r} is not KEY=VALUE", remediation="Pass e.g. team=search.")
        out[key] = val
    return out
