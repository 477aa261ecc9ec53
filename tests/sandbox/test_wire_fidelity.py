"""Every response of the four Bedrock APIs, as it comes off the wire, matches botocore's service model.

The raw status, headers and JSON body of each response (``wiretap``) are judged by
``shapecheck.validate_wire`` (status code per ``http.responseCode`` or the error's ``httpStatusCode``,
``Content-Type``, no ``null``, timestamps in the shape's format) and the parsed result by
``shapecheck.validate_output`` (required members, types, enums, patterns, lengths). The only values accepted
outside the model are those AWS itself returns, listed with their source in ``shapecheck.KNOWN_*_DRIFT``.
Operations moto serves (custom models, customization jobs, logging, agents, knowledge bases) are included.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bedrockctl.sandbox.servicemodel import BEDROCK_MODEL_SERVICES, service_model
from bedrockctl.sandbox.shapecheck import validate_wire
from bedrockctl.sandbox.testing import signed_request

from .wiretap import KNOWLEDGE_BASE, ROLE, WireTap

ACCOUNT = "123456789012"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def tap(boto_client: Any) -> Iterator[WireTap]:
    yield WireTap(boto_client)


def _control_plane(tap: WireTap) -> None:
    b = tap.client("bedrock")
    call = tap.call
    call(b, "list_foundation_models")
    call(b, "get_foundation_model", modelIdentifier=HAIKU)
    call(b, "get_foundation_model", modelIdentifier="no.such-model-v1:0")
    call(b, "list_inference_profiles")
    call(b, "get_inference_profile", inferenceProfileIdentifier=f"us.{HAIKU}")
    profile = call(
        b,
        "create_inference_profile",
        inferenceProfileName="team-a",
        modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"},
        tags=[{"key": "team", "value": "a"}],
    )
    assert profile is not None
    call(b, "get_inference_profile", inferenceProfileIdentifier=profile["inferenceProfileArn"])
    call(b, "list_tags_for_resource", resourceARN=profile["inferenceProfileArn"])
    call(b, "delete_inference_profile", inferenceProfileIdentifier=profile["inferenceProfileArn"])
    pt = call(b, "create_provisioned_model_throughput", modelUnits=1, provisionedModelName="pt", modelId=HAIKU)
    assert pt is not None
    call(b, "get_provisioned_model_throughput", provisionedModelId=pt["provisionedModelArn"])
    call(b, "list_provisioned_model_throughputs")
    call(
        b,
        "update_provisioned_model_throughput",
        provisionedModelId=pt["provisionedModelArn"],
        desiredProvisionedModelName="pt2",
    )
    call(b, "delete_provisioned_model_throughput", provisionedModelId=pt["provisionedModelArn"])
    guard = call(
        b,
        "create_guardrail",
        name="g1",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        wordPolicyConfig={"wordsConfig": [{"text": "BLOCKME"}]},
    )
    assert guard is not None
    call(b, "create_guardrail_version", guardrailIdentifier=guard["guardrailId"])
    call(b, "get_guardrail", guardrailIdentifier=guard["guardrailId"], guardrailVersion="1")
    call(b, "list_guardrails")
    call(b, "list_guardrails", guardrailIdentifier=guard["guardrailId"])
    call(b, "get_guardrail", guardrailIdentifier="nosuchguard")
    call(
        b,
        "create_model_import_job",
        jobName="imp-1",
        importedModelName="ranker",
        roleArn=ROLE,
        modelDataSource={"s3DataSource": {"s3Uri": "s3://artifacts/ranker/"}},
    )
    call(b, "list_model_import_jobs")
    call(b, "list_imported_models")
    # moto's operations
    job = call(
        b,
        "create_model_customization_job",
        jobName="ft-1",
        customModelName="tone",
        roleArn=ROLE,
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://train/data.jsonl"},
        outputDataConfig={"s3Uri": "s3://train/out/"},
        hyperParameters={"epochCount": "1"},
        customModelTags=[{"key": "team", "value": "support"}],
    )
    assert job is not None
    duplicate = call(
        b,
        "create_model_customization_job",
        jobName="ft-1",
        customModelName="tone-2",
        roleArn=ROLE,
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://train/data.jsonl"},
        outputDataConfig={"s3Uri": "s3://train/out/"},
        hyperParameters={"epochCount": "1"},
    )
    assert duplicate is None and tap.exchanges[-1].headers["x-amzn-ErrorType"] == "ConflictException"  # not moto's name
    call(b, "get_model_customization_job", jobIdentifier="ft-1")
    call(b, "list_model_customization_jobs")
    call(b, "list_custom_models")
    custom = call(b, "get_custom_model", modelIdentifier="tone")
    assert custom is not None
    call(b, "list_tags_for_resource", resourceARN=custom["modelArn"])
    call(b, "get_custom_model", modelIdentifier="nosuchmodel")
    call(b, "stop_model_customization_job", jobIdentifier="ft-1")
    call(
        b,
        "put_model_invocation_logging_configuration",
        loggingConfig={"s3Config": {"bucketName": "logs-bucket"}, "textDataDeliveryEnabled": True},
    )
    call(b, "get_model_invocation_logging_configuration")
    call(b, "delete_model_invocation_logging_configuration")
    call(b, "list_evaluation_jobs")  # not served: AWS's UnknownOperationException, never a 500


def _agents(tap: WireTap) -> None:
    a = tap.client("bedrock-agent")
    call = tap.call
    created = call(
        a, "create_agent", agentName="support", agentResourceRoleArn=ROLE, foundationModel=HAIKU, instruction="x" * 40
    )
    assert created is not None
    agent_id = created["agent"]["agentId"]
    call(a, "get_agent", agentId=agent_id)
    call(a, "list_agents")
    call(a, "prepare_agent", agentId=agent_id)
    alias = call(a, "create_agent_alias", agentId=agent_id, agentAliasName="live")
    assert alias is not None
    call(a, "get_agent_alias", agentId=agent_id, agentAliasId=alias["agentAlias"]["agentAliasId"])
    call(a, "list_agent_aliases", agentId=agent_id)
    call(a, "list_tags_for_resource", resourceArn=created["agent"]["agentArn"])
    call(a, "tag_resource", resourceArn=created["agent"]["agentArn"], tags={"team": "support"})
    kb = call(a, "create_knowledge_base", name="docs", **KNOWLEDGE_BASE)
    assert kb is not None
    kb_id = kb["knowledgeBase"]["knowledgeBaseId"]
    call(a, "get_knowledge_base", knowledgeBaseId=kb_id)
    call(a, "list_knowledge_bases")
    call(a, "delete_knowledge_base", knowledgeBaseId=kb_id)
    call(a, "get_agent", agentId="NOSUCHAGNT")
    call(a, "list_flows")  # not served
    ar = tap.client("bedrock-agent-runtime")
    resp = call(ar, "invoke_agent", agentId=agent_id, agentAliasId="TSTALIASID", sessionId="s-1", inputText="hi")
    assert resp is not None
    assert [e for e in resp["completion"] if "chunk" in e]
    call(a, "delete_agent", agentId=agent_id, skipResourceInUseCheck=True)


def test_control_plane_and_agents_responses_match_the_model(tap: WireTap) -> None:
    _control_plane(tap)
    _agents(tap)
    assert tap.problems() == []
    ok = tap.operations(ok=True)
    moto_served = {
        "bedrock:GetModelCustomizationJob",
        "bedrock:ListModelCustomizationJobs",
        "bedrock:ListCustomModels",
        "bedrock:GetCustomModel",
        "bedrock-agent:CreateAgent",
        "bedrock-agent:GetAgent",
        "bedrock-agent:ListAgents",
        "bedrock-agent:GetKnowledgeBase",
    }
    assert moto_served <= ok
    errors = tap.operations(ok=False)
    assert {"bedrock:GetCustomModel", "bedrock:ListEvaluationJobs", "bedrock-agent:GetAgent"} <= errors
    assert len(tap.exchanges) >= 50


def test_moto_answers_carry_aws_status_codes_and_types(tap: WireTap) -> None:
    a = tap.client("bedrock-agent")
    created = a.create_agent(agentName="x1", agentResourceRoleArn=ROLE, foundationModel=HAIKU)
    first = tap.exchanges[0]
    assert first.status == 202 and first.headers["Content-Type"] == "application/json"
    assert b"null" not in (first.body or b"")
    agent = created["agent"]
    assert len(agent["agentId"]) == 10 and agent["agentId"].isalnum()
    assert agent["agentVersion"] == "DRAFT" and agent["idleSessionTTLInSeconds"] == 600
    b = tap.client("bedrock")
    b.create_model_customization_job(
        jobName="j",
        customModelName="m",
        roleArn=ROLE,
        baseModelIdentifier="amazon.titan-text-express-v1",
        trainingDataConfig={"s3Uri": "s3://t/d.jsonl"},
        outputDataConfig={"s3Uri": "s3://t/o/"},
        hyperParameters={},
    )
    assert tap.exchanges[-1].status == 201
    job = b.get_model_customization_job(jobIdentifier="j")
    assert job["validationDataConfig"] == {"validators": []}
    assert b'"creationTime": "20' in (tap.exchanges[-1].body or b"")  # ISO 8601, not "2026-12-04 21:39:21"
    assert job["outputModelArn"] == b.get_custom_model(modelIdentifier="m")["modelArn"]
    # AWS takes ARNs where moto only knows names
    assert b.get_model_customization_job(jobIdentifier=job["jobArn"])["jobName"] == "j"
    assert b.get_custom_model(modelIdentifier=job["outputModelArn"])["modelName"] == "m"
    b.stop_model_customization_job(jobIdentifier=job["jobArn"])
    assert b.get_model_customization_job(jobIdentifier="j")["status"] == "Stopped"
    b.delete_custom_model(modelIdentifier=job["outputModelArn"])
    assert b.list_custom_models()["modelSummaries"] == []


def test_validate_wire_catches_what_the_js_sdk_rejects() -> None:
    """The checker itself: each of the faults the AWS SDK for JavaScript v3 tripped over is reported."""
    js = b'{"agentSummaries": [{"agentId": "ABCDEFGHIJ", "agentName": "a", "agentStatus": "PREPARED", '
    bad_time = js + b'"updatedAt": "2026-12-04 21:39:21"}]}'
    html = {"Content-Type": "text/html; charset=utf-8"}
    problems = validate_wire("bedrock-agent", "ListAgents", 200, html, bad_time)
    assert any("Content-Type" in p for p in problems) and any("ISO 8601" in p for p in problems)
    epoch = js + b'"updatedAt": 1796426408.5}], "nextToken": null}'
    problems = validate_wire("bedrock-agent", "ListAgents", 200, {"Content-Type": "application/json"}, epoch)
    assert any("ISO 8601" in p for p in problems) and any("null" in p for p in problems)
    assert any("the model says 202" in p for p in validate_wire("bedrock-agent", "CreateAgent", 200, {}, b"{}"))
    not_found = {"x-amzn-ErrorType": "ResourceNotFoundException", "Content-Type": "application/json"}
    assert validate_wire("bedrock", "GetCustomModel", 400, not_found, b'{"message": "x"}') == [
        "GetCustomModel: ResourceNotFoundException answered 400, the model says 404"
    ]


def test_runtime_responses_match_the_model(tap: WireTap) -> None:
    b = tap.client("bedrock")
    r = tap.client("bedrock-runtime")
    call = tap.call
    msgs = [{"role": "user", "content": [{"text": "hello"}]}]
    anthropic = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hi"}],
    }
    call(r, "converse", modelId=HAIKU, messages=msgs)
    call(r, "converse", modelId=f"us.{HAIKU}", messages=msgs, inferenceConfig={"maxTokens": 5})
    resp = call(r, "converse_stream", modelId=HAIKU, messages=msgs)
    assert resp is not None and [e for e in resp["stream"]]
    body = call(r, "invoke_model", modelId=HAIKU, body=json.dumps(anthropic))
    assert body is not None and body["body"].read()
    for model_id, native in (
        ("cohere.command-r-v1:0", {"message": "hi"}),
        ("cohere.embed-english-v3", {"texts": ["hi"], "input_type": "search_query"}),
        ("ai21.jamba-1-5-mini-v1:0", {"messages": [{"role": "user", "content": "hi"}]}),
        ("amazon.titan-embed-text-v2:0", {"inputText": "hi"}),
        ("amazon.titan-image-generator-v2:0", {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}}),
    ):
        out = call(r, "invoke_model", modelId=model_id, body=json.dumps(native))
        assert out is not None, model_id
    streamed = call(r, "invoke_model_with_response_stream", modelId=HAIKU, body=json.dumps(anthropic))
    assert streamed is not None and [e for e in streamed["body"]]
    count_body = {"invokeModel": {"body": json.dumps(anthropic).encode()}}
    call(r, "count_tokens", modelId=HAIKU, input=count_body)
    guard = call(b, "create_guardrail", name="g", blockedInputMessaging="no", blockedOutputsMessaging="no")
    assert guard is not None
    call(
        r,
        "apply_guardrail",
        guardrailIdentifier=guard["guardrailId"],
        guardrailVersion="DRAFT",
        source="INPUT",
        content=[{"text": {"text": "fine"}}],
    )
    # errors: AWS's codes and statuses
    call(r, "converse", modelId=HAIKU, messages=[{"role": "user", "content": [{"text": " "}]}])
    call(r, "converse", modelId="no.such-model-v1:0", messages=msgs)
    call(r, "converse", modelId=HAIKU, messages=msgs, inferenceConfig={"temperature": 5.0})
    call(r, "invoke_model", modelId=HAIKU, body=b"not json")
    call(r, "invoke_model_with_response_stream", modelId="cohere.embed-english-v3", body=b"{}")
    assert tap.problems() == []
    assert {"bedrock-runtime:Converse", "bedrock-runtime:InvokeModel"} <= tap.operations(ok=False)
    statuses = {ex.status for ex in tap.exchanges if ex.service == "bedrock-runtime"}
    assert statuses == {200, 400}


def test_every_operation_answers_like_aws(sandbox_env: Any) -> None:
    """Each operation of the four APIs, called with placeholder labels and an empty body: never a 500; an error
    AWS declares for it (or the front end's UnknownOperationException), with the model's status; or a success
    whose body fits the output shape."""
    problems: list[str] = []
    answered: Counter[int] = Counter()
    for service in BEDROCK_MODEL_SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            path = re.sub(r"\{[^}]+\}", "ABCDEFGHIJ", http["requestUri"].split("?", 1)[0])
            body = b"{}" if http["method"] in ("POST", "PUT", "PATCH") else b""
            status, headers, raw = signed_request(sandbox_env.endpoint_url, http["method"], path, body)
            answered[status] += 1
            if status >= 500:
                problems.append(f"{service}:{name}: {status} {raw[:120]!r}")
            elif status < 300 and http["method"] == "POST" and name.startswith(("Create", "Put", "Update")):
                problems.append(f"{service}:{name}: accepted an empty body")
            else:
                streamed = status < 300 and "eventstream" in headers.get("Content-Type", "")
                problems += validate_wire(service, name, status, headers, None if streamed else raw)
    assert problems == []
    assert answered[200] >= 10 and answered[400] >= 20 and answered[404] >= 100
