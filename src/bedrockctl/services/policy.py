"""Least-privilege IAM policies for bedrockctl's features (``bedrockctl policy``), and the actions they need.

``FEATURES`` says which IAM actions each feature needs and on which resources; ``build_policy(...)`` turns the
features asked for into a policy document whose resources are as narrow as AWS allows: foundation-model ARNs in
the Region, inference-profile ARNs **and** the foundation models a profile routes to in each member Region (AWS
authorises both), agents and agent aliases. ``bedrockctl doctor`` uses ``feature_actions`` to know what to check.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.catalog import get_model, get_profile, load_catalog, parse_model_ref
from bedrockctl.errors import ValidationFailed
from bedrockctl.runtime.resolve import canonical_model_id
from bedrockctl.services.policy_guards import INVOKE_ACTIONS, InvokeGuards

FEATURE_NAMES = (
    "discover",
    "accounts",
    "invoke",
    "agents",
    "usage",
    "budgets",
    "sagemaker",
    "backstop",
    "pricing",
    "doctor",
)
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded
INLINE_USER_POLICY_LIMIT = 2048

# feature -> [(actions, resource kind, reason)]; kinds are resolved by _resources()
FEATURES: dict[str, list[tuple[tuple[str, ...], str, str]]] = {
    "discover": [
        (
            (
                "bedrock:ListFoundationModels",
                "bedrock:GetFoundationModel",
                "bedrock:ListInferenceProfiles",
                "bedrock:GetInferenceProfile",
                "bedrock:GetFoundationModelAvailability",
                "bedrock:ListCustomModels",
                "bedrock:ListImportedModels",
                "bedrock:ListProvisionedModelThroughputs",
                "bedrock:ListGuardrails",
                "bedrock:ListAgents",
                "bedrock:ListAgentAliases",
                "bedrock:ListKnowledgeBases",
                "bedrock:ListTagsForResource",
                "bedrock:GetModelInvocationLoggingConfiguration",
                "cloudwatch:GetMetricStatistics",
            ),
            "*",
            "Discover models, inference profiles, custom and imported models, provisioned throughput, guardrails, "
            "agents and knowledge bases with their tags and the logging configuration, and the idle capacity's "
            "invocation metrics; the List* actions support no resource-level permissions, so the resource is '*'.",
        ),
    ],
    "accounts": [
        (
            ("organizations:DescribeOrganization", "organizations:ListAccounts"),
            "*",
            "List the organization's accounts (--accounts org); no resource-level permissions.",
        ),
        (
            ("sts:AssumeRole",),
            "roles",
            "Enter the other accounts --accounts names through --role-name (name the role to narrow it).",
        ),
    ],
    "invoke": [
        (
            ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
            "models",
            "Invoke (Converse/InvokeModel) and stream (ConverseStream/InvokeModelWithResponseStream) the named "
            "models only. Calls through an inference profile are authorised on the profile ARN and on the "
            "foundation model in every Region the profile routes to.",
        )
    ],
    "agents": [
        (
            ("bedrock:InvokeAgent",),
            "agent-aliases",
            "Invoke agents through their aliases (InvokeAgent is authorised on the agent-alias ARN).",
        ),
        (
            ("bedrock:GetAgent", "bedrock:GetAgentAlias", "bedrock:ListAgentAliases"),
            "agents",
            "Read agent and alias status for doctor and inventory.",
        ),
        (("bedrock:ListAgents",), "*", "ListAgents supports no resource-level permissions."),
    ],
    "usage": [
        (
            (
                "cloudtrail:LookupEvents",
                "bedrock:GetModelInvocationLoggingConfiguration",
                "cloudwatch:GetMetricData",
                "cloudwatch:GetMetricStatistics",
                "cloudwatch:ListMetrics",
                "cloudwatch:PutMetricData",
                "servicequotas:ListServiceQuotas",
                "servicequotas:ListAWSDefaultServiceQuotas",
                "servicequotas:GetServiceQuota",
                "ce:GetCostAndUsage",
            ),
            "*",
            "Read CloudTrail events, the invocation-logging configuration, Bedrock CloudWatch metrics and quotas, "
            "publish usage metrics (usage publish-metrics) and read Bedrock cost to reconcile (cost reconcile); none "
            "of these support resource-level permissions.",
        ),
        (
            ("logs:StartQuery", "logs:GetQueryResults", "logs:FilterLogEvents"),
            "log-groups",
            "Query the model invocation log group.",
        ),
    ],
    "budgets": [
        (
            ("budgets:ViewBudget", "budgets:ModifyBudget"),
            "budgets",
            "Read the account's budgets and keep them in step with the configuration (budget sync); Describe* is "
            "budgets:ViewBudget, Create*/Update* are budgets:ModifyBudget.",
        ),
        (
            ("ce:GetCostAndUsage", "ce:GetCostForecast"),
            "*",
            "Read Bedrock cost from Cost Explorer (no resource-level permissions).",
        ),
    ],
    "backstop": [
        (
            ("iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy"),
            "iam-principals",
            "The budget backstop denies bedrock:Invoke* to users and role sessions past a budget, and lifts it "
            "(an inline policy named bedrockctl-backstop-*; docs/jobs.md).",
        ),
    ],
    "sagemaker": [
        (
            (
                "sagemaker:ListEndpoints",
                "sagemaker:ListModels",
                "sagemaker:ListModelPackages",
                "sagemaker:ListModelPackageGroups",
                "sagemaker:ListTrainingJobs",
            ),
            "*",
            "Inventory of SageMaker endpoints, models, packages and jobs (List* support no resource-level "
            "permissions).",
        ),
        (
            (
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:InvokeEndpoint",
                "sagemaker:InvokeEndpointWithResponseStream",
            ),
            "sagemaker",
            "Describe and invoke SageMaker endpoints and models in the Region.",
        ),
    ],
    "pricing": [(("pricing:GetProducts",), "*", "Refresh the price catalog from the AWS Price List (pricing update).")],
    "doctor": [
        (
            (
                "iam:SimulatePrincipalPolicy",
                "iam:GetAccessKeyLastUsed",
                "iam:ListAccessKeys",
                "iam:ListServiceSpecificCredentials",
                "ec2:DescribeVpcEndpoints",
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrailStatus",
                "bedrock:GetModelInvocationLoggingConfiguration",
                "bedrock:ListFoundationModels",
                "bedrock:GetFoundationModel",
                "bedrock:GetInferenceProfile",
                "bedrock:ListInferenceProfiles",
                "bedrock:GetFoundationModelAvailability",
                "servicequotas:ListServiceQuotas",
                "servicequotas:ListAWSDefaultServiceQuotas",
                "cloudwatch:GetMetricData",
            ),
            "*",
            "What doctor reads beside the features it checks: the caller's own permissions, its access keys' age and "
            "the account's Bedrock API keys, VPC endpoints, trails, invocation logging, models and their "
            "availability, quotas and the tokens used per minute.",
        )
    ],
}


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


def parse_features(value: str | Iterable[str]) -> list[str]:
    names = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        if name not in FEATURES:
            raise ValidationFailed(
                f"Unknown feature {name!r}",
                remediation=f"Use a comma-separated subset of: {', '.join(FEATURE_NAMES)}.",
            )
        if name not in out:
            out.append(name)
    return out


def feature_actions(feature: str) -> list[str]:
    return [a for actions, _, _ in FEATURES[feature] for a in actions]


def model_resources(model: str, region: str, account_id: str) -> dict[str, str]:
    """ARN -> reason: what AWS authorises when ``model`` (an id, profile, ARN or alias) is invoked from ``region``."""
    model = canonical_model_id(model)
    try:
        ref = parse_model_ref(model)
    except ValueError as exc:
        raise ValidationFailed(str(exc), remediation="Pass a model id, inference profile id or Bedrock ARN.") from exc
    partition = ref.partition
    out: dict[str, str] = {}

    def via_profile(profile_id: str, source_region: str, why: str) -> None:
        arn = f"arn:{partition}:bedrock:{source_region}:{account_id}:inference-profile/{profile_id}"
        out[arn] = why
        profile = get_profile(profile_id)
        members = profile.regions if profile else ("*",)
        model_id = profile.model_id if profile else ref.model_id
        for member in members:
            out[f"arn:{partition}:bedrock:{member}::foundation-model/{model_id}"] = (
                f"{profile_id} routes requests to {model_id} in {member}"
            )

    if ref.kind == "inference-profile" and ref.profile_id:
        via_profile(ref.profile_id, ref.region or region, f"the inference profile {ref.profile_id}")
    elif ref.kind == "foundation-model" and ref.model_id:
        fm_region = ref.region or region
        out[f"arn:{partition}:bedrock:{fm_region}::foundation-model/{ref.model_id}"] = (
            f"invoke {ref.model_id} on demand in {fm_region}"
        )
        fm = get_model(ref.model_id)
        if fm is not None and fm_region != "*" and not fm.on_demand_in(fm_region):
            profile = load_catalog().profile_for_region(ref.model_id, fm_region)
            if profile is not None:
                via_profile(
                    profile.profile_id,
                    fm_region,
                    f"{ref.model_id} has no on-demand throughput in {fm_region}: call it through {profile.profile_id}",
                )
    elif ref.arn:
        out[ref.arn] = f"the {ref.kind} {ref.resource_id or ref.raw}"
        if ref.kind == "application-inference-profile":
            out[f"arn:{partition}:bedrock:*::foundation-model/*"] = (
                "an application inference profile routes to the foundation model it copies (unknown offline)"
            )
        elif ref.kind == "prompt-router":  # the router calls its models, directly or through their profiles
            out[f"arn:{partition}:bedrock:*::foundation-model/*"] = (
                "a prompt router invokes the models it routes to (unknown offline)"
            )
            out[f"arn:{partition}:bedrock:*:{account_id}:inference-profile/*"] = (
                "a prompt router invokes its models through their inference profiles (unknown offline)"
            )
    return out


def _resources(
    kind: str, models: Sequence[str], agent_ids: Sequence[str], region: str, account: str, warnings: list[str]
) -> dict[str, str]:
    if kind == "*":
        return {"*": "no resource-level permissions"}
    if kind == "models":
        if not models:
            warnings.append(
                "No --model given: invoke is granted on every foundation model and inference profile in "
                f"{region}; name the models to narrow it."
            )
            return {
                f"arn:aws:bedrock:{region}::foundation-model/*": "every foundation model in the Region",
                f"arn:aws:bedrock:{region}:{account}:inference-profile/*": "every inference profile in the Region",
                "arn:aws:bedrock:*::foundation-model/*": "the models cross-Region profiles route to",
            }
        out: dict[str, str] = {}
        for model in models:
            out.update(model_resources(model, region, account))
        return out
    if kind == "agent-aliases":
        ids = agent_ids or ["*"]
        return {f"arn:aws:bedrock:{region}:{account}:agent-alias/{a}/*": f"aliases of agent {a}" for a in ids}
    if kind == "agents":
        ids = agent_ids or ["*"]
        out = {f"arn:aws:bedrock:{region}:{account}:agent/{a}": f"agent {a}" for a in ids}
        out.update({f"arn:aws:bedrock:{region}:{account}:agent-alias/{a}/*": f"aliases of agent {a}" for a in ids})
        return out
    if kind == "roles":
        return {"arn:aws:iam::*:role/*": "the role --role-name names, in each account --accounts names"}
    if kind == "log-groups":
        return {f"arn:aws:logs:{region}:{account}:log-group:*": "the invocation log group (name it to narrow)"}
    if kind == "budgets":
        return {f"arn:aws:budgets::{account}:budget/*": "the account's budgets"}
    if kind == "iam-principals":
        return {
            f"arn:aws:iam::{account}:user/*": "the IAM users the backstop may deny (narrow by path)",
            f"arn:aws:iam::{account}:role/*": "the roles whose sessions it may deny (narrow by path)",
        }
    if kind == "sagemaker":
        return {
            f"arn:aws:sagemaker:{region}:{account}:endpoint/*": "SageMaker endpoints in the Region",
            f"arn:aws:sagemaker:{region}:{account}:endpoint-config/*": "their endpoint configurations",
            f"arn:aws:sagemaker:{region}:{account}:model/*": "SageMaker models in the Region",
        }
    raise AssertionError(kind)


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
            resources = _resources(kind, models, agent_ids, region, account, warnings)
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
