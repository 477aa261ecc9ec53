"""Errors of the command line itself (codes ``BRC-CLI-00N``): what the user typed, not what AWS said."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class CommandLineError(BedrockctlError):
    code = "BRC-CLI-001"
    title = "Invalid command line"
    default_remediation = "Run the command with --help for its options and examples (docs/cli.md)."
    exit_code = 2
    http_status = 400


class Interrupted(BedrockctlError):
    code = "BRC-CLI-002"
    title = "Interrupted"
    default_remediation = "The command stopped before it finished: run it again to complete it."
    exit_code = 130
    http_status = 499


class PortUnavailable(BedrockctlError):
    code = "BRC-CLI-003"
    title = "Port not available"
    default_remediation = "Choose another port with --port (0 picks any free port where the command allows it)."
    exit_code = 2
    http_status = 409
