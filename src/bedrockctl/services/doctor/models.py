"""Model checks: exists in the region, lifecycle, on-demand vs inference profile, access (1-token Converse), streaming.

``--model all`` means every model the caller uses: the configured defaults and environments' models, and every
``ModelId`` with Bedrock CloudWatch metrics in the region (the last 7 days of use).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from bedrockctl.aws.errors import translate
from bedrockctl.catalog import get_model, load_catalog, parse_model_ref
from bedrockctl.errors import InferenceProfileRequired, ModelAccessNotGranted, UnknownModel
from bedrockctl.services.doctor.model import Check, Facts, Timer, skipped_without_credentials


def models_in_use(facts: Facts, configured: list[str]) -> list[str]:
    found = list(configured)
    if facts.credentials_ok:
        try:
            pages = (
                facts.client("cloudwatch")
                .get_paginator("list_metrics")
                .paginate(Namespace="AWS/Bedrock", MetricName="Invocations")
            )
            for page in pages:
                for metric in page.get("Metrics", []):
                    for dim in metric.get("Dimensions", []):
                        if dim.get("Name") == "ModelId" and dim.get("Value") not in found:
                            found.append(str(dim["Value"]))
        except Exception:  # noqa: S110 - no CloudWatch access: configured models only
            pass
    return found


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
            + (f" via inference profile {model}" if info["profile"] else ""),
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
    successor = [
        m.model_id
        for m in load_catalog().models
        if fm
        and m.provider == fm.provider
        and m.lifecycle == "ACTIVE"
        and set(m.output_modalities) == set(fm.output_modalities)
    ]
    fix = (
        "Migrate to an active model"
        + (f" such as {successor[-1]}" if successor else "")
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
        return Check("models.on_demand", title, "high", "pass", f"Called through the inference profile {model}.", **kw)
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
