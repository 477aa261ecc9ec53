"""The features ``bedrockctl policy`` and ``bedrockctl doctor`` know, and the IAM actions each one needs.

``FEATURES`` says which IAM actions each feature needs, on which kind of resource (resolved to ARNs by
``policy_resources.feature_resources``) and why; ``parse_features`` reads a ``--features`` list and
``feature_actions`` lists one feature's actions (what ``bedrockctl doctor`` checks).
"""

from __future__ import annotations

from collections.abc import Iterable

from bedrockctl.errors import ValidationFailed

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
# feature -> [(actions, resource kind, reason)]; kinds are resolved by policy_resources.feature_resources()
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
