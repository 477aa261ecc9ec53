"""Prompt routers (intelligent prompt routing): default routers (the sandbox's own data) and custom ones.

Operations (botocore ``bedrock`` 2023-04-20): GetPromptRouter, ListPromptRouters, CreatePromptRouter,
DeletePromptRouter. ``route_prompt(account, region, arn, body_size)`` is what the runtime uses when a router ARN
is the ``modelId`` of Converse, ConverseStream or InvokeModel.

Default routers: one per model family AWS offers them for, ``arn:aws:bedrock:<region>:<account>:
default-prompt-router/<family>:1``, listed in each Region where all of its models' US cross-Region profiles are
listed. Their models are US system inference profiles named by their ARN in the caller's account, as AWS lists
them (the invoked model a Converse response names, ``trace.promptRouter.invokedModelId``, is one of these ARNs).
Custom routers: ``arn:aws:bedrock:<region>:<account>:prompt-router/<12 chars>`` (botocore's PromptRouterArn
pattern names only ``default-prompt-router``; AWS answers custom ones with ``prompt-router``).

The sandbox's routing rule, deterministic so tests can choose the served model: a request body of fewer than
``ROUTE_BYTES`` bytes goes to the router's first model that is not its fallback model, a longer one to the
fallback model (the stronger, dearer model of a default router). AWS predicts response quality instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import (
    STATE,
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
from bedrockctl.sandbox.bedrock.models_data import sandbox_models
from bedrockctl.sandbox.core import ROUTER, SandboxRequest, SandboxResponse

SERVICE = "bedrock"
ROUTE_BYTES = 2000
_NAME_PATTERN = r"([0-9a-zA-Z][ _-]?)+"
_DESCRIPTION_PATTERN = r"([0-9a-zA-Z:.][ _-]?)+"
_TARGET_PATTERN = (
    r"(^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/[a-z0-9-]{1,63}[.]{1}([a-z0-9-]{1,63}[.]){0,2}"
    r"[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})|(^arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:(|[0-9a-z-]{0,20}):"
    r"(|[0-9]{12}):(inference-profile|application-inference-profile)/[a-zA-Z0-9-:.]+)"
)
# Default routers have existed since intelligent prompt routing launched (preview, December 2024).
_DEFAULT_CREATED = "2024-12-04T00:00:00.000Z"


@dataclass(frozen=True)
class DefaultRouter:
    router_id: str  # default-prompt-router/<router_id>
    name: str
    description: str
    profile_ids: tuple[str, ...]  # the US system profiles it routes between, cheaper first
    fallback: str


DEFAULT_ROUTERS = (
    DefaultRouter(
        "anthropic.claude:1",
        "Anthropic Prompt Router",
        "Routes requests among models in the Claude family",
        ("us.anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-5-sonnet-20240620-v1:0"),
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
    ),
    DefaultRouter(
        "meta.llama:1",
        "Meta Prompt Router",
        "Routes requests among models in the LLaMA family",
        ("us.meta.llama3-1-8b-instruct-v1:0", "us.meta.llama3-1-70b-instruct-v1:0"),
        "us.meta.llama3-1-70b-instruct-v1:0",
    ),
    DefaultRouter(
        "amazon.nova:1",
        "Nova Prompt Router",
        "Routes requests among models in the Nova family",
        ("us.amazon.nova-lite-v1:0", "us.amazon.nova-pro-v1:0"),
        "us.amazon.nova-pro-v1:0",
    ),
)


@dataclass(frozen=True)
class RoutedCall:
    """A runtime call through a prompt router: the router and the model ARN it chose."""

    router_arn: str
    invoked_model_arn: str


def _profile_arn(region: str, account_id: str, profile_id: str) -> str:
    return f"arn:{partition_of(region)}:bedrock:{region}:{account_id}:inference-profile/{profile_id}"


def _defaults_in(region: str) -> list[DefaultRouter]:
    listed = {p.profile_id for p in sandbox_models().profiles_in_region(region, now())}
    return [r for r in DEFAULT_ROUTERS if set(r.profile_ids) <= listed]


def _default_record(router: DefaultRouter, region: str, account_id: str) -> dict[str, Any]:
    return {
        "promptRouterName": router.name,
        "routingCriteria": {"responseQualityDifference": 0.0},
        "description": router.description,
        "createdAt": _DEFAULT_CREATED,
        "updatedAt": _DEFAULT_CREATED,
        "promptRouterArn": f"arn:{partition_of(region)}:bedrock:{region}:{account_id}:default-prompt-router/"
        f"{router.router_id}",
        "models": [{"modelArn": _profile_arn(region, account_id, p)} for p in router.profile_ids],
        "fallbackModel": {"modelArn": _profile_arn(region, account_id, router.fallback)},
        "status": "AVAILABLE",
        "type": "default",
    }


def _custom_record(rec: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in rec.items() if k not in ("id", "token")}
    if not out.get("description"):
        out.pop("description", None)
    return out


def _find(account_id: str, region: str, arn: str) -> dict[str, Any] | None:
    """GetPromptRouter's record for ``arn`` (default or custom), or None."""
    if ":default-prompt-router/" in arn:
        for router in _defaults_in(region):
            rec = _default_record(router, region, account_id)
            if rec["promptRouterArn"] == arn:
                return rec
        return None
    state = STATE.get(account_id, region)
    with state.lock:
        custom = state.prompt_routers.get(arn.rsplit("/", 1)[-1])
        return _custom_record(custom) if custom is not None and custom["promptRouterArn"] == arn else None


