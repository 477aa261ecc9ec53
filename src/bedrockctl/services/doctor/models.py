"""Model checks: exists in the region, lifecycle, on-demand vs inference profile, access (1-token Converse), streaming,
and the end-of-life of every model the configuration points at.

``--model all`` means the configured defaults and environments' models and every catalog model enabled in the
account in the region (``enabled.py``); an embedding model's access is checked with an embedding call.

``end_of_life_checks`` needs no AWS call: it reads the configuration (``defaults.model`` / ``BEDROCK_MODEL_ID``,
each environment's default model, allowed models and tier routes, aliases included) and the catalog's lifecycle
dates, and warns within ``EOL_WARNING_DAYS`` (60) days of a model's end of life, failing once it is past.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from bedrockctl.aws.errors import translate
from bedrockctl.catalog import get_model, load_catalog, parse_model_ref
from bedrockctl.catalog.lifecycle import EOL_WARNING_DAYS, today
from bedrockctl.errors import InferenceProfileRequired, ModelAccessNotGranted, UnknownModel
from bedrockctl.runtime.errors import UnresolvableModel
from bedrockctl.runtime.resolve import canonical_model_id
from bedrockctl.services.doctor.enabled import embedding_access, is_embedding, makes_images
from bedrockctl.services.doctor.model import Check, Facts, Timer, skipped_without_credentials
from bedrockctl.settings import Settings


def _describe(facts: Facts, model: str) -> dict[str, Any]:
    """GetFoundationModel / GetInferenceProfile for ``model`` (raises the translated error)."""
    ref = parse_model_ref(model)
    bedrock = facts.client("bedrock")
    try:
        if ref.kind in ("inference-profile", "application-inference-profile"):
            profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model)
            fm_id = ref.model_id or str(profile.get("models", [{}])[0].get("modelArn", "")).rsplit("/", 1)[-1]
            details = bedrock.get_foundation_model(modelIdentifier=fm_id)["modelDetails"] if fm_id else {}
            return {"profile": profile, "model": details, "kind": ref.kind}
        if ref.kind == "prompt-router":  # described by its fallback model, the one it serves when unsure
            router = bedrock.get_prompt_router(promptRouterArn=model)
            arns = [str(m.get("modelArn", "")) for m in [router.get("fallbackModel") or {}, *router.get("models", [])]]
            fallback = next((parse_model_ref(a).model_id for a in arns if a), None)
            details = bedrock.get_foundation_model(modelIdentifier=fallback)["modelDetails"] if fallback else {}
            return {"profile": router, "model": details, "kind": ref.kind}
        details = bedrock.get_foundation_model(modelIdentifier=ref.model_id or model)["modelDetails"]
        return {"profile": None, "model": details, "kind": ref.kind}
    except Exception as exc:
        raise translate(exc, service="bedrock", region=facts.region) from exc


def model_checks(facts: Facts, model: str) -> list[Check]:
    kw: dict[str, Any] = {"target": model, "region": facts.region}
    if not facts.credentials_ok:
        return [skipped_without_credentials("models.exists", "Model exists in the region", "high", **kw)]
    t = Timer()
    try:
        parse_model_ref(model)
        info = _describe(facts, model)
    except Exception as exc:
        fm = get_model(model.split(".", 1)[1] if model.split(".", 1)[0] in ("us", "eu", "apac", "global") else model)
        where = f" It is offered in: {', '.join(fm.regions)}." if fm else ""
        message = getattr(exc, "message", str(exc))
        return [
            Check(
                "models.exists",
                "Model exists in the region",
                "high",
                "fail",
                f"{model} is not available in {facts.region}: {message}.{where}",
                UnknownModel.default_remediation.replace(
                    "`bedrockctl models`", f"`aws bedrock list-foundation-models --region {facts.region}`"
                )
                + (f" Or use --region {fm.regions[0]}." if fm else ""),
                duration_ms=t.ms(),
                **kw,
            )
        ]
    details = info["model"]
    name = details.get("modelName", "")
    out = [
        Check(
            "models.exists",
            "Model exists in the region",
            "high",
            "pass",
            f"{details.get('modelId')} ({name}, {details.get('providerName')})"
            + (
                f" via {'prompt router' if info['kind'] == 'prompt-router' else 'inference profile'} {model}"
                if info["profile"]
                else ""
            ),
            duration_ms=t.ms(),
            **kw,
        )
    ]
    out.append(_lifecycle(facts, details, kw))
    out.append(_on_demand(facts, model, info, kw))
    out.append(
        Check(
            "models.streaming",
            "Response streaming",
            "info",
            "pass" if details.get("responseStreamingSupported") else "warn",
            "Streaming supported."
            if details.get("responseStreamingSupported")
            else "This model does not support response streaming (ConverseStream / InvokeModelWithResponseStream).",
            "" if details.get("responseStreamingSupported") else "Use Converse / InvokeModel for this model.",
            **kw,
        )
    )
    out.append(_access(facts, model, kw))
    return out


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


def _lifecycle(facts: Facts, details: dict[str, Any], kw: dict[str, Any]) -> Check:
    life = details.get("modelLifecycle") or {}
    status = life.get("status", "ACTIVE")
    fm = get_model(str(details.get("modelId")))
    eol = _date(life.get("endOfLifeTime")) or (fm.end_of_life_date if fm else None)
    data = {"status": status, "end_of_life": eol.isoformat() if eol else None}
    if status != "LEGACY":
        return Check("models.lifecycle", "Model lifecycle", "medium", "pass", f"{status}.", data=data, **kw)
    today = datetime.now(UTC).date()
    successor = [fm.replacement] if fm and fm.replacement else []
    successor += [
        m.model_id
        for m in load_catalog().models
        if fm
        and not successor
        and m.provider == fm.provider
        and m.lifecycle == "ACTIVE"
        and set(m.output_modalities) == set(fm.output_modalities)
    ]
    fix = (
        "Migrate to an active model"
        + (f" such as {successor[0] if fm and fm.replacement else successor[-1]}" if successor else "")
        + " before the end-of-life date."
    )
    if eol and eol <= today:
        return Check(
            "models.lifecycle",
            "Model lifecycle",
            "high",
            "fail",
            f"LEGACY and past its end-of-life date {eol.isoformat()}: calls will fail.",
            fix,
            data=data,
            **kw,
        )
    return Check(
        "models.lifecycle",
        "Model lifecycle",
        "medium",
        "warn",
        f"LEGACY; end of life {eol.isoformat() if eol else 'not announced'}.",
        fix,
        data=data,
        **kw,
    )


def _on_demand(facts: Facts, model: str, info: dict[str, Any], kw: dict[str, Any]) -> Check:
    title = "On-demand throughput or inference profile"
    if info["profile"]:
        via = "prompt router" if info["kind"] == "prompt-router" else "inference profile"
        return Check("models.on_demand", title, "high", "pass", f"Called through the {via} {model}.", **kw)
    details = info["model"]
    types = details.get("inferenceTypesSupported") or []
    if "ON_DEMAND" in types:
        return Check("models.on_demand", title, "high", "pass", f"On-demand supported ({', '.join(types)}).", **kw)
    model_id = str(details.get("modelId"))
    profile = load_catalog().profile_for_region(model_id, facts.region or "")
    evidence = (
        f"{model_id} has no on-demand throughput in {facts.region} (inferenceTypesSupported: "
        f'{", ".join(types) or "none"}): a bare model id fails with "on-demand throughput isn\'t supported".'
    )
    fix = (
        f"Use the inference profile {profile.profile_id} (--model {profile.profile_id})."
        if profile
        else InferenceProfileRequired.default_remediation
    )
    return Check(
        "models.on_demand",
        title,
        "high",
        "fail",
        evidence,
        fix,
        data={"suggested_profile": profile.profile_id if profile else None},
        **kw,
    )


def _access(facts: Facts, model: str, kw: dict[str, Any]) -> Check:
    title = "Model access (1-token Converse)"
    if not facts.options.invoke:
        return Check("models.access", title, "high", "skip", "Not invoked: pass --invoke to call the model.", **kw)
    if is_embedding(model):
        return embedding_access(facts, model, kw)
    if makes_images(model):
        return Check(
            "models.access",
            title,
            "high",
            "skip",
            "An image model: Converse does not serve it, and one image is billed.",
            **kw,
        )
    started = time.perf_counter()
    try:
        resp = facts.client("bedrock-runtime").converse(
            modelId=model,
            messages=[{"role": "user", "content": [{"text": "Reply with one word."}]}],
            inferenceConfig={"maxTokens": 1},
        )
    except Exception as exc:
        err = translate(exc, service="bedrock-runtime", operation="Converse", region=facts.region)
        ms = int((time.perf_counter() - started) * 1000)
        fix = err.remediation
        if isinstance(err, ModelAccessNotGranted):
            fix = (
                f"Bedrock console > Model access ({facts.region}) > Modify model access > enable this model "
                "(for Anthropic models, submit the use-case form)."
            )
        return Check(
            "models.access",
            title,
            "high",
            "fail",
            f"{err.code}: {err.message}",
            fix,
            duration_ms=ms,
            data={"error_code": err.code, "latency_ms": ms},
            **kw,
        )
    ms = int((time.perf_counter() - started) * 1000)
    usage = resp.get("usage", {})
    server_ms = resp.get("metrics", {}).get("latencyMs")
    return Check(
        "models.access",
        title,
        "high",
        "pass",
        f"Converse answered in {ms} ms (model latency {server_ms} ms; {usage.get('inputTokens')} in / "
        f"{usage.get('outputTokens')} out tokens).",
        duration_ms=ms,
        data={"latency_ms": ms, "model_latency_ms": server_ms, "usage": usage},
        **kw,
    )


# --- end of life of configured models ----------------------------------------------------------------------------
EOL_CHECK = ("models.end_of_life", "Configured model end of life")


def configured_model_refs(settings: Settings, env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(where it is configured, model reference) for every model the configuration names."""
    refs: list[tuple[str, str]] = []
    if settings.defaults.model:
        origin = settings.sources.get("defaults.model", "")
        label = "BEDROCK_MODEL_ID" if "BEDROCK_MODEL_ID" in origin else "defaults.model"
        refs.append((label, settings.defaults.model))
    if env.get("BEDROCK_MODEL_ID") and env["BEDROCK_MODEL_ID"] != settings.defaults.model:
        refs.append(("BEDROCK_MODEL_ID", env["BEDROCK_MODEL_ID"]))
    for name, environment in settings.environments.items():
        where = f"environments.{name}"
        if environment.default_model:
            refs.append((f"{where}.default_model", environment.default_model))
        refs += [(f"{where}.allowed_models", m) for m in environment.allowed_models]
        for source, target in environment.tier_routes.items():
            refs += [(f"{where}.tier_routes", source), (f"{where}.tier_routes[{source}]", target)]
    return list(dict.fromkeys(refs))


