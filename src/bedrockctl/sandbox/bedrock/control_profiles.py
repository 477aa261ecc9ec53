"""Inference profiles: system-defined (cross-Region, the sandbox's own data) and application profiles (per account).

Operations: ListInferenceProfiles, GetInferenceProfile, CreateInferenceProfile, DeleteInferenceProfile.
``resolve_inference_profile(account, region, identifier)`` is the lookup the runtime handlers use.

Like AWS, ListInferenceProfiles without ``typeEquals`` lists the system-defined profiles only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    STATE,
    ControlState,
    check_enum,
    check_pattern,
    conflict,
    constraint_error,
    iso,
    new_id,
    not_found,
    now,
    page_params,
    paginate,
    partition_of,
    state_for,
    tags_from_list,
    validation,
)
from bedrockctl.sandbox.bedrock.models_data import SandboxProfile, is_profile_id, parse_arn, sandbox_models
from bedrockctl.sandbox.core import ROUTER, SandboxRequest, SandboxResponse

SERVICE = "bedrock"
_NAME_PATTERN = r"([0-9a-zA-Z][ _-]?)+"
_DESCRIPTION_PATTERN = r"([0-9a-zA-Z:.][ _-]?)+"
_SOURCE_PATTERN = (
    r"arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):"
    r"(inference-profile|foundation-model)/[a-zA-Z0-9-:.]+"
)
_ID_PATTERN = re.compile(
    r"(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):(|[0-9]{12}):"
    r"(inference-profile|application-inference-profile)/)?[a-zA-Z0-9-:.]+"
)
# System profiles have existed since cross-Region inference launched; AWS reports fixed timestamps for them.
_SYSTEM_CREATED = "2024-08-27T00:00:00.000Z"


@dataclass(frozen=True)
class ResolvedProfile:
    """What a runtime call through an inference profile needs to know."""

    profile_id: str
    arn: str
    type: str  # SYSTEM_DEFINED | APPLICATION
    model_id: str
    regions: tuple[str, ...]  # Regions the profile routes to


def _fm_arn(model_id: str, region: str) -> str:
    return f"arn:{partition_of(region)}:bedrock:{region}::foundation-model/{model_id}"


def _profile_arn(profile: SandboxProfile, region: str, account_id: str) -> str:
    return f"arn:{partition_of(region)}:bedrock:{region}:{account_id}:inference-profile/{profile.profile_id}"


def _system_models(profile: SandboxProfile, region: str) -> list[dict[str, str]]:
    if profile.geography == "global":
        # global profiles name the source Region's model and the Region-less foundation-model ARN
        return [
            {"modelArn": _fm_arn(profile.model_id, region)},
            {"modelArn": f"arn:{partition_of(region)}:bedrock:::foundation-model/{profile.model_id}"},
        ]
    return [{"modelArn": _fm_arn(profile.model_id, r)} for r in profile.regions]


def _system_record(profile: SandboxProfile, account_id: str, region: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": profile.name,
        "description": profile.description,
        "createdAt": _SYSTEM_CREATED,
        "updatedAt": _SYSTEM_CREATED,
        "inferenceProfileArn": _profile_arn(profile, region, account_id),
        "models": _system_models(profile, region),
        "inferenceProfileId": profile.profile_id,
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    }


def _app_record(rec: dict[str, Any]) -> dict[str, Any]:
    out = {
        "inferenceProfileName": rec["name"],
        "createdAt": rec["createdAt"],
        "updatedAt": rec["updatedAt"],
        "inferenceProfileArn": rec["arn"],
        "models": [{"modelArn": arn} for arn in rec["modelArns"]],
        "inferenceProfileId": rec["id"],
        "status": "ACTIVE",
        "type": "APPLICATION",
    }
    if rec.get("description"):
        out["description"] = rec["description"]
    return out


def _system_profile_in(region: str, profile_id: str) -> SandboxProfile | None:
    listed = sandbox_models().profiles_in_region(region, now())
    return next((p for p in listed if p.profile_id == profile_id), None)


def _find_app(state: ControlState, identifier: str) -> dict[str, Any] | None:
    key = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
    rec = state.app_profiles.get(key)
    if rec is not None and identifier.startswith("arn:") and rec["arn"] != identifier:
        return None
    return rec


def resolve_inference_profile(account_id: str, region: str, identifier: str) -> ResolvedProfile | None:
    """System profile id/ARN or application profile id/ARN -> ``ResolvedProfile`` (None when unknown here)."""
    key = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
    profile = _system_profile_in(region, key)
    if profile is not None and ":application-inference-profile/" not in identifier:
        arn = _profile_arn(profile, region, account_id)
        return ResolvedProfile(profile.profile_id, arn, "SYSTEM_DEFINED", profile.model_id, profile.regions)
    state = STATE.get(account_id, region)
    with state.lock:
        rec = _find_app(state, identifier)
        if rec is None:
            return None
        return ResolvedProfile(rec["id"], rec["arn"], "APPLICATION", rec["modelId"], tuple(rec["regions"]))


def _check_identifier(identifier: str) -> None:
    if not 1 <= len(identifier) <= 2048 or _ID_PATTERN.fullmatch(identifier) is None:
        raise constraint_error(
            identifier,
            "inferenceProfileIdentifier",
            f"Member must satisfy regular expression pattern: {_ID_PATTERN.pattern}",
        )


@ROUTER.route(SERVICE, "GET", r"/inference-profiles/?")
def list_inference_profiles(req: SandboxRequest) -> SandboxResponse:
    type_equals = req.q("type")
    check_enum(type_equals, "typeEquals", ("SYSTEM_DEFINED", "APPLICATION"))
    offset, max_results = page_params(req)
    if type_equals == "APPLICATION":
        state = state_for(req)
        with state.lock:
            records = [_app_record(r) for r in state.app_profiles.values()]
    else:
        listed = sandbox_models().profiles_in_region(req.region, now())
        records = [_system_record(p, req.account_id, req.region) for p in listed]
    page, token = paginate(records, offset, max_results)
    body: dict[str, Any] = {"inferenceProfileSummaries": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


@ROUTER.route(SERVICE, "GET", r"/inference-profiles/(?P<identifier>.+)")
def get_inference_profile(req: SandboxRequest, identifier: str) -> SandboxResponse:
    _check_identifier(identifier)
    if ":application-inference-profile/" not in identifier:
        profile = _system_profile_in(req.region, identifier.rsplit("/", 1)[-1])
        if profile is not None:
            return SandboxResponse.json(_system_record(profile, req.account_id, req.region))
    state = state_for(req)
    with state.lock:
        rec = _find_app(state, identifier)
        if rec is not None:
            return SandboxResponse.json(_app_record(rec))
    raise not_found("The specified inference profile couldn't be found. Check the ID and try again.")


def _source(req: SandboxRequest, copy_from: str) -> tuple[str, list[str], list[str]]:
    """copyFrom ARN -> (model id, model ARNs, routed regions)."""
    check_pattern(copy_from, "modelSource.copyFrom", _SOURCE_PATTERN)
    arn = parse_arn(copy_from)
    if arn is None:
        raise validation(f"The provided model source ARN is invalid: {copy_from}")
    if arn.region and arn.region != req.region:
        raise validation("The model source must be in the same Region as the inference profile.")
    if arn.kind == "foundation-model" and not arn.account:
        model = sandbox_models().get_model(arn.rest)
        if model is None or not model.listed_in(req.region, now()):
            raise not_found(f"The specified model {arn.rest} couldn't be found in {req.region}.")
        return model.model_id, [_fm_arn(model.model_id, req.region)], [req.region]
    if arn.kind == "inference-profile" and arn.account and is_profile_id(arn.rest):
        profile = _system_profile_in(req.region, arn.rest)
        if profile is None:
            raise not_found(f"The specified inference profile {arn.rest} couldn't be found.")
        arns = [m["modelArn"] for m in _system_models(profile, req.region)]
        return profile.model_id, arns, list(profile.regions)
    raise validation("modelSource.copyFrom must be a foundation model ARN or a system inference profile ARN.")


@ROUTER.route(SERVICE, "POST", r"/inference-profiles/?")
def create_inference_profile(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    name = body.get("inferenceProfileName")
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise constraint_error(name, "inferenceProfileName", "Member must have length between 1 and 64")
    check_pattern(name, "inferenceProfileName", _NAME_PATTERN)
    description = body.get("description")
    if description is not None:
        check_pattern(description, "description", _DESCRIPTION_PATTERN)
    copy_from = (body.get("modelSource") or {}).get("copyFrom")
    if not isinstance(copy_from, str):
        raise validation("1 validation error detected: Value null at 'modelSource' failed to satisfy constraint")
    tags = tags_from_list(body.get("tags"))
    model_id, model_arns, regions = _source(req, copy_from)
    state = state_for(req)
    token = body.get("clientRequestToken")
    with state.lock:
        if token and token in state.client_tokens:
            return SandboxResponse.json({"inferenceProfileArn": state.client_tokens[token], "status": "ACTIVE"}, 201)
        if any(r["name"] == name for r in state.app_profiles.values()):
            raise conflict(f"An inference profile with the name {name} already exists.")
        pid = new_id()
        arn = (
            f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:application-inference-profile/{pid}"
        )
        ts = iso(now())
        state.app_profiles[pid] = {
            "id": pid,
            "arn": arn,
            "name": name,
            "description": description,
            "modelId": model_id,
            "modelArns": model_arns,
            "regions": regions,
            "source": copy_from,
            "createdAt": ts,
            "updatedAt": ts,
        }
        if tags:
            state.tags[arn] = tags
        if token:
            state.client_tokens[token] = arn
    return SandboxResponse.json({"inferenceProfileArn": arn, "status": "ACTIVE"}, 201)


@ROUTER.route(SERVICE, "DELETE", r"/inference-profiles/(?P<identifier>.+)")
def delete_inference_profile(req: SandboxRequest, identifier: str) -> SandboxResponse:
    _check_identifier(identifier)
    state = state_for(req)
    with state.lock:
        rec = _find_app(state, identifier)
        if rec is not None:
            del state.app_profiles[rec["id"]]
            state.tags.pop(rec["arn"], None)
            return SandboxResponse.json({})
    if _system_profile_in(req.region, identifier.rsplit("/", 1)[-1]) is not None:
        raise validation("System-defined inference profiles can't be deleted.")
    raise not_found("The specified inference profile couldn't be found. Check the ID and try again.")
