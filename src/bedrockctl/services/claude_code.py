"""Claude Code through the gateway: the ``settings.json`` (and the equivalent environment) for a gateway key.

Claude Code speaks Bedrock when ``CLAUDE_CODE_USE_BEDROCK=1``; ``ANTHROPIC_BEDROCK_BASE_URL`` points it at the
gateway, ``AWS_BEARER_TOKEN_BEDROCK`` carries the key's bearer token (Bedrock API-key auth, so no AWS credentials
are needed on the laptop), ``AWS_REGION`` is required (Claude Code does not read it from ``~/.aws/config``).
``ANTHROPIC_MODEL`` and ``ANTHROPIC_SMALL_FAST_MODEL`` (with ``ANTHROPIC_DEFAULT_HAIKU_MODEL``, its newer name) are
mapped to inference profiles the key may use: the largest Claude for the main model, the smallest for the fast
one. ``CLAUDE_CODE_MAX_OUTPUT_TOKENS`` caps each answer (and so each reservation). A gateway serving a private CA
(``serve --tls self-signed``) is trusted through ``NODE_EXTRA_CA_CERTS``.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bedrockctl.catalog import get_model, parse_model_ref
from bedrockctl.errors import ValidationFailed
from bedrockctl.runtime.resolve import canonical_model_id

# Claude families from the largest to the smallest (the fast model is the last one the key may use)
_FAMILY_ORDER = ("opus", "sonnet", "haiku")
DEFAULT_MAX_OUTPUT_TOKENS = 8192


@dataclass(frozen=True)
class ClaudeCodeModels:
    main: str
    fast: str


def pick_models(allowed: Sequence[str], region: str = "us-east-1") -> ClaudeCodeModels:
    """The main and fast models among the key's allowed models (ids, profile ids or aliases; none = any model:
    the ``sonnet`` and ``haiku`` aliases), as inference profiles where the model has no on-demand throughput in
    ``region``."""
    claude: list[tuple[int, str]] = []
    for ref in allowed or ("sonnet", "haiku"):
        model_ref = _invocable(canonical_model_id(ref), region)
        try:
            parsed = parse_model_ref(model_ref)
        except ValueError:
            continue
        base = parsed.model_id or ""
        if not base.startswith("anthropic.claude"):
            continue
        rank = next((i for i, fam in enumerate(_FAMILY_ORDER) if fam in base), len(_FAMILY_ORDER))
        claude.append((rank, model_ref))
    if not claude:
        raise ValidationFailed(
            "the key may use no Claude model, so Claude Code could not run with it",
            remediation="Create the key with --model for a Claude inference profile, e.g. "
            "--model us.anthropic.claude-sonnet-4-5-20250929-v1:0 --model us.anthropic.claude-haiku-4-5-20251001-v1:0.",
        )
    claude.sort()
    return ClaudeCodeModels(main=claude[0][1], fast=claude[-1][1])


def _invocable(model_ref: str, region: str) -> str:
    """A bare model id without on-demand throughput in ``region`` becomes its geography's inference profile."""
    from bedrockctl.catalog import load_catalog

    model = get_model(model_ref)
    if model is None or model.on_demand_in(region):
        return model_ref
    profile = load_catalog().profile_for_region(model_ref, region)
    return profile.profile_id if profile is not None else model_ref


def max_output_tokens(model_ref: str, requested: int | None) -> int:
    """``requested``, else the model's documented maximum capped at ``DEFAULT_MAX_OUTPUT_TOKENS``."""
    if requested is not None:
        if requested < 1:
            raise ValidationFailed("--max-output-tokens must be at least 1", remediation="Pass e.g. 8192.")
        return requested
    ref = parse_model_ref(model_ref)
    model = get_model(ref.model_id) if ref.model_id else None
    limit = getattr(model, "max_output_tokens", None) if model is not None else None
    return min(int(limit), DEFAULT_MAX_OUTPUT_TOKENS) if limit else DEFAULT_MAX_OUTPUT_TOKENS


def settings_for(
    token: str,
    *,
    gateway_url: str,
    region: str,
    allowed: Sequence[str],
    max_tokens: int | None = None,
    ca_file: str | None = None,
) -> dict[str, Any]:
    """Claude Code's ``settings.json`` for a gateway key's bearer ``token`` (validate first with ``token=""``:
    nothing is created when the key could not serve Claude Code)."""
    if not gateway_url.startswith(("http://", "https://")):
        raise ValidationFailed(
            f"--gateway-url {gateway_url!r} is not an http(s) URL",
            remediation="Pass e.g. https://gateway.example:8443.",
        )
    models = pick_models(allowed, region)
    env = {
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_BEDROCK_BASE_URL": gateway_url.rstrip("/"),
        "AWS_REGION": region,
        "AWS_BEARER_TOKEN_BEDROCK": token,
        "ANTHROPIC_MODEL": models.main,
        "ANTHROPIC_SMALL_FAST_MODEL": models.fast,
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": models.fast,
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS": str(max_output_tokens(models.main, max_tokens)),
    }
    if ca_file:
        env["NODE_EXTRA_CA_CERTS"] = ca_file
    return {"env": env}


def env_lines(settings: dict[str, Any]) -> list[str]:
    """``export NAME=value`` lines equivalent to ``settings`` (quoted for a POSIX shell)."""
    return [f"export {name}={shlex.quote(value)}" for name, value in settings["env"].items()]


def settings_json(settings: dict[str, Any]) -> str:
    return json.dumps(settings, indent=2)
