"""Provisioned Throughput and guardrails through real boto3 clients against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.bedrock.control_guardrails import get_guardrail
from bedrockctl.sandbox.bedrock.control_provisioned import get_provisioned_model
from bedrockctl.sandbox.shapecheck import validate_output

HAIKU3 = "anthropic.claude-3-haiku-20240307-v1:0"
ACCOUNT = "123456789012"


def _ok(op: str, resp: dict[str, Any]) -> dict[str, Any]:
    assert validate_output("bedrock", op, resp) == []
    return resp


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --- provisioned throughput --------------------------------------------------------------------------------
def test_provisioned_throughput_lifecycle(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    arn = _ok(
        "CreateProvisionedModelThroughput",
        client.create_provisioned_model_throughput(
            modelUnits=2, provisionedModelName="pt-haiku", modelId=HAIKU3, tags=[{"key": "team", "value": "ml"}]
        ),
    )["provisionedModelArn"]
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:provisioned-model/")
    got = _ok("GetProvisionedModelThroughput", client.get_provisioned_model_throughput(provisionedModelId=arn))
    assert got["status"] == "InService" and got["modelUnits"] == 2
    assert got["foundationModelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU3}"
    assert "commitmentDuration" not in got
    by_name = client.get_provisioned_model_throughput(provisionedModelId="pt-haiku")
    assert by_name["provisionedModelArn"] == arn
    assert get_provisioned_model(ACCOUNT, "us-east-1", arn)["foundationModelArn"] == got["foundationModelArn"]  # type: ignore[index]
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "ml"}]
    _ok(
        "UpdateProvisionedModelThroughput",
        client.update_provisioned_model_throughput(provisionedModelId=arn, desiredProvisionedModelName="pt-renamed"),
    )
    assert client.get_provisioned_model_throughput(provisionedModelId=arn)["provisionedModelName"] == "pt-renamed"
    _ok("DeleteProvisionedModelThroughput", client.delete_provisioned_model_throughput(provisionedModelId=arn))
    with pytest.raises(ClientError) as exc:
        client.get_provisioned_model_throughput(provisionedModelId=arn)
    assert _code(exc) == "ResourceNotFoundException"


def test_list_provisioned_filters_and_pagination(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    for i in range(5):
        extra = {"commitmentDuration": "OneMonth"} if i == 0 else {}
        model = "amazon.titan-embed-image-v1" if i == 4 else HAIKU3
        client.create_provisioned_model_throughput(modelUnits=1, provisionedModelName=f"pt-{i}", modelId=model, **extra)
    names: list[str] = []
    kwargs: dict[str, Any] = {"maxResults": 2, "sortOrder": "Ascending"}
    while True:
        resp = _ok("ListProvisionedModelThroughputs", client.list_provisioned_model_throughputs(**kwargs))
        assert len(resp["provisionedModelSummaries"]) <= 2
        names += [s["provisionedModelName"] for s in resp["provisionedModelSummaries"]]
        if "nextToken" not in resp:
            break
        kwargs["nextToken"] = resp["nextToken"]
    assert sorted(names) == [f"pt-{i}" for i in range(5)]
    titan = client.list_provisioned_model_throughputs(
        modelArnEquals="arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-image-v1"
    )["provisionedModelSummaries"]
    assert [s["provisionedModelName"] for s in titan] == ["pt-4"]
    assert len(client.list_provisioned_model_throughputs(nameContains="pt-")["provisionedModelSummaries"]) == 5
    committed = client.get_provisioned_model_throughput(provisionedModelId="pt-0")
    assert (
        committed["commitmentDuration"] == "OneMonth"
        and committed["commitmentExpirationTime"] > committed["creationTime"]
    )
    with pytest.raises(ClientError) as exc:  # committed terms can't be deleted early
        client.delete_provisioned_model_throughput(provisionedModelId="pt-0")
    assert _code(exc) == "ValidationException"


@pytest.mark.parametrize(
    ("model_id", "name", "code"),
    [
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "pt-x", "ValidationException"),  # profile-only
        (
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            "pt-x",
            "ResourceNotFoundException",
        ),  # past end-of-life: not listed
        ("acme.unknown-v1:0", "pt-x", "ResourceNotFoundException"),
        ("missing-custom-model", "pt-x", "ResourceNotFoundException"),
        (HAIKU3, "bad name!", "ValidationException"),
    ],
)
def test_create_provisioned_errors(boto_client: Any, model_id: str, name: str, code: str) -> None:
    with pytest.raises(ClientError) as exc:
        boto_client("bedrock").create_provisioned_model_throughput(
            modelUnits=1, provisionedModelName=name, modelId=model_id
        )
    assert _code(exc) == code


# --- guardrails --------------------------------------------------------------------------------------------
GUARDRAIL = {
    "name": "no-finance-advice",
    "description": "Blocks investment advice",
    "topicPolicyConfig": {
        "topicsConfig": [{"name": "Investment advice", "definition": "Recommendations about stocks.", "type": "DENY"}]
    },
    "contentPolicyConfig": {"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
    "wordPolicyConfig": {"wordsConfig": [{"text": "BLOCKME"}], "managedWordListsConfig": [{"type": "PROFANITY"}]},
    "sensitiveInformationPolicyConfig": {
        "piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}],
        "regexesConfig": [{"name": "acct", "pattern": "ACCT-[0-9]+", "action": "BLOCK"}],
    },
    "contextualGroundingPolicyConfig": {"filtersConfig": [{"type": "GROUNDING", "threshold": 0.7}]},
    "blockedInputMessaging": "Sorry, I can't help with that.",
    "blockedOutputsMessaging": "Sorry, I can't answer that.",
    "tags": [{"key": "team", "value": "risk"}],
}


def test_guardrail_lifecycle_and_versions(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-west-2")
    created = _ok("CreateGuardrail", client.create_guardrail(**GUARDRAIL))
    gid, arn = created["guardrailId"], created["guardrailArn"]
    assert created["version"] == "DRAFT" and arn.endswith(f":guardrail/{gid}")
    draft = _ok("GetGuardrail", client.get_guardrail(guardrailIdentifier=gid))
    assert draft["status"] == "READY" and draft["name"] == "no-finance-advice"
    assert draft["topicPolicy"]["topics"][0]["inputAction"] == "BLOCK"
    assert draft["wordPolicy"]["words"] == [
        {
            "text": "BLOCKME",
            "inputAction": "BLOCK",
            "outputAction": "BLOCK",
            "inputEnabled": True,
            "outputEnabled": True,
        }
    ]
    assert draft["sensitiveInformationPolicy"]["piiEntities"][0]["inputAction"] == "ANONYMIZE"
    v1 = _ok("CreateGuardrailVersion", client.create_guardrail_version(guardrailIdentifier=arn, description="first"))
    assert v1 == {**v1, "guardrailId": gid, "version": "1"}
    update = dict(GUARDRAIL, name="no-finance-advice-2", guardrailIdentifier=gid)
    update.pop("tags")
    _ok("UpdateGuardrail", client.update_guardrail(**update))
    assert client.create_guardrail_version(guardrailIdentifier=gid)["version"] == "2"
    v1_doc = _ok("GetGuardrail", client.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1"))
    assert v1_doc["name"] == "no-finance-advice" and v1_doc["description"] == "first"
    assert get_guardrail(ACCOUNT, "us-west-2", gid, "2")["name"] == "no-finance-advice-2"  # type: ignore[index]
    versions = _ok("ListGuardrails", client.list_guardrails(guardrailIdentifier=gid))["guardrails"]
    assert [g["version"] for g in versions] == ["DRAFT", "1", "2"]
    page = _ok("ListGuardrails", client.list_guardrails(guardrailIdentifier=gid, maxResults=2))
    rest = client.list_guardrails(guardrailIdentifier=gid, nextToken=page["nextToken"])
    assert [g["version"] for g in page["guardrails"] + rest["guardrails"]] == ["DRAFT", "1", "2"]
    assert "nextToken" not in rest
    assert client.list_tags_for_resource(resourceARN=arn)["tags"] == [{"key": "team", "value": "risk"}]
    client.delete_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    with pytest.raises(ClientError) as exc:
        client.get_guardrail(guardrailIdentifier=gid, guardrailVersion="1")
    assert _code(exc) == "ResourceNotFoundException"
    _ok("DeleteGuardrail", client.delete_guardrail(guardrailIdentifier=gid))
    with pytest.raises(ClientError) as exc:
        client.get_guardrail(guardrailIdentifier=gid)
    assert _code(exc) == "ResourceNotFoundException"
    assert _ok("ListGuardrails", client.list_guardrails())["guardrails"] == []


def test_guardrail_errors(boto_client: Any) -> None:
    client = boto_client("bedrock", "us-east-1")
    minimal = {"name": "g1", "blockedInputMessaging": "no", "blockedOutputsMessaging": "no"}
    client.create_guardrail(**minimal)
    with pytest.raises(ClientError) as exc:
        client.create_guardrail(**minimal)
    assert _code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        client.create_guardrail(**dict(minimal, name="bad name"))
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        client.get_guardrail(guardrailIdentifier="doesnotexist1")
    assert _code(exc) == "ResourceNotFoundException"
    # guardrails are regional
    with pytest.raises(ClientError) as exc:
        boto_client("bedrock", "eu-west-1").create_guardrail_version(
            guardrailIdentifier=client.list_guardrails()["guardrails"][0]["id"]
        )
    assert _code(exc) == "ResourceNotFoundException"


def test_tags_on_unknown_arn_fall_through_to_moto(boto_client: Any) -> None:
    client = boto_client("bedrock")
    with pytest.raises(ClientError) as exc:
        client.list_tags_for_resource(resourceARN=f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/nope")
    assert _code(exc) == "ResourceNotFoundException"
