"""The sandbox platform over real HTTP: moto services, routing, error rendering, identity, readiness."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.core import ROUTER, AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import resolve_signing
from bedrockctl.sandbox.server import Sandbox
from bedrockctl.sandbox.testing import install_probe_route, signed_request

install_probe_route()


@ROUTER.route("bedrock", "GET", r"/sandbox-platform-test/(?P<code>[A-Za-z]+)")
def _raise(req: SandboxRequest, code: str) -> SandboxResponse:
    if code == "ok":
        return SandboxResponse.json({"service": req.service, "region": req.region, "arn": req.caller.arn})
    if code == "Boom":
        raise RuntimeError("handler bug")
    raise AwsError(code, f"{code} raised on purpose", 404 if code.endswith("NotFoundException") else 400)


def _lookup(boto_client, region="us-east-1", **kwargs):
    return boto_client("cloudtrail", region=region).lookup_events(**kwargs)["Events"]


def test_moto_services_through_the_server(boto_client):
    sts = boto_client("sts")
    assert sts.get_caller_identity()["Account"] == "123456789012"
    s3 = boto_client("s3")
    s3.create_bucket(Bucket="platform-bucket")
    s3.put_object(Bucket="platform-bucket", Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket="platform-bucket", Key="a/b.txt")["Body"].read() == b"hello"
    iam = boto_client("iam")
    iam.create_user(UserName="carol")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["carol"]
    ssm = boto_client("ssm", region="eu-west-1")
    ssm.put_parameter(Name="/x", Value="1", Type="String")
    assert ssm.get_parameter(Name="/x")["Parameter"]["Value"] == "1"
    # every response carries a request id
    assert s3.list_buckets()["ResponseMetadata"]["RequestId"]


def test_env_fixture_points_default_clients_at_sandbox(sandbox_env):
    # a client built from the environment alone (AWS_ENDPOINT_URL, fake keys, AWS_REGION)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="env-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["env-bucket"]


def test_reset_between_tests_forgets_state(boto_client):
    assert boto_client("s3").list_buckets()["Buckets"] == []  # env-bucket / platform-bucket are gone
    assert boto_client("iam").list_users()["Users"] == []


def test_router_error_rendering_is_what_botocore_parses(sandbox_env):
    status, headers, body = signed_request(sandbox_env.endpoint_url, "GET", "/sandbox-platform-test/ok")
    assert status == 200
    assert json.loads(body) == {
        "service": "bedrock",
        "region": "us-east-1",
        "arn": "arn:aws:iam::123456789012:user/moto",
    }
    assert headers["x-amzn-RequestId"]
    status, headers, body = signed_request(
        sandbox_env.endpoint_url, "GET", "/sandbox-platform-test/ResourceNotFoundException", region="eu-west-1"
    )
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert json.loads(body) == {"message": "ResourceNotFoundException raised on purpose"}
    status, headers, body = signed_request(sandbox_env.endpoint_url, "GET", "/sandbox-platform-test/Boom")
    assert status == 500
    assert headers["x-amzn-ErrorType"] == "InternalServerException"


def test_json_protocol_errors_carry_type(boto_client):
    ct = boto_client("cloudtrail")
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(MaxResults=51)
    assert exc.value.response["Error"]["Code"] == "InvalidMaxResultsException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "Converse"},
                {"AttributeKey": "Username", "AttributeValue": "bob"},
            ]
        )
    assert exc.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    # other CloudTrail operations still reach moto
    boto_client("s3").create_bucket(Bucket="trail-bucket")
    ct.create_trail(Name="main-trail", S3BucketName="trail-bucket")
    assert [t["Name"] for t in ct.describe_trails()["trailList"]] == ["main-trail"]


def test_resolve_signing_variants():
    auth = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/eu-west-1/bedrock/aws4_request, "
        "SignedHeaders=host, Signature=abc"
    )
    assert resolve_signing({"HTTP_AUTHORIZATION": auth}, {}) == ("bedrock", "eu-west-1", "AKIAIOSFODNN7EXAMPLE", False)
    presigned = {"X-Amz-Credential": ["AKIAIOSFODNN7EXAMPLE/20240101/us-west-2/s3/aws4_request"]}
    assert resolve_signing({}, presigned) == ("s3", "us-west-2", "AKIAIOSFODNN7EXAMPLE", False)
    bearer = {"HTTP_AUTHORIZATION": "Bearer ABSKexample", "HTTP_HOST": "bedrock-runtime.us-west-2.amazonaws.com"}
    assert resolve_signing(bearer, {}) == ("bedrock", "us-west-2", "", True)
    assert resolve_signing({}, {}) == ("", "", "", False)


def test_bearer_token_maps_to_default_caller(sandbox_env):
    import urllib.request

    req = urllib.request.Request(
        sandbox_env.endpoint_url + "/sandbox-platform-test/ok",
        headers={"Authorization": "Bearer ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert json.loads(resp.read())["arn"] == "arn:aws:iam::123456789012:user/moto"


# -- identity --------------------------------------------------------------------------------------------------
def _probe(sandbox, creds, model="amazon.nova-lite-v1:0", region="us-east-1", **body):
    status, _, raw = signed_request(
        sandbox.endpoint_url,
        "POST",
        f"/model/{model}/sandbox-probe",
        {"input_tokens": 10, "output_tokens": 5, **body},
        region=region,
        **creds,
    )
    assert status == 200, raw
    return json.loads(raw)


def _identity_of_last_event(boto_client, **client_kwargs):
    events = boto_client("cloudtrail", **client_kwargs).lookup_events()["Events"]
    return events[0], json.loads(events[0]["CloudTrailEvent"])["userIdentity"]


def test_identity_iam_user(boto_client, sandbox_env):
    iam = boto_client("iam")
    user = iam.create_user(UserName="bob")["User"]
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    creds = {"access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"]}
    _probe(sandbox_env, creds)
    event, ident = _identity_of_last_event(boto_client)
    assert event["Username"] == "bob"
    assert event["AccessKeyId"] == key["AccessKeyId"]
    assert ident == {
        "type": "IAMUser",
        "principalId": user["UserId"],
        "arn": "arn:aws:iam::123456789012:user/bob",
        "accountId": "123456789012",
        "accessKeyId": key["AccessKeyId"],
        "userName": "bob",
    }


def _trust(principal: str, external_id: str | None = None) -> str:
    stmt: dict = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id:
        stmt["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def test_identity_cross_account_role_with_external_id(boto_client, sandbox_env):
    # a user in 111122223333 assumes a role in 444455556666 whose trust requires an external id
    target = "444455556666"
    iam_target = boto_client("iam", aws_access_key_id=_key_in(boto_client, target))
    role = iam_target.create_role(
        RoleName="bedrock-reader",
        AssumeRolePolicyDocument=_trust("arn:aws:iam::111122223333:root", external_id="ext-42"),
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{target}:role/bedrock-reader"
    source_key = _key_in(boto_client, "111122223333", secret=True)
    sts = boto_client("sts", aws_access_key_id=source_key[0], aws_secret_access_key=source_key[1])
    for bad in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", **bad)
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{target}:role/missing", RoleSessionName="s1", ExternalId="ext-42")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"

    creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="build-4711", ExternalId="ext-42")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    who = boto_client(
        "sts",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    ).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{target}:assumed-role/bedrock-reader/build-4711"
    probe = {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"]}
    probe["session_token"] = creds["SessionToken"]
    assert _probe(sandbox_env, probe)["account"] == target
    event, ident = _identity_of_last_event(
        boto_client,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    assert event["Username"] == "build-4711"
    assert ident["type"] == "AssumedRole"
    assert ident["arn"] == f"arn:aws:sts::{target}:assumed-role/bedrock-reader/build-4711"
    assert ident["principalId"] == f"{role['RoleId']}:build-4711"
    assert ident["accountId"] == target
    issuer = ident["sessionContext"]["sessionIssuer"]
    assert issuer == {
        "type": "Role",
        "principalId": role["RoleId"],
        "arn": role["Arn"],
        "accountId": target,
        "userName": "bedrock-reader",
    }
    assert ident["sessionContext"]["attributes"]["mfaAuthenticated"] == "false"
    # the default account saw nothing
    assert boto_client("cloudtrail").lookup_events()["Events"] == []


def test_identity_sso_session(boto_client, sandbox_env):
    iam = boto_client("iam")
    name = "AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b"
    role = iam.create_role(
        RoleName=name,
        Path="/aws-reserved/sso.amazonaws.com/",
        AssumeRolePolicyDocument=_trust("arn:aws:iam::123456789012:root"),
    )["Role"]
    creds = boto_client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="alice@example.com")["Credentials"]
    probe = {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"]}
    _probe(sandbox_env, probe)
    event, ident = _identity_of_last_event(boto_client)
    assert event["Username"] == "alice@example.com"
    assert ident["arn"] == f"arn:aws:sts::123456789012:assumed-role/{name}/alice@example.com"
    assert ident["sessionContext"]["sessionIssuer"]["arn"] == (
        f"arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/{name}"
    )
    assert ident["sessionContext"]["sessionIssuer"]["userName"] == name


def _key_in(boto_client, account: str, secret: bool = False):
    """Bootstrap an IAM user + access key in ``account`` (moto's x-moto-account-id header), return the key."""
    iam = boto_client("iam")
    iam.meta.events.register(
        "before-sign.iam.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", account)
    )
    iam.create_user(UserName=f"admin-{account}")
    key = iam.create_access_key(UserName=f"admin-{account}")["AccessKey"]
    return (key["AccessKeyId"], key["SecretAccessKey"]) if secret else key["AccessKeyId"]


def test_unknown_key_is_default_user_and_moto_account_id(boto_client, sandbox_env, monkeypatch):
    creds = {"access_key": "AKIAI44QH8DHBEXAMPLE", "secret_key": "testing"}
    _probe(sandbox_env, creds)
    _, ident = _identity_of_last_event(boto_client)
    assert ident["arn"] == "arn:aws:iam::123456789012:user/moto"
    assert ident["accessKeyId"] == "AKIAI44QH8DHBEXAMPLE"
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999988887777")
    assert _probe(sandbox_env, creds)["account"] == "999988887777"


def test_ready_time_under_two_seconds():
    started = time.perf_counter()
    with Sandbox(port=0) as sb:
        assert boto3.client(
            "sts",
            endpoint_url=sb.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="testing",
        ).get_caller_identity()["Account"]
        assert sb.ready_seconds is not None and sb.ready_seconds < 2.0
    assert time.perf_counter() - started < 3.0
