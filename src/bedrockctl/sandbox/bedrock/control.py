"""Bedrock control plane: foundation models, per-account model access, and tags for our resources.

Operations (service ``bedrock``, rest-json): ListFoundationModels, GetFoundationModel,
GetFoundationModelAvailability, TagResource, UntagResource, ListTagsForResource. Inference profiles, imported
models, provisioned throughput and guardrails live in the sibling ``control_*`` modules.

Model access: by default every model is granted; ``set_model_access(account, model_id, False)`` denies one
(account-wide, or for one region with ``region=``). The runtime handlers consult
``model_access_granted(account, region, model_id)`` before invoking.
"""

from __future__ import annotations

from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    ControlState,
    check_enum,
    constraint_error,
    not_found,
    now,
    partition_of,
    state_for,
    tags_from_list,
    tags_to_list,
    validation,
)
from bedrockctl.sandbox.bedrock.models_data import MODEL_ID_RE, SandboxModel, parse_arn, sandbox_models
from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.state import StateStore

SERVICE = "bedrock"
ALL_REGIONS = "*"

# --- model access -------------------------------------------------------------------------------------------
_DENIED: StateStore[set[str]] = StateStore(lambda account, region: set())


def set_model_access(account_id: str, model_id: str, granted: bool, region: str | None = None) -> None:
    """Grant or deny ``model_id`` for ``account_id`` (all regions, or only ``region``)."""
    denied = _DENIED.get(account_id, region or ALL_REGIONS)
    if granted:
        denied.discard(model_id)
        if region is None:  # an account-wide grant also lifts region-specific denials
            for (acct, _reg), regional in _DENIED.items():
                if acct == account_id:
                    regional.discard(model_id)
    else:
        denied.add(model_id)


def model_access_granted(account_id: str, region: str, model_id: str) -> bool:
    """Has ``account_id`` access to the foundation model ``model_id`` in ``region``? (default: yes)."""
    return model_id not in _DENIED.get(account_id, ALL_REGIONS) and model_id not in _DENIED.get(account_id, region)


def denied_models(account_id: str, region: str | None = None) -> set[str]:
    out = set(_DENIED.get(account_id, ALL_REGIONS))
    if region:
        out |= _DENIED.get(account_id, region)
    return out


# --- foundation models --------------------------------------------------------------------------------------
_MODALITIES = ("TEXT", "IMAGE", "EMBEDDING")
_INFERENCE_TYPES = ("ON_DEMAND", "PROVISIONED")
_CUSTOMIZATIONS = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION")
_GET_FM_PATTERN = (
    r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.])"
    r"{0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})|([a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}"
    r"[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})"
)


def foundation_model_summary(model: SandboxModel, region: str) -> dict[str, Any]:
    return model.record(region, partition_of(region), now())


def _provider_matches(model: SandboxModel, wanted: str) -> bool:
    w = wanted.strip().lower()
    return model.provider.lower() == w or model.model_id.split(".", 1)[0] == w


@ROUTER.route(SERVICE, "GET", r"/foundation-models/?")
def list_foundation_models(req: SandboxRequest) -> SandboxResponse:
    by_provider = req.q("byProvider")
    by_custom = req.q("byCustomizationType")
    by_output = req.q("byOutputModality")
    by_inference = req.q("byInferenceType")
    check_enum(by_custom, "byCustomizationType", _CUSTOMIZATIONS)
    check_enum(by_output, "byOutputModality", _MODALITIES)
    check_enum(by_inference, "byInferenceType", _INFERENCE_TYPES)
    out = []
    for model in sandbox_models().models_in_region(req.region, now()):
        if by_provider and not _provider_matches(model, by_provider):
            continue
        if by_custom and by_custom not in model.customizations:
            continue
        if by_output and by_output not in model.output_modalities:
            continue
        if by_inference and by_inference not in model.inference_types_in(req.region):
            continue
        out.append(foundation_model_summary(model, req.region))
    return SandboxResponse.json({"modelSummaries": out})


def resolve_foundation_model(identifier: str, region: str) -> SandboxModel:
    """Model id or foundation-model ARN -> the model listed in ``region`` (AWS errors otherwise)."""
    if len(identifier) > 2048 or not identifier:
        raise constraint_error(identifier, "modelIdentifier", "Member must have length between 1 and 2048")
    arn = parse_arn(identifier) if identifier.startswith("arn:") else None
    model_id = arn.rest if arn is not None and arn.kind == "foundation-model" and not arn.account else identifier
    if (arn is None and identifier.startswith("arn:")) or (arn is not None and arn.kind != "foundation-model"):
        model_id = ""
    if not MODEL_ID_RE.match(model_id):
        raise constraint_error(
            identifier,
            "modelIdentifier",
            f"Member must satisfy regular expression pattern: {_GET_FM_PATTERN}",
        )
    if arn is not None and arn.region and arn.region != region:
        raise validation(f"The provided ARN region {arn.region} does not match the request region {region}.")
    model = sandbox_models().get_model(model_id)
    if model is None or not model.listed_in(region, now()):
        raise not_found("Could not resolve the foundation model from the provided model identifier.")
    return model