def route_prompt(account_id: str, region: str, arn: str, body_size: int) -> RoutedCall | None:
    """The model a runtime call of ``body_size`` bytes through router ``arn`` goes to (None: no such router)."""
    rec = _find(account_id, region, arn)
    if rec is None:
        return None
    fallback = str(rec["fallbackModel"]["modelArn"])
    light = next((str(m["modelArn"]) for m in rec["models"] if m["modelArn"] != fallback), fallback)
    return RoutedCall(arn, fallback if body_size >= ROUTE_BYTES else light)


def _check_arn(arn: str) -> None:
    if not 1 <= len(arn) <= 2048 or not arn.startswith("arn:aws"):
        raise constraint_error(
            arn,
            "promptRouterArn",
            "Member must satisfy regular expression pattern: "
            "arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:default-prompt-router/[a-zA-Z0-9-:.]+",
        )


@ROUTER.route(SERVICE, "GET", r"/prompt-routers/?")
def list_prompt_routers(req: SandboxRequest) -> SandboxResponse:
    kind = req.q("type")
    check_enum(kind, "type", ("custom", "default"))
    offset, max_results = page_params(req)
    records: list[dict[str, Any]] = []
    if kind in (None, "default"):
        records += [_default_record(r, req.region, req.account_id) for r in _defaults_in(req.region)]
    if kind in (None, "custom"):
        state = state_for(req)
        with state.lock:
            records += [_custom_record(r) for r in state.prompt_routers.values()]
    page, token = paginate(records, offset, max_results)
    body: dict[str, Any] = {"promptRouterSummaries": page}
    if token:
        body["nextToken"] = token
    return SandboxResponse.json(body)


@ROUTER.route(SERVICE, "GET", r"/prompt-routers/(?P<arn>.+)")
def get_prompt_router(req: SandboxRequest, arn: str) -> SandboxResponse:
    _check_arn(arn)
    rec = _find(req.account_id, req.region, arn)
    if rec is None:
        raise not_found(f"The prompt router {arn} couldn't be found. Check the ARN and try again.")
    return SandboxResponse.json(rec)


