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


class LoginThrottled(AuthenticationFailed):
    code = "BRC-CON-004"
    title = "Too many sign-in attempts"
    default_remediation = "Wait the number of seconds given (Retry-After), then sign in again."
    http_status = 429

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(message or f"too many failed sign-ins: try again in {self.retry_after} s")


class LoginBusy(BedrockctlError):
    code = "BRC-CON-005"
    title = "Too many sign-ins at once"
    default_remediation = "Try again in a few seconds (Retry-After)."
    exit_code = 4
    http_status = 503

    def __init__(self, retry_after: float, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(message or "the server is checking other sign-ins: try again in a few seconds")


class EncryptionError(BedrockctlError):
    code = "BRC-CON-010"
    title = "Stored secret cannot be decrypted"
    default_remediation = (
        "The master key changed or is unreadable: restore the master key file (or KMS key access) used when the "
        "secret was stored, or enter the secret again."
    )
    exit_code = 4
    http_status = 500


class OidcFailed(AuthenticationFailed):
    code = "BRC-CON-011"
    title = "Sign-in through the identity provider failed"
    default_remediation = (
        "Start the sign-in again; if it keeps failing, check [gateway.oidc] and the client registered at the provider."
    )


class BackstopTargetUnsupported(BedrockctlError):
    code = "BRC-JOB-001"
    title = "Budget backstop cannot deny this principal"
    default_remediation = (
        "The backstop attaches a deny policy to IAM users and role sessions only; stop this caller (root, federated "
        'user) by other means, or set backstop_action = "alert" for its environment.'
    )
    exit_code = 1


class JobFailed(BedrockctlError):
    code = "BRC-JOB-004"
    title = "Scheduled job failed"
    default_remediation = (
        "Read the run's error in `bedrockctl jobs --job NAME`; the run is recorded, and a failure streak is alerted "
        "once (the gateway's webhook / SNS topic and the server log)."
    )
    exit_code = 1


class UnknownJob(BedrockctlError):
    code = "BRC-JOB-002"
    title = "No such scheduled job"
    default_remediation = "Use one of discovery, ingest, budgets, and set its interval under [jobs]."
    exit_code = 2


class JobBusy(BedrockctlError):
    code = "BRC-JOB-003"
    title = "Scheduled job already running"
    default_remediation = "Another process runs this job now; see `bedrockctl jobs` and try again when it is done."
    exit_code = 1
