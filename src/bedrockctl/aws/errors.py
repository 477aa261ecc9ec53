"""Translate botocore exceptions and AWS error codes into bedrockctl errors with a remediation.

Code outside ``aws/`` never catches botocore's exceptions: it calls AWS through ``aws_call`` (or inside
``with aws_errors(...)``) and catches ``BedrockctlError``; ``error_code`` gives the AWS error code of a translated
error when a caller must tell one AWS answer from another (``NotFoundException`` meaning "create it").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore import exceptions as bce

from bedrockctl import errors as E

T = TypeVar("T")
_DENIED_ACTION = re.compile(r"not authorized to perform:?\s+([\w-]+:[\w*]+)(?:\s+on resource:?\s+(\S+))?", re.I)

_CODE_MAP: dict[str, type[E.BedrockctlError]] = {
    "ExpiredToken": E.ExpiredCredentials,
    "ExpiredTokenException": E.ExpiredCredentials,
    "RequestExpired": E.ExpiredCredentials,
    "TokenRefreshRequired": E.ExpiredCredentials,
    "UnrecognizedClientException": E.InvalidCredentials,
    "InvalidClientTokenId": E.InvalidCredentials,
    "InvalidAccessKeyId": E.InvalidCredentials,
    "SignatureDoesNotMatch": E.InvalidCredentials,
    "IncompleteSignature": E.InvalidCredentials,
    "AccessDeniedException": E.AccessDenied,
    "AccessDenied": E.AccessDenied,
    "UnauthorizedOperation": E.AccessDenied,
    "AuthorizationError": E.AccessDenied,
    "ResourceNotFoundException": E.ResourceNotFound,
    "NoSuchEntity": E.ResourceNotFound,
    "NotFoundException": E.ResourceNotFound,
    "AWSOrganizationsNotInUseException": E.OrganizationNotInUse,
    "ValidationException": E.ValidationFailed,
    "ValidationError": E.ValidationFailed,
    "InvalidParameterValue": E.ValidationFailed,
    "ThrottlingException": E.Throttled,
    "Throttling": E.Throttled,
    "TooManyRequestsException": E.Throttled,
    "ThrottledException": E.Throttled,
    "RequestLimitExceeded": E.Throttled,
    "ServiceQuotaExceededException": E.QuotaExceeded,
    "LimitExceededException": E.QuotaExceeded,
    "ModelNotReadyException": E.ModelNotReady,
    "ModelTimeoutException": E.ModelTimeout,
    "ServiceUnavailableException": E.ServiceUnavailable,
    "ServiceUnavailable": E.ServiceUnavailable,
    "InternalServerException": E.ServiceUnavailable,
    "InternalFailure": E.ServiceUnavailable,
}


def _context(service: str | None, operation: str | None, region: str | None) -> str:
    parts = [p for p in (service, operation) if p]
    where = ".".join(parts)
    if region:
        where = f"{where} in {region}" if where else region
    return f" ({where})" if where else ""


def translate_client_error(
    exc: bce.ClientError,
    *,
    service: str | None = None,
    operation: str | None = None,
    region: str | None = None,
) -> E.BedrockctlError:
    err = exc.response.get("Error", {})
    code = str(err.get("Code", "Unknown"))
    message = str(err.get("Message", "")) or code
    meta = exc.response.get("ResponseMetadata", {})
    operation = operation or exc.operation_name
    details: dict[str, Any] = {"aws_error_code": code, "request_id": meta.get("RequestId")}
    ctx = _context(service, operation, region)
    cls = _CODE_MAP.get(code, E.AwsServiceError)
    remediation: str | None = None
    low = message.lower()
    if cls is E.ValidationFailed and "on-demand throughput" in low:
        cls = E.InferenceProfileRequired
    elif cls is E.ValidationFailed and "model identifier is invalid" in low:
        cls = E.UnknownModel
    elif cls is E.AccessDenied and "access to the model" in low:
        cls = E.ModelAccessNotGranted
    elif cls is E.AccessDenied:
        m = _DENIED_ACTION.search(message)
        if m:
            details["missing_action"] = m.group(1)
            if m.group(2):
                details["resource"] = m.group(2)
            remediation = (
                f"Allow {m.group(1)}"
                + (f" on {m.group(2)}" if m.group(2) else "")
                + " for the caller (`bedrockctl policy` prints a least-privilege policy); also check SCPs and "
                "VPC endpoint policies."
            )
        if "explicit deny" in low:
            remediation = (
                "An explicit Deny (identity policy, permission boundary, SCP or VPC endpoint policy) blocks this "
                "call: find it with `aws iam simulate-principal-policy`."
            )
    if cls is E.ExpiredCredentials and "sso" in low:
        cls = E.SSOTokenExpired
    return cls(f"{code}: {message}{ctx}", remediation=remediation, details=details)


def translate(
    exc: BaseException,
    *,
    service: str | None = None,
    operation: str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> E.BedrockctlError:
    """Map any botocore/boto3 exception to a ``BedrockctlError`` (errors already translated pass through)."""
    if isinstance(exc, E.BedrockctlError):
        return exc
    ctx = _context(service, operation, region)
    login = f"aws sso login --profile {profile}" if profile else "aws sso login --profile <profile>"
    if isinstance(exc, bce.ClientError):
        return translate_client_error(exc, service=service, operation=operation, region=region)
    if isinstance(exc, bce.NoCredentialsError):
        return E.NoCredentialsFound(f"No AWS credentials found{ctx}")
    if isinstance(exc, bce.ProfileNotFound):
        return E.ProfileNotFound(
            f"AWS profile {profile or ''!r} is not configured{ctx}".replace(" ''", ""),
            details={"profile": profile},
        )
    if isinstance(exc, bce.UnauthorizedSSOTokenError | bce.SSOTokenLoadError | bce.TokenRetrievalError):
        return E.SSOTokenExpired(
            f"The SSO session for profile {profile!r} has expired or was never started{ctx}",
            remediation=f"Run `{login}` and retry.",
            details={"profile": profile},
        )
    if isinstance(exc, bce.CredentialRetrievalError):
        return E.CredentialProcessFailed(f"Credential provider failed: {exc}{ctx}")
    if isinstance(exc, bce.PartialCredentialsError):
        return E.NoCredentialsFound(
            f"Partial credentials found: {exc}{ctx}",
            remediation="Set both the access key id and the secret access key.",
        )
    if isinstance(exc, bce.NoRegionError):
        return E.RegionNotSet(f"No region configured{ctx}")
    if isinstance(exc, bce.UnknownEndpointError | bce.UnknownRegionError):
        return E.UnsupportedRegion(f"{exc}{ctx}")
    if isinstance(exc, bce.ConnectTimeoutError):
        return E.ConnectTimeout(f"Connecting to {getattr(exc, 'kwargs', {}).get('endpoint_url', 'AWS')} timed out{ctx}")
    if isinstance(exc, bce.ProxyConnectionError):
        return E.EndpointUnreachable(
            f"The HTTPS proxy refused or dropped the connection{ctx}",
            remediation="Check HTTPS_PROXY/NO_PROXY; add .amazonaws.com to NO_PROXY when using VPC endpoints.",
        )
    if isinstance(exc, bce.ReadTimeoutError):
        return E.ModelTimeout(
            f"No response before the read timeout{ctx}",
            remediation="Raise BEDROCKCTL_READ_TIMEOUT, lower max_tokens, or use streaming.",
        )
    if isinstance(exc, bce.EndpointConnectionError):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        return E.EndpointUnreachable(f"Could not connect to {url}{ctx}")
    if isinstance(exc, bce.ParamValidationError):
        return E.ValidationFailed(f"{exc}{ctx}")
    if isinstance(exc, RuntimeError) and "expired" in str(exc).lower():
        # botocore raises a bare RuntimeError when refreshed (e.g. AWS_CREDENTIAL_EXPIRATION) creds are stale
        return E.ExpiredCredentials(
            f"The temporary credentials have expired ({exc}){ctx}",
            remediation="Get new temporary credentials (re-run `aws sts assume-role`, `aws sso login`, or the tool "
            "that exported AWS_SESSION_TOKEN / AWS_CREDENTIAL_EXPIRATION) or unset the stale variables.",
        )
    if isinstance(exc, bce.BotoCoreError):
        return E.AwsServiceError(f"{type(exc).__name__}: {exc}{ctx}")
    return E.BedrockctlError(f"{type(exc).__name__}: {exc}{ctx}")


@contextmanager
def aws_errors(
    *, service: str | None = None, operation: str | None = None, region: str | None = None
) -> Iterator[None]:
    """Inside the block, botocore's exceptions leave as the ``BedrockctlError`` that ``translate`` maps them to."""
    try:
        yield
    except (bce.ClientError, bce.BotoCoreError) as exc:
        raise translate(exc, service=service, operation=operation, region=region) from exc