def _target(req: SandboxRequest, value: Any, member: str) -> str:
    arn = value.get("modelArn") if isinstance(value, dict) else None
    if not isinstance(arn, str):
        raise validation(f"1 validation error detected: Value null at '{member}.modelArn' failed to satisfy constraint")
    check_pattern(arn, f"{member}.modelArn", _TARGET_PATTERN)
    region = arn.split(":")[3]
    model = arn.rsplit("/", 1)[-1]
    if region and region != req.region:
        raise validation("The prompt router's models must be in the same Region as the prompt router.")
    known = sandbox_models()
    if ":inference-profile/" in arn:
        listed = {p.profile_id for p in known.profiles_in_region(req.region, now())}
        if model not in listed:
            raise not_found(f"The specified inference profile {model} couldn't be found.")
    elif ":foundation-model/" in arn and known.get_model(model) is None:
        raise not_found(f"The specified model {model} couldn't be found in {req.region}.")
    return arn


def _family(arn: str) -> str:
    model = arn.rsplit("/", 1)[-1]
    parts = model.split(".")
    return parts[1] if parts[0] in ("us", "eu", "apac", "global") and len(parts) > 2 else parts[0]


@ROUTER.route(SERVICE, "POST", r"/prompt-routers/?")
def create_prompt_router(req: SandboxRequest) -> SandboxResponse:
    body = req.json()
    name = body.get("promptRouterName")
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise constraint_error(name, "promptRouterName", "Member must have length between 1 and 64")
    check_pattern(name, "promptRouterName", _NAME_PATTERN)
    description = body.get("description")
    if description is not None:
        check_pattern(description, "description", _DESCRIPTION_PATTERN)
    criteria = body.get("routingCriteria")
    quality = criteria.get("responseQualityDifference") if isinstance(criteria, dict) else None
    if not isinstance(quality, int | float) or isinstance(quality, bool) or not 0 <= quality <= 100:
        raise constraint_error(quality, "routingCriteria.responseQualityDifference", "Member must be between 0 and 100")
    raw_models = body.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        raise validation("1 validation error detected: Value at 'models' failed to satisfy constraint")
    models = [_target(req, m, "models") for m in raw_models]
    fallback = _target(req, body.get("fallbackModel"), "fallbackModel")
    if fallback not in models:
        raise validation("The fallback model must be one of the prompt router's models.")
    if len({_family(m) for m in models}) != 1:
        raise validation("The prompt router's models must belong to the same model family.")
    tags = tags_from_list(body.get("tags"))
    state = state_for(req)
    token = body.get("clientRequestToken")
    with state.lock:
        if token and token in state.client_tokens:
            return SandboxResponse.json({"promptRouterArn": state.client_tokens[token]})
        if any(r["promptRouterName"] == name for r in state.prompt_routers.values()):
            raise conflict(f"A prompt router with the name {name} already exists.")
        rid = new_id()
        arn = f"arn:{partition_of(req.region)}:bedrock:{req.region}:{req.account_id}:prompt-router/{rid}"
        ts = iso(now())
        state.prompt_routers[rid] = {
            "id": rid,
            "promptRouterName": name,
            "routingCriteria": {"responseQualityDifference": float(quality)},
            "description": description,
            "createdAt": ts,
            "updatedAt": ts,
            "promptRouterArn": arn,
            "models": [{"modelArn": m} for m in models],
            "fallbackModel": {"modelArn": fallback},
            "status": "AVAILABLE",
            "type": "custom",
        }
        if tags:
            state.tags[arn] = tags
        if token:
            state.client_tokens[token] = arn
    return SandboxResponse.json({"promptRouterArn": arn})


@ROUTER.route(SERVICE, "DELETE", r"/prompt-routers/(?P<arn>.+)")
def delete_prompt_router(req: SandboxRequest, arn: str) -> SandboxResponse:
    _check_arn(arn)
    if ":default-prompt-router/" in arn and _find(req.account_id, req.region, arn) is not None:
        raise validation("Default prompt routers can't be deleted.")
    state = state_for(req)
    with state.lock:
        rec = state.prompt_routers.get(arn.rsplit("/", 1)[-1])
        if rec is None or rec["promptRouterArn"] != arn:
            raise not_found(f"The prompt router {arn} couldn't be found. Check the ARN and try again.")
        del state.prompt_routers[rec["id"]]
        state.tags.pop(arn, None)
    return SandboxResponse.json({})
