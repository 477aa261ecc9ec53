"""The one error tree of bedrockctl.

Every error carries a stable ``code`` (``BRC-<AREA>-<NNN>``), a human ``message`` and a ``remediation``
sentence that tells the user what to do next. The CLI maps them to exit codes, the gateway to the caller's
protocol. ``docs/errors.md`` is generated from this module (``python -m bedrockctl.errors``).

No I/O happens at import time.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bedrockctl.redact import redact_text


class BedrockctlError(Exception):
    """Base of every error bedrockctl raises on purpose."""

    code: ClassVar[str] = "BRC-GEN-000"
    title: ClassVar[str] = "Unexpected error"
    default_remediation: ClassVar[str] = "Re-run with --verbose and report the output if the problem persists."
    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        remediation: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = redact_text(message or self.title)
        self.remediation = redact_text(remediation or self.default_remediation)
        self.details = {k: redact_text(str(v)) if isinstance(v, str) else v for k, v in (details or {}).items()}
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "remediation": self.remediation,
        }
        if self.details:
            out["details"] = self.details
        return out


# --- configuration ---------------------------------------------------------------------------------------
class ConfigError(BedrockctlError):
    code = "BRC-CFG-001"
    title = "Invalid configuration"
    default_remediation = "Fix the named key in the named file (see docs/configuration.md)."
    exit_code = 3


class ConfigFileError(ConfigError):
    code = "BRC-CFG-002"
    title = "Configuration file cannot be read"
    default_remediation = "Check that the file exists, is readable and is valid TOML."


class UnsupportedProviderError(ConfigError):
    code = "BRC-CFG-003"
    title = "Unsupported LLM provider"
    default_remediation = "bedrockctl only drives Amazon Bedrock: set LLM_PROVIDER=bedrock or unset it."


class SSMConfigError(ConfigError):
    code = "BRC-CFG-004"
    title = "Configuration from SSM Parameter Store cannot be read"
    default_remediation = (
        "Check BEDROCKCTL_SSM_PATH and that the caller may call ssm:GetParametersByPath on it, or unset it."
    )


# --- credentials -----------------------------------------------------------------------------------------
class CredentialsError(BedrockctlError):
    code = "BRC-CRED-000"
    title = "Credential problem"
    exit_code = 4
    http_status = 401


class NoCredentialsFound(CredentialsError):
    code = "BRC-CRED-001"
    title = "No AWS credentials found"
    default_remediation = (
        "Set AWS_PROFILE (then `aws sso login --profile <name>` for SSO), or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run on a host with an instance/container role."
    )


class ExpiredCredentials(CredentialsError):
    code = "BRC-CRED-002"
    title = "AWS credentials have expired"
    default_remediation = "Refresh the temporary credentials (re-run the command that issued them, or `aws sso login`)."


class SSOTokenExpired(CredentialsError):
    code = "BRC-CRED-003"
    title = "AWS SSO (IAM Identity Center) session has expired"
    default_remediation = "Run `aws sso login --profile <profile>` and retry."


class InvalidCredentials(CredentialsError):
    code = "BRC-CRED-004"
    title = "AWS does not recognise these credentials"
    default_remediation = (
        "The access key id is unknown or the secret is wrong: check for a stray AWS_ACCESS_KEY_ID in the "
        "environment, or create a new key."
    )


class ProfileNotFound(CredentialsError):
    code = "BRC-CRED-005"
    title = "AWS profile not found"
    default_remediation = "List profiles with `aws configure list-profiles` and pass an existing one."


class AssumeRoleFailed(CredentialsError):
    code = "BRC-CRED-006"
    title = "Role assumption failed"
    default_remediation = (
        "Check the role's trust policy allows your principal and that the external id matches "
        "its sts:ExternalId condition."
    )
    http_status = 403


class CredentialProcessFailed(CredentialsError):
    code = "BRC-CRED-007"
    title = "credential_process failed"
    default_remediation = "Run the profile's credential_process command by hand and fix its output."


# --- authorisation / resources ---------------------------------------------------------------------------
class AccessDenied(BedrockctlError):
    code = "BRC-AUTH-001"
    title = "Access denied"
    default_remediation = (
        "Grant the missing IAM action to the caller (`bedrockctl policy` prints a least-privilege policy), "
        "and check SCPs and VPC endpoint policies."
    )
    exit_code = 5
    http_status = 403


class ModelAccessNotGranted(AccessDenied):
    code = "BRC-AUTH-002"
    title = "Model access not granted in this account"
    default_remediation = "Request access in the Bedrock console (Model access) for this model and region, then retry."


class ResourceNotFound(BedrockctlError):
    code = "BRC-RES-001"
    title = "Resource not found"
    default_remediation = "Check the id and the region: Bedrock resources are regional."
    exit_code = 6
    http_status = 404


class UnknownModel(ResourceNotFound):
    code = "BRC-RES-002"
    title = "Unknown model id"
    default_remediation = "Run `bedrockctl models` to list the model ids offered in this region."


class OrganizationNotInUse(ResourceNotFound):
    code = "BRC-RES-003"
    title = "The account is not in an AWS Organization"
    default_remediation = (
        "Name the accounts instead: --accounts ID,ID with --role-name (and --external-id), e.g. the demo's "
        "`bedrockctl discover --accounts 123456789012,210987654321 --role-name bedrock-cross-account --external-id "
        "bedrockctl-demo`; or run from the organization's management account or a delegated administrator."
    )


class ValidationFailed(BedrockctlError):
    code = "BRC-VAL-001"
    title = "Request rejected as invalid"
    default_remediation = "Check the request parameters against the API reference."
    exit_code = 2
    http_status = 400


class InferenceProfileRequired(ValidationFailed):
    code = "BRC-VAL-002"
    title = "On-demand throughput isn't supported for this model"
    default_remediation = (
        "Call the model through an inference profile (e.g. `us.<model-id>`); "
        "`bedrockctl doctor --model <id>` names the profile to use in your region."
    )


class ModelNotReady(BedrockctlError):
    code = "BRC-MOD-001"
    title = "Model is not ready"
    default_remediation = "The model is loading or warming up; retry in a few seconds."
    exit_code = 7
    http_status = 503


class ModelTimeout(BedrockctlError):
    code = "BRC-MOD-002"
    title = "Model timed out"
    default_remediation = "Retry with a smaller prompt or max_tokens, or use streaming."
    exit_code = 7
    http_status = 504


# --- capacity --------------------------------------------------------------------------------------------
class Throttled(BedrockctlError):
    code = "BRC-CAP-001"
    title = "Request throttled"
    default_remediation = (
        "Retry with backoff, spread load across regions with a cross-region inference profile, or request a "
        "quota increase in Service Quotas."
    )
    exit_code = 8
    http_status = 429


class QuotaExceeded(BedrockctlError):
    code = "BRC-CAP-002"
    title = "Service quota exceeded"
    default_remediation = "Request a quota increase in Service Quotas, or delete unused resources."
    exit_code = 8
    http_status = 429


class ServiceUnavailable(BedrockctlError):
    code = "BRC-CAP-003"
    title = "Service unavailable"
    default_remediation = "The service is temporarily unavailable: retry, or fail over to another region."
    exit_code = 8
    http_status = 503


# --- network / region ------------------------------------------------------------------------------------
class EndpointUnreachable(BedrockctlError):
    code = "BRC-NET-001"
    title = "AWS endpoint unreachable"
    default_remediation = (
        "Check network egress: in a private subnet you need a VPC interface endpoint with private DNS on; "
        "check HTTPS_PROXY/NO_PROXY and AWS_ENDPOINT_URL; `bedrockctl doctor` tests each link."
    )
    exit_code = 9
    http_status = 502


class ConnectTimeout(EndpointUnreachable):
    code = "BRC-NET-002"
    title = "Connection to AWS timed out"
    default_remediation = (
        "DNS may resolve to public addresses without egress: enable private DNS on the VPC endpoint "
        "(com.amazonaws.<region>.bedrock-runtime) or set HTTPS_PROXY; `bedrockctl doctor` shows the evidence."
    )
    http_status = 504


class UnsupportedRegion(BedrockctlError):
    code = "BRC-REG-001"
    title = "Region not supported"
    default_remediation = (
        "Pick a region where Amazon Bedrock is offered (`bedrockctl models --all-regions`) with --region or AWS_REGION."
    )
    exit_code = 2
    http_status = 400


class RegionNotSet(UnsupportedRegion):
    code = "BRC-REG-002"
    title = "No AWS region configured"
    default_remediation = "Pass --region, set AWS_REGION, or set `region` in the [aws] config section."


# --- AWS catch-all ---------------------------------------------------------------------------------------
class AwsServiceError(BedrockctlError):
    code = "BRC-AWS-001"
    title = "AWS returned an error"
    default_remediation = "See the AWS error code in the message; re-run with --verbose for the request id."
    exit_code = 1
    http_status = 502


# --- installation ----------------------------------------------------------------------------------------
class MissingExtra(BedrockctlError):
    code = "BRC-INS-001"
    title = "An optional part of bedrockctl is not installed"
    default_remediation = "Install the named extra, e.g. pip install 'bedrockctl[server]' (see README)."
    exit_code = 10
    http_status = 500


def _import_error_modules() -> None:
    """Import every ``errors.py`` of the package, so subclasses defined next to their feature are known."""
    import importlib
    from pathlib import Path

    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("errors.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        importlib.import_module(".".join(rel.parts))


def all_error_classes() -> list[type[BedrockctlError]]:
    """Every error class of bedrockctl (all feature ``errors.py`` modules included), sorted by code."""
    _import_error_modules()
    seen: list[type[BedrockctlError]] = []

    def walk(cls: type[BedrockctlError]) -> None:
        if cls not in seen:
            seen.append(cls)
        for sub in cls.__subclasses__():
            walk(sub)

    walk(BedrockctlError)
    return sorted(seen, key=lambda c: c.code)


def render_markdown() -> str:
    """The text of ``docs/errors.md``."""
    lines = [
        "# Error codes",
        "",
        "Generated from `src/bedrockctl/errors.py` by `python -m bedrockctl.errors > docs/errors.md`.",
        "Every error bedrockctl reports carries one of these codes and a remediation. The CLI prints",
        "`CODE: message` and the remediation on one line each and exits with the listed code; with `--output json`",
        '(or `--json`) it prints `{"error": {...}}`, and likewise in yaml, text and csv (see docs/cli.md).',
        "",
        "| code | title | exit | HTTP | remediation |",
        "| --- | --- | --- | --- | --- |",
    ]
    for cls in all_error_classes():
        rem = cls.default_remediation.replace("|", "\\|")
        lines.append(f"| `{cls.code}` | {cls.title} | {cls.exit_code} | {cls.http_status} | {rem} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - exercised by the docs test
    # Run as a script this module is ``__main__``: render from the importable module so every feature's
    # subclasses (which derive from ``bedrockctl.errors``) are walked.
    from bedrockctl import errors as _errors

    print(_errors.render_markdown(), end="")
