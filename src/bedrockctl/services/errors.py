"""Errors of the console services (users, stored credentials), part of the one error tree."""

from __future__ import annotations

from bedrockctl.errors import BedrockctlError


class PermissionDenied(BedrockctlError):
    code = "BRC-CON-001"
    title = "Not allowed"
    default_remediation = "Ask an administrator of this console."
    exit_code = 5
    http_status = 403


class NotFound(BedrockctlError):
    code = "BRC-CON-002"
    title = "Not found"
    default_remediation = "Check the link; you can only see your own objects."
    exit_code = 6
    http_status = 404


class AuthenticationFailed(BedrockctlError):
    code = "BRC-CON-003"
    title = "Sign-in failed"
    default_remediation = "Check the user name and password."
    exit_code = 4
    http_status = 401


class EncryptionError(BedrockctlError):
    code = "BRC-CON-010"
    title = "Stored secret cannot be decrypted"
    default_remediation = (
        "The master key changed or is unreadable: restore the master key file (or KMS key access) used when the "
        "secret was stored, or enter the secret again."
    )
    exit_code = 4
    http_status = 500
