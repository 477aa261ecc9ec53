"""Errors of the store's repositories (gateway keys, alert deliveries)."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class KeyNotFound(BedrockctlError):
    code = "BRC-GW-001"
    title = "Gateway key not found"
    default_remediation = "List keys with `bedrockctl keys list`."
    exit_code = 4
