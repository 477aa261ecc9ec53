"""A record's values as column values, read the way the DuckDB fast path (``fastsql``) reads them: billed counts
(``count``), text columns (``json_text``), the billed dimensions besides tokens (``billing_fields``) and the
foundation model behind a model reference (``resolve_base``, ``router_invoked_base``)."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import orjson

from bedrockctl.analytics.record_columns import GUARDRAIL_UNITS

IMAGE_DEFAULTS = (1, "standard", 1024, 1024)  # Titan Image Generator v2 / Nova Canvas request defaults


@lru_cache(maxsize=65536)
def resolve_base(model_id: str) -> str | None:
    """The foundation model behind a model reference, when it can be told without AWS calls."""
    from bedrockctl.catalog import parse_model_ref

    try:
        ref = parse_model_ref(model_id)
    except ValueError:
        return None
    if ref.kind in ("foundation-model", "inference-profile", "custom-model"):
        return ref.model_id
    return None


def router_invoked_base(output: Any) -> str | None:
    """The model a prompt router sent a call to, from the logged response (``output.outputBodyJson``, logged with
    text data delivery): Converse answers name it in ``trace.promptRouter.invokedModelId``. The log has no field of
    its own for it (AWS documents none), so without the body the call stays unpriced."""
    body = output.get("outputBodyJson") if isinstance(output, dict) else None
    trace = body.get("trace") if isinstance(body, dict) else None
    router = trace.get("promptRouter") if isinstance(trace, dict) else None
    invoked = router.get("invokedModelId") if isinstance(router, dict) else None
    return resolve_base(invoked) if isinstance(invoked, str) else None


MAX_COUNT = 2**63 - 1  # a BIGINT column's largest value


def count(value: Any, field: str) -> int:
    """A billed quantity (tokens, units, images): a whole number from 0 to ``MAX_COUNT``, absent = 0. Anything else
    makes the record bad (reported with its file and line), never a negative or overflowing amount of money."""
    if value is None:
        return 0
    if isinstance(value, bool | float):  # converted as the fast path's BIGINT columns convert them (1.5 -> 2)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{field} is not a count: {value}")
        value = int(Decimal(value).to_integral_value(ROUND_HALF_UP))
    if not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ValueError(f"{field} is not a count: {str(value)[:40]}")
    return value


def json_text(value: Any) -> str | None:
    """A text column's value as DuckDB's ``json_extract_string`` (the fast path) reads it: a string as is, any other
    JSON value (number, boolean, object, array) as its compact JSON text, null as NULL. A log that puts a number or
    an object where AWS writes a string is stored, not refused."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def billing_fields(r: dict[str, Any], op: str) -> dict[str, Any]:
    """What a record was billed by besides tokens, in the stored columns (``fastsql.select_sql`` says the same):

    - the service tier: the record's ``serviceTier.type``, else the logged Converse response body's;
    - guardrail text units per policy: the record's ``guardrailUsage``, else (ApplyGuardrail) the logged response
      body's ``usage``;
    - images: a logged request body with ``imageGenerationConfig`` (Titan Image Generator, Nova Canvas) asks for
      ``numberOfImages`` of ``quality`` at ``width`` x ``height`` (the models' defaults where a key is absent).
    """
    inp, out = r.get("input") or {}, r.get("output") or {}
    out_body = out.get("outputBodyJson") if isinstance(out.get("outputBodyJson"), dict) else {}
    tier = (r.get("serviceTier") or {}).get("type")
    if tier is None:
        tier = ((out_body or {}).get("serviceTier") or {}).get("type")
    units = r.get("guardrailUsage")
    if not isinstance(units, dict):
        units = (out_body or {}).get("usage") if op == "ApplyGuardrail" else None
        units = units if isinstance(units, dict) else {}
    fields: dict[str, Any] = {"service_tier": json_text(tier)}
    for key, column, _ in GUARDRAIL_UNITS:
        fields[column] = count(units.get(key), f"guardrailUsage.{key}")
    in_body = inp.get("inputBodyJson")
    config = in_body.get("imageGenerationConfig") if isinstance(in_body, dict) else None
    if isinstance(config, dict):
        n, quality, width, height = IMAGE_DEFAULTS
        fields["image_count"] = count(config.get("numberOfImages"), "numberOfImages") or n
        fields["image_quality"] = json_text(config.get("quality")) or quality
        fields["image_size"] = (
            f"{count(config.get('width'), 'width') or width}x{count(config.get('height'), 'height') or height}"
        )
    else:
        fields.update(image_count=0, image_quality=None, image_size=None)
    return fields
