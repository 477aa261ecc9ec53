"""Errors of alert delivery."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class AlertDeliveryFailed(BedrockctlError):
    code = "BRC-ALR-001"
    title = "Budget alert not delivered"
    default_remediation = (
        "Check that the webhook answers 2xx (or that the caller may sns:Publish to the topic); the alert is retried "
        "and its outcome is shown by `bedrockctl budget status` and the console."
    )
    exit_code = 1