def _model_behind(ref: str) -> str | None:
    """The foundation model id a configured reference calls (aliases resolved today), or None if not a catalog one."""
    try:
        parsed = parse_model_ref(canonical_model_id(ref))
    except ValueError:
        return None
    return parsed.model_id if parsed.kind in ("foundation-model", "inference-profile") else None


def end_of_life_checks(
    refs: Sequence[tuple[str, str]], *, region: str | None = None, on: date | None = None
) -> list[Check]:
    """One check per configured reference: pass, warn within 60 days of end of life, fail once past it."""
    day = on or today()
    catalog = load_catalog()
    out: list[Check] = []
    for origin, ref in refs:
        kw: dict[str, Any] = {"target": ref, "region": region}
        try:
            model_id = _model_behind(ref)
        except UnresolvableModel as exc:  # an alias whose model is past end of life, with no replacement
            out.append(Check(*EOL_CHECK, "high", "fail", f"{origin}: {exc.message}.", exc.remediation, **kw))
            continue
        model = catalog.get_model(model_id) if model_id else None
        if model is None:
            continue  # not a catalog model (application profile, provisioned, custom): AWS-side checks cover it
        days = model.dates.days_to_end_of_life(day)
        status = model.status_on(day, region)
        replacement = model.replacement or (s.model_id if (s := catalog.successor(model.model_id, day)) else None)
        data = {
            "origin": origin,
            "model_id": model.model_id,
            "status": status,
            "end_of_life": model.end_of_life_date.isoformat() if model.end_of_life_date else None,
            "days_left": days,
            "replacement": replacement,
        }
        fix = (
            f"Point {origin} at {replacement} (the replacement named for {model.model_id})."
            if replacement
            else f"Point {origin} at an active model (`bedrockctl models` lists them)."
        )
        named = ref if ref == model.model_id else f"{ref} ({model.model_id})"
        if status == "EOL":
            evidence = f"{origin} = {named}: past its end of life ({model.end_of_life_date}); calls fail."
            out.append(Check(*EOL_CHECK, "high", "fail", evidence, fix, data=data, **kw))
        elif days is not None and days <= EOL_WARNING_DAYS:
            when = f"in {days} day{'s' if days != 1 else ''}" if days > 0 else "today"
            evidence = f"{origin} = {named}: reaches end of life on {model.end_of_life_date} ({when})."
            out.append(Check(*EOL_CHECK, "medium", "warn", evidence, fix, data=data, **kw))
        else:
            later = f"; end of life {model.end_of_life_date}" if model.end_of_life_date else ""
            evidence = f"{origin} = {named}: {status}{later}."
            out.append(Check(*EOL_CHECK, "medium", "pass", evidence, data=data, **kw))
    return out
