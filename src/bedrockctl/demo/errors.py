"""Errors of ``bedrockctl demo``, part of the one error tree."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class DemoPortUnavailable(BedrockctlError):
    code = "BRC-DEMO-001"
    title = "A port the demo needs is not free"
    default_remediation = (
        "Stop the program using it, or give the demo another port: --port for the console, --tls-port for the "
        "HTTPS gateway, --sandbox-port for the sandbox (0 picks any free port)."
    )
    exit_code = 2


class DemoDataDirRefused(BedrockctlError):
    code = "BRC-DEMO-002"
    title = "The demo will not empty this directory"
    default_remediation = (
        "Every demo run starts from an empty data directory: pass --data-dir a new or empty directory (or one an "
        "earlier demo run made)."
    )
    exit_code = 2


class DemoWorkloadErrors(BedrockctlError):
    code = "BRC-DEMO-003"
    title = "The demo workload met unexpected client errors"
    default_remediation = (
        "Read the named errors (re-run with --verbose for details); with the newest botocore, check that the "
        "gateway serves HTTPS and that the client trusts the demo's CA."
    )