def aws_call(fn: Callable[..., T], /, *args: Any, service: str | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` (a boto3 client method, a paginator's ``paginate``...) with botocore's exceptions
    translated; the operation is named after the method."""
    with aws_errors(service=service, operation=_operation_name(fn)):
        return fn(*args, **kwargs)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code (``NotFoundException``...) of a botocore ``ClientError`` or of the error it was translated
    to; None for anything else."""
    if isinstance(exc, bce.ClientError):
        code = exc.response.get("Error", {}).get("Code")
    else:
        details = getattr(exc, "details", None)
        code = details.get("aws_error_code") if isinstance(details, dict) else None
    return str(code) if code else None


def error_message(exc: BaseException) -> str:
    """AWS's message of a botocore ``ClientError`` (``str(exc)`` of anything else)."""
    if isinstance(exc, bce.ClientError):
        return str(exc.response.get("Error", {}).get("Message", exc))
    return str(exc)


def _operation_name(fn: Callable[..., Any]) -> str | None:
    """``GetCostAndUsage`` for a boto3 client's ``get_cost_and_usage``; None for other callables (paginators...)."""
    if getattr(getattr(fn, "__self__", None), "meta", None) is None:
        return None
    return "".join(part.title() for part in getattr(fn, "__name__", "").split("_")) or None
