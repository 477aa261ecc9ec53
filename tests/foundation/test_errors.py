"""Every AWS failure the issue lists maps to a code and a remediation; docs/errors.md is generated from the tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore import exceptions as bce

from bedrockctl import errors as E
from bedrockctl.aws.errors import translate


def client_error(code: str, message: str, op: str = "InvokeModel") -> bce.ClientError:
    return bce.ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 400},
        },
        op,
    )


CASES: list[tuple[BaseException, type[E.BedrockctlError]]] = [
    (bce.NoCredentialsError(), E.NoCredentialsFound),
    (
        client_error("ExpiredTokenException", "The security token included in the request is expired"),
        E.ExpiredCredentials,
    ),
    (
        client_error("ExpiredToken", "The security token included in the request is expired", "GetCallerIdentity"),
        E.ExpiredCredentials,
    ),
    (bce.UnauthorizedSSOTokenError(), E.SSOTokenExpired),
    (bce.SSOTokenLoadError(error_msg="Token for corp does not exist"), E.SSOTokenExpired),
    (
        client_error(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/bob is not authorized to "
            "perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/x",
        ),
        E.AccessDenied,
    ),
    (
        client_error("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        E.ModelAccessNotGranted,
    ),
    (
        client_error("UnrecognizedClientException", "The security token included in the request is invalid."),
        E.InvalidCredentials,
    ),
    (client_error("ResourceNotFoundException", "Could not find agent alias"), E.ResourceNotFound),
    (
        client_error(
            "ValidationException",
            "Invocation of model ID anthropic.claude-3-5-haiku-20241022-v1:0 with "
            "on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference "
            "profile that contains this model.",
        ),
        E.InferenceProfileRequired,
    ),
    (client_error("ValidationException", "The provided model identifier is invalid."), E.UnknownModel),
    (client_error("ValidationException", "Malformed input request"), E.ValidationFailed),
    (client_error("ThrottlingException", "Too many requests, please wait before trying again."), E.Throttled),
    (client_error("ServiceQuotaExceededException", "quota"), E.QuotaExceeded),
    (client_error("ModelNotReadyException", "Model is not ready"), E.ModelNotReady),
    (client_error("ModelTimeoutException", "Model timed out"), E.ModelTimeout),
    (client_error("ServiceUnavailableException", "down"), E.ServiceUnavailable),
    (
        bce.EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
        E.EndpointUnreachable,
    ),
    (
        bce.ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
        E.ConnectTimeout,
    ),
    (bce.NoRegionError(), E.RegionNotSet),
    (bce.UnknownRegionError(region_name="moon-1", error_msg="bad"), E.UnsupportedRegion),
    (bce.ProfileNotFound(profile="ghost"), E.ProfileNotFound),
    (client_error("SomethingNew", "surprise"), E.AwsServiceError),
]


@pytest.mark.parametrize(("exc", "expected"), CASES, ids=[type(c[0]).__name__ + ":" + c[1].__name__ for c in CASES])
def test_mapping(exc: BaseException, expected: type[E.BedrockctlError]) -> None:
    err = translate(exc, service="bedrock-runtime", region="us-east-1", profile="corp")
    assert type(err) is expected
    assert err.code.startswith("BRC-") and err.remediation
    assert err.code == expected.code


def test_missing_action_is_named() -> None:
    err = translate(
        client_error(
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/bob is not "
            "authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:"
            "us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
        )
    )
    assert err.details["missing_action"] == "bedrock:InvokeModel"
    assert "bedrock:InvokeModel" in err.remediation


def test_connect_timeout_hints_at_vpc_endpoint() -> None:
    err = translate(bce.ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"))
    assert "private DNS" in err.remediation and "VPC endpoint" in err.remediation
    err2 = translate(bce.EndpointConnectionError(endpoint_url="https://x"))
    assert "HTTPS_PROXY" in err2.remediation


def test_sso_remediation_names_profile() -> None:
    err = translate(bce.UnauthorizedSSOTokenError(), profile="corp")
    assert "aws sso login --profile corp" in err.remediation


def test_codes_are_unique_and_stable() -> None:
    classes = E.all_error_classes()
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(c.default_remediation.strip() for c in classes)


def test_secrets_never_in_error_messages() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    err = translate(
        client_error("ValidationException", f"bad aws_secret_access_key={secret} token=abc key AKIAIOSFODNN7EXAMPLE")
    )
    text = repr(err.to_dict()) + str(err)
    assert secret not in text and "AKIAIOSFODNN7EXAMPLE" not in text


def test_errors_md_is_generated_from_the_tree() -> None:
    path = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
    assert path.read_text() == E.render_markdown(), "run: python -m bedrockctl.errors > docs/errors.md"
    for cls in E.all_error_classes():
        assert cls.code in path.read_text()
