"""``doctor --model all``: the catalog's models that are enabled in the caller's account in the region, and the
access check of an embedding model (an embedding call: embedding models do not converse).

A catalog model is enabled when ListFoundationModels shows it in the region and GetFoundationModelAvailability says
the account is authorized and entitled to it there. A model without on-demand throughput in the region is checked
through the inference profile the catalog names for it (the id a call must use).
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bedrockctl.aws.errors import aws_call, aws_errors
from bedrockctl.catalog import get_model, load_catalog
from bedrockctl.errors import BedrockctlError
from bedrockctl.services.doctor.model import Check, Facts

TITLE = "Models enabled in the account (--model all)"
EMBED_TEXT = "ping"
# the smallest embedding request of each body format the catalog names (InvokeModel bodies)
EMBED_BODIES: dict[str, dict[str, Any]] = {
    "titan-embed": {"inputText": EMBED_TEXT},
    "titan-embed-image": {"inputText": EMBED_TEXT},
    "cohere-embed": {"texts": [EMBED_TEXT], "input_type": "search_query"},
}


def _availability(facts: Facts, model_id: str) -> str | None:
    """None when the account may call ``model_id`` in the region, else why not."""
    client = facts.client("bedrock")
    answer = aws_call(client.get_foundation_model_availability, modelId=model_id, service="bedrock")
    for key, ok in (
        ("authorizationStatus", "AUTHORIZED"),
        ("entitlementAvailability", "AVAILABLE"),
        ("regionAvailability", "AVAILABLE"),
    ):
        if answer.get(key) != ok:
            return f"{key} {answer.get(key)}"
    return None


def models_enabled(facts: Facts) -> tuple[list[str], Check]:
    """The model ids (or inference profile ids) ``--model all`` checks, and a check that says how they were found."""
    region = facts.region or ""
    kw: dict[str, Any] = {"region": region}
    if not facts.credentials_ok:
        return [], Check("models.all", TITLE, "info", "skip", "Skipped: no working credentials.", **kw)
    catalog = load_catalog()
    try:
        listed = aws_call(facts.client("bedrock").list_foundation_models, service="bedrock")
        offered = {str(m["modelId"]) for m in listed.get("modelSummaries", [])}
        candidates = [m for m in catalog.models_in_region(region) if m.model_id in offered]
        with ThreadPoolExecutor(max_workers=4) as pool:  # a few at a time: well inside the API's rate
            reasons = list(pool.map(lambda m: _availability(facts, m.model_id), candidates))
    except BedrockctlError as exc:
        return [], Check(
            "models.all",
            TITLE,
            "medium",
            "skip",
            f"Cannot tell which models are enabled: {exc.code}: {exc.message}",
            "Allow bedrock:ListFoundationModels and bedrock:GetFoundationModelAvailability "
            "(`bedrockctl policy --features invoke`), or name the models with --model.",
            **kw,
        )
    enabled, refused = [], {}
    for model, reason in zip(candidates, reasons, strict=True):
        if reason is not None:
            refused[model.model_id] = reason
            continue
        profile = None if model.on_demand_in(region) else catalog.profile_for_region(model.model_id, region)
        enabled.append(profile.profile_id if profile else model.model_id)
    evidence = (
        f"{len(enabled)} of the catalog's {len(catalog.models_in_region(region))} models in {region} are enabled "
        f"in the account" + (f"; not enabled: {', '.join(sorted(refused))}" if refused else "") + "."
    )
    data = {"enabled": enabled, "not_enabled": refused}
    return enabled, Check("models.all", TITLE, "info", "pass", evidence, data=data, **kw)


def is_embedding(model: str) -> bool:
    fm = get_model(model)
    return fm is not None and "EMBEDDING" in fm.output_modalities


def makes_images(model: str) -> bool:
    fm = get_model(model)
    return fm is not None and "IMAGE" in fm.output_modalities and "TEXT" not in fm.output_modalities


def embedding_access(facts: Facts, model: str, kw: dict[str, Any]) -> Check:
    """Model access of an embedding model: one InvokeModel with the smallest body of its format."""
    title = "Model access (one embedding call)"
    fm = get_model(model)
    body = EMBED_BODIES.get(fm.body_format if fm else "")
    if body is None:
        return Check(
            "models.access", title, "high", "skip", f"No embedding request known for {model}'s body format.", **kw
        )
    started = time.perf_counter()
    try:
        with aws_errors(service="bedrock-runtime", operation="InvokeModel"):
            resp = facts.client("bedrock-runtime").invoke_model(
                modelId=model, body=json.dumps(body), contentType="application/json", accept="application/json"
            )
            answer = json.loads(resp["body"].read())
    except BedrockctlError as err:
        ms = int((time.perf_counter() - started) * 1000)
        data = {"error_code": err.code, "latency_ms": ms}
        return Check(
            "models.access", title, "high", "fail", f"{err.code}: {err.message}", err.remediation, data=data, **kw
        )
    ms = int((time.perf_counter() - started) * 1000)
    vector = answer.get("embedding") or (answer.get("embeddings") or [[]])[0]
    return Check(
        "models.access",
        title,
        "high",
        "pass" if vector else "fail",
        f"InvokeModel answered in {ms} ms with a vector of {len(vector)} dimensions."
        if vector
        else f"InvokeModel answered without an embedding: {sorted(answer)}.",
        duration_ms=ms,
        data={"latency_ms": ms, "dimensions": len(vector)},
        **kw,
    )
