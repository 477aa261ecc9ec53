"""Foundation models, model access and inference profiles through real boto3 clients against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock.control import model_access_granted, set_model_access
from bedrockctl.sandbox.bedrock.control_common import now
from bedrockctl.sandbox.bedrock.control_profiles import resolve_inference_profile
from bedrockctl.sandbox.bedrock.models_data import sandbox_models
from bedrockctl.sandbox.shapecheck import validate_output

HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
ACCOUNT = "123456789012"


def _ok(op: str, resp: dict[str, Any]) -> dict[str, Any]:
    assert validate_output("bedrock", op, resp) == []
    return resp


def test_list_foundation_models_matches_sandbox_data_for_region(boto_client: Any) -> None:
    data = sandbox_models()
    for region in ("us-east-1", "eu-west-1", "ap-southeast-1"):
        resp = _ok("ListFoundationModels", boto_client("bedrock", region).list_foundation_models())
        ids = {m["modelId"] for m in resp["modelSummaries"]}
        assert ids == {m.model_id for m in data.models_in_region(region, now())}
        assert all(
            m["modelArn"].startswith(f"arn:aws:bedrock:{region}::foundation-model/") for m in resp["modelSummaries"]
        )
    east = boto_client("bedrock").list_foundation_models()["modelSummaries"]
    by_id = {m["modelId"]: m for m in east}
    assert by_id[SONNET45]["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert "ON_DEMAND" in by_id[HAIKU3]["inferenceTypesSupported"]
    # past its endOfLifeTime AWS no longer lists a model (the sandbox's clock decides, as AWS's does)
    sonnet35 = data.get_model("anthropic.claude-3-5-sonnet-20240620-v1:0")
    assert sonnet35 is not None and sonnet35.is_eol(now()) and sonnet35.model_id not in by_id


@pytest.mark.parametrize(
    ("kwargs", "check"),
    [
        ({"byProvider": "anthropic"}, lambda m: m["providerName"] == "Anthropic"),
        ({"byProvider": "Mistral AI"}, lambda m: m["modelId"].startswith("mistral.")),
        ({"byOutputModality": "EMBEDDING"}, lambda m: m["outputModalities"] == ["EMBEDDING"]),
        ({"byInferenceType": "PROVISIONED"}, lambda m: "PROVISIONED" in m["inferenceTypesSupported"]),
        ({"byCustomizationType": "CONTINUED_PRE_TRAINING"}, lambda m: m["modelId"].startswith("amazon.titan-text")),
    ],
)
def test_list_foundation_models_filters(boto_client: Any, kwargs: dict[str, str], check: Any) -> None:
    client = boto_client("bedrock")
    all_models = client.list_foundation_models()["modelSummaries"]
    got = _ok("ListFoundationModels", client.list_foundation_models(**kwargs))["modelSummaries"]
    assert got, kwargs
    assert len(got) < len(all_models)
    assert all(check(m) for m in got)


def test_list_foundation_models_bad_enum_is_validation_error(boto_client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        boto_client("bedrock").list_foundation_models(byInferenceType="SOMETIMES")
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_foundation_model_by_id_and_arn(boto_client: Any) -> None:
    client = boto_client("bedrock", "eu-west-1")
    by_id = _ok("GetFoundationModel", client.get_foundation_model(modelIdentifier=HAIKU3))
    arn = f"arn:aws:bedrock:eu-west-1::foundation-model/{HAIKU3}"
    by_arn = _ok("GetFoundationModel", client.get_foundation_model(modelIdentifier=arn))
    assert by_id["modelDetails"] == by_arn["modelDetails"]
    assert by_id["modelDetails"]["modelArn"] == arn
    assert by_id["modelDetails"]["modelName"] == "Claude 3 Haiku"


@pytest.mark.parametrize(
    ("region", "identifier", "code", "status"),
    [
        ("us-east-1", "anthropic.claude-9-nonexistent-v1:0", "ResourceNotFoundException", 404),
        ("us-east-1", "Not A Model!", "ValidationException", 400),
        ("us-west-2", "ai21.jamba-1-5-large-v1:0", "ResourceNotFoundException", 404),  # not in that region
    ],
)
def test_get_foundation_model_errors(boto_client: Any, region: str, identifier: str, code: str, status: int) -> None:
    with pytest.raises(ClientError) as exc:
        boto_client("bedrock", region).get_foundation_model(modelIdentifier=identifier)
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_model_access_default_granted_and_deniable(sandbox_env: Any) -> None:
    assert model_access_granted(ACCOUNT, "us-east-1", HAIKU3)
    set_model_access(ACCOUNT, HAIKU3, False, region="eu-west-1")
    assert model_access_granted(ACCOUNT, "us-east-1", HAIKU3)
    assert not model_access_granted(ACCOUNT, "eu-west-1", HAIKU3)
    set_model_access(ACCOUNT, HAIKU3, False)
    assert not model_access_granted(ACCOUNT, "us-east-1", HAIKU3)
    assert model_access_granted("210987654321", "us-east-1", HAIKU3)
    set_model_access(ACCOUNT, HAIKU3, True)
    assert model_access_granted(ACCOUNT, "us-east-1", HAIKU3)
    assert model_access_granted(ACCOUNT, "eu-west-1", HAIKU3)
    set_model_access(ACCOUNT, SONNET45, False)
    sandbox_env.reset(reseed=False)
    assert model_access_granted(ACCOUNT, "us-east-1", SONNET45)


# --- inference profiles -----------------------------------------------------------------------------------
def test_list_system_profiles_paginates(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    expected = {p.profile_id for p in sandbox_models().profiles_in_region("us-east-1", now())}
    assert len(expected) > 7
    seen: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 7, "typeEquals": "SYSTEM_DEFINED"}
    pages = 0
    while True:
        resp = _ok("ListInferenceProfiles", client.list_inference_profiles(**kwargs))
        assert len(resp["inferenceProfileSummaries"]) <= 7
        seen += [p["inferenceProfileId"] for p in resp["inferenceProfileSummaries"]]
        pages += 1
        if "nextToken" not in resp:
            break
        kwargs["nextToken"] = resp["nextToken"]
    assert pages == -(-len(expected) // 7)
    assert sorted(seen) == sorted(expected)
    paginated = [
        p["inferenceProfileId"]
        for page in client.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 5})
        for p in page["inferenceProfileSummaries"]
    ]
    assert paginated == seen  # default type is SYSTEM_DEFINED


def test_bad_next_token_and_max_results(boto_client: Any) -> None:
    client = boto_client("bedrock")
    for kwargs in ({"nextToken": "garbage"}, {"maxResults": 1001}):
        with pytest.raises(ClientError) as exc:
            client.list_inference_profiles(**kwargs)
        assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_get_system_profile_geo_and_global(boto_client: Any) -> None:
    eu = boto_client("bedrock", "eu-west-1")
    resp = _ok("GetInferenceProfile", eu.get_inference_profile(inferenceProfileIdentifier=f"eu.{SONNET45}"))
    member_regions = {a["modelArn"].split(":")[3] for a in resp["models"]}
    assert member_regions == set(sandbox_models().get_profile(f"eu.{SONNET45}").regions)  # type: ignore[union-attr]
    assert resp["inferenceProfileArn"] == f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:inference-profile/eu.{SONNET45}"
    glob = _ok(
        "GetInferenceProfile",
        eu.get_inference_profile(inferenceProfileIdentifier=resp["inferenceProfileArn"].replace("eu.", "global.")),
    )
    assert glob["type"] == "SYSTEM_DEFINED"
    assert {a["modelArn"] for a in glob["models"]} == {
        f"arn:aws:bedrock:eu-west-1::foundation-model/{SONNET45}",
        f"arn:aws:bedrock:::foundation-model/{SONNET45}",
    }
    with pytest.raises(ClientError) as exc:  # a US profile is not callable from an EU region
        eu.get_inference_profile(inferenceProfileIdentifier=f"us.{SONNET45}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_application_profile_lifecycle_with_tags(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    system_arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{HAIKU3}"
    created = _ok(
        "CreateInferenceProfile",
        client.create_inference_profile(
            inferenceProfileName="team-search",
            description="Search team",
            modelSource={"copyFrom": system_arn},
            tags=[{"key": "team", "value": "search"}],
        ),
    )
    arn = created["inferenceProfileArn"]
    assert ":application-inference-profile/" in arn
    got = _ok("GetInferenceProfile", client.get_inference_profile(inferenceProfileIdentifier=arn))
    assert got["type"] == "APPLICATION" and got["inferenceProfileName"] == "team-search"
    assert len(got["models"]) == 2  # us.claude-3-haiku routes to us-east-1 and us-west-2
    assert resolve_inference_profile(ACCOUNT, "us-east-1", arn).model_id == HAIKU3  # type: ignore[union-attr]
    apps = _ok("ListInferenceProfiles", client.list_inference_profiles(typeEquals="APPLICATION"))
    assert [p["inferenceProfileArn"] for p in apps["inferenceProfileSummaries"]] == [arn]
    tags = _ok("ListTagsForResource", client.list_tags_for_resource(resourceARN=arn))
    assert tags["tags"] == [{"key": "team", "value": "search"}]
    client.tag_resource(resourceARN=arn, tags=[{"key": "cost-center", "value": "42"}])
    client.untag_resource(resourceARN=arn, tagKeys=["team"])
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "cost-center", "value": "42"}]
    with pytest.raises(ClientError) as exc:
        client.create_inference_profile(inferenceProfileName="team-search", modelSource={"copyFrom": system_arn})
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    fm = client.create_inference_profile(
        inferenceProfileName="single", modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU3}"}
    )
    assert client.get_inference_profile(inferenceProfileIdentifier=fm["inferenceProfileArn"])["models"] == [
        {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU3}"}
    ]
    _ok("DeleteInferenceProfile", client.delete_inference_profile(inferenceProfileIdentifier=arn))
    with pytest.raises(ClientError) as exc:
        client.get_inference_profile(inferenceProfileIdentifier=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.list_tags_for_resource(resourceARN=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_create_profile_from_unknown_source(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    with pytest.raises(ClientError) as exc:
        client.create_inference_profile(
            inferenceProfileName="x",
            modelSource={"copyFrom": "arn:aws:bedrock:us-east-1::foundation-model/acme.nothing-v1:0"},
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
