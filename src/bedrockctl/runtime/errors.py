"""Runtime-specific errors (codes ``BRC-RUN-00N``), subclasses of the shared error tree."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError, ValidationFailed


class GeographyNotAllowed(ValidationFailed):
    code = "BRC-RUN-001"
    title = "Model route leaves the allowed geographies"
    default_remediation = (
        "Use a profile of an allowed geography (e.g. `eu.<model-id>`), call from a region of that geography, "
        "or widen `runtime.allowed_geographies`."
    )


class ModelNotAllowed(ValidationFailed):
    code = "BRC-RUN-002"
    title = "Model not allowed in this environment"
    default_remediation = "Pick one of the environment's allowed_models, or add the model to the environment."
    exit_code = 5
    http_status = 403


class AllRoutesFailed(BedrockctlError):
    code = "BRC-RUN-003"
    title = "Every route for the call failed"
    default_remediation = (
        "Each attempt is listed in the details (re-run with --verbose); add failover regions "
        "(`runtime.failover_regions`) or a fallback model (`runtime.fallback_models`)."
    )
    exit_code = 8
    http_status = 503


class LocalUpstreamError(BedrockctlError):
    code = "BRC-RUN-004"
    title = "Local OpenAI-compatible upstream failed"
    default_remediation = "Check that the local server (e.g. `ollama serve`) runs at `runtime.local.base_url`."
    exit_code = 9
    http_status = 502


class StreamInterrupted(BedrockctlError):
    code = "BRC-RUN-005"
    title = "The response stream ended with an error"
    default_remediation = "Retry the call; a partial stream is never cached nor billed twice."
    exit_code = 8
    http_status = 502


class UnresolvableModel(ValidationFailed):
    code = "BRC-RUN-006"
    title = "Model reference cannot be resolved"
    default_remediation = (
        "Pass a Bedrock model id, an inference profile id/ARN, an alias (`sonnet`, `haiku`) or an Anthropic API "
        "model name; `bedrockctl models` lists them."
    )
