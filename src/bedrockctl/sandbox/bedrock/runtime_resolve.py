"""Model identifier resolution for the runtime, the way Bedrock does it.

Accepted: a foundation model id, a foundation-model ARN, a system (cross-Region) inference profile id or ARN,
an application inference profile ARN, a provisioned-throughput ARN (the last two looked up in the control
plane's state, ``control.py``) and a prompt-router ARN (default or custom, ``control_routers.py``: the router
picks one of its models by the request's size; ``Resolved.invoked_model_arn`` names it). The errors are AWS's own:

- unknown id, or a model not offered in the region -> ValidationException "The provided model identifier is
  invalid.";
- a bare model id where the region only serves it through a profile -> ValidationException "Invocation of
  model ID <id> with on-demand throughput isn't supported. ...";
- model access not granted -> AccessDeniedException "You don't have access to the model with the specified
  model ID.".

A cross-Region profile routes round-robin over its member Regions, starting from the source Region.
"""

from __future__ import annotations

import importlib
import itertools
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import now
from bedrockctl.sandbox.bedrock.models_data import SandboxModel, SandboxModels, is_profile_id, sandbox_models
from bedrockctl.sandbox.core import AwsError, SandboxRequest
from bedrockctl.sandbox.iam_sim import enforce_invoke

INVALID_ID = "The provided model identifier is invalid."
NO_ACCESS = "You don't have access to the model with the specified model ID."
END_OF_LIFE = "This model version has reached the end of its life."
_ARN = re.compile(
    r"^arn:aws(?:-[a-z-]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:(?P<kind>[a-z-]+)/(?P<rest>.+)$"
)


@dataclass
class Resolved:
    requested: str  # as the caller passed it
    model: SandboxModel
    inference_region: str  # where the request runs
    via_profile: bool = False
    invoked_model_arn: str | None = None  # the model a prompt router chose (trace.promptRouter.invokedModelId)

    @property
    def model_id(self) -> str:
        return self.model.model_id


_rr_lock = threading.Lock()
_rr: dict[tuple[str, str, str], itertools.count[int]] = {}


def _route(account_id: str, region: str, profile_id: str, members: tuple[str, ...]) -> str:
    ordered = sorted(members)
    start = ordered.index(region) if region in ordered else 0
    with _rr_lock:
        counter = _rr.setdefault((account_id, region, profile_id), itertools.count())
        n = next(counter)
    return ordered[(start + n) % len(ordered)]


_CONTROL_MODULES = ("control", "control_profiles", "control_provisioned", "control_guardrails", "control_routers")


def _control(name: str) -> Any:
    """A function of the control-plane modules (``control*.py``), or None while none defines it."""
    for module_name in _CONTROL_MODULES:
        try:
            module = importlib.import_module(f"bedrockctl.sandbox.bedrock.{module_name}")
        except ImportError:
            continue
        fn = getattr(module, name, None)
        if callable(fn):
            return fn
    return None


def _access_granted(account_id: str, region: str, model_id: str) -> bool:
    fn = _control("model_access_granted")
    return True if fn is None else bool(fn(account_id, region, model_id))


def _provisioned(req: SandboxRequest, arn: str) -> str | None:
    """The foundation model id behind a provisioned-throughput ARN (control plane), or None."""
    fn = _control("get_provisioned_model")
    found = fn(req.account_id, req.region, arn) if fn is not None else None
    if not found:
        return None
    if found.get("status", "InService") != "InService":
        raise AwsError("ModelNotReadyException", "The provisioned model is not ready to serve inference requests.", 429)
    target = str(found.get("foundationModelArn") or found.get("modelArn") or "")
    return target.rsplit("/", 1)[-1] or None


def _application_profile(req: SandboxRequest, requested: str) -> Resolved | None:
    fn = _control("resolve_inference_profile")
    found = fn(req.account_id, req.region, requested) if fn is not None else None
    if found is None or getattr(found, "type", "") != "APPLICATION":
        return None
    model = sandbox_models().get_model(str(found.model_id).rsplit("/", 1)[-1])
    if model is None:
        return None
    _not_past_end_of_life(model)
    regions = tuple(found.regions) or (req.region,)
    target = _route(req.account_id, req.region, found.profile_id, regions) if len(regions) > 1 else regions[0]
    return Resolved(requested, model, target, via_profile=True)


