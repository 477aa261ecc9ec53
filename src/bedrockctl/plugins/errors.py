"""Errors of the plugin API (codes ``BRC-PLG-00N``).

They are ``ValidationFailed`` (exit code 2, HTTP 400) and also ``ValueError``, which is what OpenCITE's plugin API
raises for an unknown plugin type or asset type: code written against OpenCITE keeps catching them.
"""

from __future__ import annotations

from bedrockctl.errors import ValidationFailed


class UnknownPlugin(ValidationFailed, ValueError):
    code = "BRC-PLG-001"
    title = "Unknown plugin"
    default_remediation = (
        "Use aws_bedrock, aws_sagemaker or a plugin registered in the 'bedrockctl.plugins' entry-point group."
    )


class UnknownAssetType(ValidationFailed, ValueError):
    code = "BRC-PLG-002"
    title = "Unknown asset type for this plugin"
    default_remediation = "Use one of the plugin's asset types (list_plugins() lists them per plugin)."