@ROUTER.route(SERVICE, "GET", r"/foundation-models/(?P<model_identifier>.+)")
def get_foundation_model(req: SandboxRequest, model_identifier: str) -> SandboxResponse:
    model = resolve_foundation_model(model_identifier, req.region)
    return SandboxResponse.json({"modelDetails": foundation_model_summary(model, req.region)})


@ROUTER.route(SERVICE, "GET", r"/foundation-model-availability/(?P<model_id>.+)")
def get_foundation_model_availability(req: SandboxRequest, model_id: str) -> SandboxResponse:
    """Whether the caller's account may use ``model_id`` here: authorized and entitled unless its access was denied
    (``set_model_access`` / the ``access_denied`` fault), available where the model is listed."""
    model = sandbox_models().get_model(model_id)
    if model is None:
        raise not_found(f"The model {model_id} does not exist.")
    granted = model_access_granted(req.account_id, req.region, model.model_id)
    listed = model.listed_in(req.region, now())
    return SandboxResponse.json(
        {
            "modelId": model.model_id,
            "agreementAvailability": {"status": "AVAILABLE"},
            "authorizationStatus": "AUTHORIZED" if granted else "NOT_AUTHORIZED",
            "entitlementAvailability": "AVAILABLE" if granted else "NOT_AVAILABLE",
            "regionAvailability": "AVAILABLE" if listed else "NOT_AVAILABLE",
        }
    )


# --- tags ---------------------------------------------------------------------------------------------------
def _owned(state: ControlState, arn: str) -> bool:
    for rec in (
        *state.app_profiles.values(),
        *state.provisioned.values(),
        *state.guardrails.values(),
        *state.prompt_routers.values(),
    ):
        if arn in (rec.get("arn"), rec.get("promptRouterArn")):
            return True
    return any(rec.get("modelArn") == arn for rec in state.imported_models.values()) or any(
        rec.get("jobArn") == arn for rec in state.import_jobs.values()
    )


def _moto_backend(req: SandboxRequest) -> Any:
    from moto.bedrock.models import bedrock_backends

    return bedrock_backends[req.account_id][req.region]


def _moto_call(fn: Any, *args: Any) -> Any:
    """Call moto's bedrock backend in-process (custom models, customization jobs) and map its errors."""
    from moto.core.exceptions import JsonRESTError

    try:
        return fn(*args)
    except JsonRESTError as exc:  # moto's AWS-shaped errors: keep code and message
        status = 404 if exc.error_type == "ResourceNotFoundException" else int(exc.code)
        raise AwsError(exc.error_type, exc.message, status) from exc


def _arn_arg(body: dict[str, Any]) -> str:
    arn = body.get("resourceARN")
    if not isinstance(arn, str) or not 20 <= len(arn) <= 1011:
        raise constraint_error(arn, "resourceARN", "Member must have length between 20 and 1011")
    return arn


@ROUTER.route(SERVICE, "POST", r"/tagResource")
def tag_resource(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    arn = _arn_arg(body)
    tags = body.get("tags")
    if not isinstance(tags, list):
        raise validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint")
    state = state_for(req)
    with state.lock:
        if _owned(state, arn):
            merged = {**state.tags.get(arn, {}), **tags_from_list(tags)}
            if len(merged) > 50:
                raise AwsError("TooManyTagsException", "Member must have length less than or equal to 50")
            state.tags[arn] = merged
            return SandboxResponse.json({})
    _moto_call(_moto_backend(req).tag_resource, arn, tags)
    return SandboxResponse.json({})


@ROUTER.route(SERVICE, "POST", r"/untagResource")
def untag_resource(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    arn = _arn_arg(body)
    keys = body.get("tagKeys") or []
    state = state_for(req)
    with state.lock:
        if _owned(state, arn):
            current = state.tags.setdefault(arn, {})
            for key in keys:
                current.pop(key, None)
            return SandboxResponse.json({})
    _moto_call(_moto_backend(req).untag_resource, arn, keys)
    return SandboxResponse.json({})


@ROUTER.route(SERVICE, "POST", r"/listTagsForResource")
def list_tags_for_resource(req: SandboxRequest) -> SandboxResponse:
    arn = _arn_arg(req.json())
    state = state_for(req)
    with state.lock:
        if _owned(state, arn):
            return SandboxResponse.json({"tags": tags_to_list(state.tags.get(arn, {}))})
    tags = _moto_call(_moto_backend(req).list_tags_for_resource, arn)
    return SandboxResponse.json({"tags": tags})