def _not_past_end_of_life(model: SandboxModel) -> None:
    """AWS answers a call to a model past its end-of-life date with ResourceNotFoundException."""
    if model.is_eol(now()):
        raise AwsError("ResourceNotFoundException", END_OF_LIFE, 404)


def _on_demand(model: SandboxModel, region: str, requested: str) -> None:
    _not_past_end_of_life(model)
    if model.on_demand_in(region):
        return
    if region in model.types_by_region or model.profile_only:
        raise AwsError(
            "ValidationException",
            f"Invocation of model ID {model.model_id} with on-demand throughput isn't supported. Retry your "
            "request with the ID or ARN of an inference profile that contains this model.",
        )
    raise AwsError("ValidationException", INVALID_ID)


def resolve(req: SandboxRequest, requested: str) -> Resolved:
    """Resolve ``requested`` for a call in ``req.region`` or raise the AWS error."""
    known = sandbox_models()
    region = req.region
    m = _ARN.match(requested)
    if m:
        kind, rest = m.group("kind"), m.group("rest")
        if m.group("region") and m.group("region") != region:
            raise AwsError("ValidationException", INVALID_ID)
        if kind == "foundation-model":
            model = known.get_model(rest)
            if model is None:
                raise AwsError("ValidationException", INVALID_ID)
            _on_demand(model, region, requested)
            resolved = Resolved(requested, model, region)
        elif kind == "inference-profile":
            resolved = _system_profile(req, requested, rest)
        elif kind == "application-inference-profile":
            found = _application_profile(req, requested)
            if found is None:
                raise AwsError("ValidationException", INVALID_ID)
            resolved = found
        elif kind == "provisioned-model":
            target = _provisioned(req, requested)
            model = known.get_model(target) if target else None
            if model is None:
                raise AwsError("ValidationException", INVALID_ID)
            _not_past_end_of_life(model)
            resolved = Resolved(requested, model, region)
        elif kind in ("default-prompt-router", "prompt-router"):
            return _prompt_router(req, requested)
        else:
            raise AwsError("ValidationException", INVALID_ID)
    elif is_profile_id(requested):
        resolved = _system_profile(req, requested, requested)
    else:
        model = known.get_model(requested)
        app = _application_profile(req, requested) if model is None else None
        if app is not None:
            resolved = app
        elif model is None:
            raise AwsError("ValidationException", INVALID_ID)
        else:
            _on_demand(model, region, requested)
            resolved = Resolved(requested, model, region)
    # IAM first (fault knob ``iam_enforcement``; see sandbox/iam_sim.py), then model access, as AWS does
    enforce_invoke(req, requested, resolved.model_id, resolved.inference_region)
    if not _access_granted(req.account_id, region, resolved.model_id):
        raise AwsError("AccessDeniedException", NO_ACCESS, 403)
    return resolved


def _prompt_router(req: SandboxRequest, requested: str) -> Resolved:
    """A call through a prompt router: resolved (IAM, model access) as a call to the model the router chose."""
    fn = _control("route_prompt")
    routed = fn(req.account_id, req.region, requested, len(req.body or b"")) if fn is not None else None
    if routed is None:
        raise AwsError("ValidationException", INVALID_ID)
    inner = resolve(req, routed.invoked_model_arn)
    enforce_invoke(req, requested, inner.model_id, inner.inference_region)
    return replace(inner, requested=requested, invoked_model_arn=routed.invoked_model_arn)


def _system_profile(req: SandboxRequest, requested: str, profile_id: str) -> Resolved:
    known: SandboxModels = sandbox_models()
    profile = known.get_profile(profile_id)
    if profile is None or req.region not in profile.regions:
        raise AwsError("ValidationException", INVALID_ID)
    model = known.get_model(profile.model_id)
    if model is None:
        raise AwsError("ValidationException", INVALID_ID)
    _not_past_end_of_life(model)
    target = _route(req.account_id, req.region, profile.profile_id, profile.regions)
    return Resolved(requested, model, target, via_profile=True)
