"""The columns parsed records are stored in: the invocation table's (``INV_COLUMNS``, with the billed dimensions
besides tokens: ``BILLING_COLUMNS``, of which ``BILLING_COUNTS`` are counts, and one count per guardrail policy:
``GUARDRAIL_UNITS``) and the CloudTrail table's (``TRAIL_COLUMNS``), each as (name, type)."""

from __future__ import annotations

# The runtime's ``GuardrailUsage`` members: (log key, stored column, the price book's policy type)
GUARDRAIL_UNITS: tuple[tuple[str, str, str], ...] = (
    ("topicPolicyUnits", "guardrail_topic_units", "denied_topics"),
    ("contentPolicyUnits", "guardrail_content_units", "content_filter"),
    ("wordPolicyUnits", "guardrail_word_units", "word_filter"),
    ("sensitiveInformationPolicyUnits", "guardrail_pii_units", "sensitive_information"),
    ("sensitiveInformationPolicyFreeUnits", "guardrail_pii_free_units", "sensitive_information_regex"),
    ("contextualGroundingPolicyUnits", "guardrail_grounding_units", "contextual_grounding"),
    ("contentPolicyImageUnits", "guardrail_image_units", "image_content_filter"),
    ("automatedReasoningPolicyUnits", "guardrail_ar_units", "automated_reasoning"),
)

INV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("request_id", "string"),
    ("ts", "string"),
    ("account_id", "string"),
    ("region", "string"),
    ("inference_region", "string"),
    ("operation", "string"),
    ("model_id", "string"),
    ("model_base", "string"),
    ("identity_arn", "string"),
    ("principal", "string"),
    ("principal_type", "string"),
    ("permission_set", "string"),
    ("team", "string"),
    ("workflow", "string"),
    ("tags", "string"),
    ("input_tokens", "int64"),
    ("output_tokens", "int64"),
    ("cache_read_tokens", "int64"),
    ("cache_write_tokens", "int64"),  # every cache write, as logged
    ("cache_write_1h_tokens", "int64"),  # of which with the 1-hour TTL (``input.cacheDetails``)
    ("latency_ms", "int64"),
    ("error_code", "string"),
    ("source", "string"),
    ("match_key", "string"),
    ("service_tier", "string"),  # priority | default | flex | reserved as logged (``serviceTier.type``); NULL: none
    ("image_count", "int64"),  # images requested (``imageGenerationConfig.numberOfImages``); 0: not an image call
    ("image_quality", "string"),  # standard | premium
    ("image_size", "string"),  # WIDTHxHEIGHT as requested
    *((column, "int64") for _, column, _ in GUARDRAIL_UNITS),
)
BILLING_COLUMNS = ("service_tier", "image_count", "image_quality", "image_size", *(c for _, c, _ in GUARDRAIL_UNITS))
BILLING_COUNTS = frozenset(c for c, kind in INV_COLUMNS if c in BILLING_COLUMNS and kind == "int64")
TRAIL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "string"),
    ("request_id", "string"),
    ("ts", "string"),
    ("account_id", "string"),
    ("region", "string"),
    ("operation", "string"),
    ("model_id", "string"),
    ("model_base", "string"),
    ("identity_arn", "string"),
    ("principal", "string"),
    ("principal_type", "string"),
    ("permission_set", "string"),
    ("source_ip", "string"),
    ("user_agent", "string"),
    ("error_code", "string"),
    ("match_key", "string"),
)
