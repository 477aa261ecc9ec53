"""A request without credentials gets AWS's 403 MissingAuthenticationTokenException; signed, presigned and
bearer (Bedrock API key) requests still work."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrockctl.sandbox.server import Sandbox

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}


def _raw(sandbox: Sandbox, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(sandbox.endpoint_url + path, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/model/{HAIKU}/invoke"),
        ("POST", f"/model/{HAIKU}/converse"),
        ("GET", "/foundation-models"),
        ("POST", "/agents/"),
        ("POST", "/agents/ABCDEFGHIJ/agentAliases/TSTALIASID/sessions/s1/text"),
    ],
)
def test_unsigned_bedrock_request_is_403_missing_token(sandbox_env: Sandbox, method: str, path: str) -> None:
    status, headers, body = _raw(sandbox_env, method, path, json.dumps(BODY).encode(), **{"Content-Type": "x"})
    assert status == 403
    assert headers["x-amzn-ErrorType"].split(":", 1)[0] == "MissingAuthenticationTokenException"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"message": "Missing Authentication Token"}
    assert headers["x-amzn-RequestId"]


def test_unknown_path_on_a_bedrock_host_is_403(sandbox_env: Sandbox) -> None:
    status, headers, _ = _raw(sandbox_env, "GET", "/no/such/route", Host="bedrock-runtime.us-east-1.amazonaws.com")
    assert status == 403 and headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")


def test_sdk_without_credentials_sees_the_aws_error(boto_client: Any) -> None:
    runtime = boto_client("bedrock-runtime", config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as info:
        runtime.invoke_model(modelId=HAIKU, body=json.dumps(BODY))
    err = info.value.response
    assert err["Error"] == {"Code": "MissingAuthenticationTokenException", "Message": "Missing Authentication Token"}
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_signed_bearer_and_presigned_requests_still_work(
    boto_client: Any, sandbox_env: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed = boto_client("bedrock-runtime").invoke_model(modelId=HAIKU, body=json.dumps(BODY))
    assert json.loads(signed["body"].read())["type"] == "message"
    status, _, body = _raw(
        sandbox_env,
        "POST",
        f"/model/{HAIKU}/invoke",
        json.dumps(BODY).encode(),
        Authorization="Bearer ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl",
        **{"Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)["type"] == "message"
    # boto3 itself sends a bearer token over HTTPS only (botocore >= 1.44) and the sandbox is plain HTTP: the raw
    # request above is the bearer path here; tests/gateway (start_gateway(tls=True), test_tls) cover boto3's
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="presigned")
    s3.put_object(Bucket="presigned", Key="k", Body=b"payload")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "k"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"payload"


def test_unsigned_requests_outside_bedrock_still_reach_moto(sandbox_env: Sandbox) -> None:
    status, headers, _ = _raw(sandbox_env, "GET", "/moto-api/data.json")
    assert status == 200 and "x-amzn-ErrorType" not in headers
