"""``conform`` brings moto-shaped documents to botocore's output shapes (pure, no server)."""

from __future__ import annotations

import datetime as dt

from bedrockctl.sandbox.conform import MISSING, conform, parse_timestamp, render_timestamp
from bedrockctl.sandbox.servicemodel import find_operation, operation_model, service_model

TITAN = "amazon.titan-text-express-v1"
TS = dt.datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=dt.UTC)


def _output(service: str, operation: str) -> object:
    return operation_model(service, operation).output_shape


def test_moto_list_agents_becomes_the_model_shape() -> None:
    moto = {
        "agentSummaries": [
            {
                "agentId": "ABCDEFGHIJ",
                "agentName": "a",
                "agentStatus": "prepared",
                "description": None,
                "updatedAt": TS.timestamp(),
                "latestAgentVersion": "DRAFT",
                "mystery": 1,
            }
        ],
        "nextToken": None,
    }
    out = conform(_output("bedrock-agent", "ListAgents"), moto)  # type: ignore[arg-type]
    assert out == {
        "agentSummaries": [
            {
                "agentId": "ABCDEFGHIJ",
                "agentName": "a",
                "agentStatus": "PREPARED",
                "updatedAt": "2026-03-01T12:30:15.250Z",
                "latestAgentVersion": "DRAFT",
            }
        ]
    }


def test_required_members_are_filled_from_the_model() -> None:
    moto = {
        "jobArn": f"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/{TITAN}/abcdefghijkl",
        "jobName": "j",
        "outputModelName": "m",
        "roleArn": "arn:aws:iam::123456789012:role/r",
        "creationTime": "2026-03-01 12:30:15",
        "baseModelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{TITAN}",
        "trainingDataConfig": {"s3Uri": "s3://b/k"},
        "outputDataConfig": {"s3Uri": "s3://b/o"},
        "status": "inprogress",
        "failureMessage": None,
    }
    out = conform(_output("bedrock", "GetModelCustomizationJob"), moto)  # type: ignore[arg-type]
    assert out["validationDataConfig"] == {"validators": []}
    assert out["status"] == "InProgress" and "failureMessage" not in out
    assert out["creationTime"] == "2026-03-01T12:30:15.000Z"
    agent = conform(
        _output("bedrock-agent", "GetAgent"),  # type: ignore[arg-type]
        {"agent": {"agentId": "ABCDEFGHIJ", "createdAt": TS.timestamp()}},
    )["agent"]
    assert agent["idleSessionTTLInSeconds"] == 600
    assert agent["updatedAt"] == agent["createdAt"] == "2026-03-01T12:30:15.250Z"  # a sibling timestamp


def test_scalars_are_coerced_only_when_unambiguous() -> None:
    shape = service_model("bedrock").shape_for("ProvisionedModelSummary")
    out = conform(shape, {"modelUnits": "3", "desiredModelUnits": 2.0, "provisionedModelName": 7})
    assert out["modelUnits"] == 3 and out["desiredModelUnits"] == 2 and out["provisionedModelName"] == "7"
    assert conform(shape, {"modelUnits": "three"})["modelUnits"] == "three"  # left for the validator to report
    assert conform(shape, None) is MISSING


def test_timestamps_in_every_format() -> None:
    assert parse_timestamp("2026-03-01 12:30:15.25") == TS.replace(tzinfo=None).astimezone(dt.UTC)
    assert parse_timestamp(TS.timestamp() * 1000) == TS
    assert parse_timestamp("Sun, 01 Mar 2026 12:30:15 GMT") == TS.replace(microsecond=0)
    assert parse_timestamp("not a date") is None and parse_timestamp(True) is None
    assert render_timestamp(TS, "unixTimestamp") == 1772368215.25
    assert render_timestamp(TS, "rfc822") == "Sun, 01 Mar 2026 12:30:15 GMT"


def test_operations_are_found_by_method_and_path() -> None:
    found = find_operation(("bedrock", "bedrock-agent"), "GET", "/agents/ABCDEFGHIJ/agentaliases/TSTALIASID/")
    assert found is not None and (found[0], found[1].name) == ("bedrock-agent", "GetAgentAlias")
    found = find_operation(("bedrock",), "GET", "/custom-models/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Acustom-model%2Fx")
    assert found is not None and found[1].name == "GetCustomModel"
    assert find_operation(("bedrock",), "DELETE", "/foundation-models") is None
