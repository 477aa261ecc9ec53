"""Custom Model Import operations, and AWS-shaped errors (never a 500) for operations the sandbox lacks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from bedrockctl.sandbox.shapecheck import validate_output
from bedrockctl.sandbox.testing import signed_request

ACCOUNT = "123456789012"


def _ok(op: str, resp: dict[str, Any]) -> dict[str, Any]:
    assert validate_output("bedrock", op, resp) == []
    return resp


def _error(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as exc:
        call()
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _import(client: Any, job: str, model: str, bucket: str = "model-artifacts") -> str:
    return str(
        client.create_model_import_job(
            jobName=job,
            importedModelName=model,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/bedrock-import",
            modelDataSource={"s3DataSource": {"s3Uri": f"s3://{bucket}/{model}/"}},
            importedModelTags=[{"key": "team", "value": "search"}],
        )["jobArn"]
    )


def test_imported_models_lifecycle(boto_client: Any) -> None:
    boto_client("s3").create_bucket(Bucket="model-artifacts")
    bedrock = boto_client("bedrock")
    assert _ok("ListImportedModels", bedrock.list_imported_models())["modelSummaries"] == []
    job_arn = _import(bedrock, "import-1", "ranker-mistral-7b")
    _import(bedrock, "import-2", "ranker-llama")
    job = _ok("GetModelImportJob", bedrock.get_model_import_job(jobIdentifier=job_arn))
    assert job["status"] == "Completed" and job["jobName"] == "import-1"
    model_arn = job["importedModelArn"]
    assert model_arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/")

    got = _ok("GetImportedModel", bedrock.get_imported_model(modelIdentifier=model_arn))
    assert got["modelName"] == "ranker-mistral-7b" and got["modelArchitecture"] == "mistral"
    assert got["jobArn"] == job_arn
    assert bedrock.get_imported_model(modelIdentifier="ranker-mistral-7b")["modelArn"] == model_arn
    assert bedrock.list_tags_for_resource(resourceARN=model_arn)["tags"] == [{"key": "team", "value": "search"}]

    page = _ok("ListImportedModels", bedrock.list_imported_models(maxResults=1, sortOrder="Ascending"))
    assert [m["modelName"] for m in page["modelSummaries"]] == ["ranker-mistral-7b"] and page["nextToken"]
    rest = bedrock.list_imported_models(maxResults=1, sortOrder="Ascending", nextToken=page["nextToken"])
    assert [m["modelName"] for m in rest["modelSummaries"]] == ["ranker-llama"] and "nextToken" not in rest
    names = [m["modelName"] for m in bedrock.list_imported_models(nameContains="llama")["modelSummaries"]]
    assert names == ["ranker-llama"]
    paginator = bedrock.get_paginator("list_imported_models")
    assert sum(len(p["modelSummaries"]) for p in paginator.paginate(PaginationConfig={"PageSize": 1})) == 2
    jobs = _ok("ListModelImportJobs", bedrock.list_model_import_jobs(statusEquals="Completed"))
    assert sorted(j["jobName"] for j in jobs["modelImportJobSummaries"]) == ["import-1", "import-2"]

    # per account and Region
    assert boto_client("bedrock", "eu-west-1").list_imported_models()["modelSummaries"] == []
    assert _error(lambda: _import(bedrock, "import-3", "ranker-llama")) == ("ConflictException", 400)

    _ok("DeleteImportedModel", bedrock.delete_imported_model(modelIdentifier=model_arn))
    assert _error(lambda: bedrock.get_imported_model(modelIdentifier=model_arn)) == (
        "ResourceNotFoundException",
        404,
    )
    assert _error(lambda: bedrock.get_imported_model(modelIdentifier="bad name!")) == ("ValidationException", 400)


def test_import_job_without_model_data_fails(boto_client: Any) -> None:
    bedrock = boto_client("bedrock")
    job = bedrock.get_model_import_job(jobIdentifier=_import(bedrock, "import-x", "nothing", bucket="missing-bucket"))
    assert job["status"] == "Failed" and "s3://missing-bucket/" in job["failureMessage"]
    assert bedrock.list_imported_models()["modelSummaries"] == []


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("bedrock", lambda c: c.list_evaluation_jobs()),  # moto's catch-all route raises NotImplementedError
        ("bedrock", lambda c: c.list_model_copy_jobs()),
        ("bedrock-agent", lambda c: c.list_flows()),
        ("bedrock-agent-runtime", lambda c: c.retrieve(knowledgeBaseId="KB12345678", retrievalQuery={"text": "x"})),
        ("bedrock-runtime", lambda c: c.list_async_invokes()),
    ],
)
def test_unknown_bedrock_operations_are_aws_errors_not_500(boto_client: Any, service: str, call: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(boto_client(service))
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("UnknownOperationException", 404)
    assert "does not implement" in err["Error"]["Message"]


def test_unknown_path_answers_rest_json_error(sandbox_env: Any) -> None:
    status, headers, body = signed_request(sandbox_env.endpoint_url, "GET", "/no-such-thing/at-all")
    assert (status, headers["x-amzn-ErrorType"]) == (404, "UnknownOperationException")
    assert b"message" in body
