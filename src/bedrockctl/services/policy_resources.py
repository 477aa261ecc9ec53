"""The resources (ARNs) a least-privilege policy grants, each with the reason it is there.

``model_resources`` says what AWS authorises when a model is invoked: the foundation-model ARN in the Region, or an
inference profile's ARN **and** the foundation model in each Region it routes to; ``feature_resources`` turns a
resource kind of ``policy_features.FEATURES`` into ARNs as narrow as the models and agents named allow.
"""

from __future__ import annotations

from collections.abc import Sequence

from bedrockctl.catalog import get_model, get_profile, load_catalog, parse_model_ref
from bedrockctl.errors import ValidationFailed
from bedrockctl.runtime.resolve import canonical_model_id


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


def feature_resources(
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
