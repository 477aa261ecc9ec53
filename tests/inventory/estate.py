"""A known estate seeded into the sandbox through the public AWS APIs (boto3), for the plugin/inventory tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import boto3
from botocore.config import Config

FAKE_KEY = "AKIAIOSFODNN7EXAMPLE"
FAKE_SECRET = "testing"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TITAN = "amazon.titan-text-express-v1"
LOG_GROUP = "/bedrock/invocations"
ROLE = "arn:aws:iam::123456789012:role/bedrock-logging"


def client(endpoint: str, service: str, region: str = "us-east-1", **creds: Any) -> Any:
    creds.setdefault("aws_access_key_id", FAKE_KEY)
    creds.setdefault("aws_secret_access_key", FAKE_SECRET)
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        **creds,
    )


@dataclass
class Estate:
    region: str
    app_profile_arn: str = ""
    pt_arn: str = ""
    pt_name: str = "pt-haiku"
    guardrail_id: str = ""
    custom_model_name: str = "my-custom-titan"
    agent_id: str = ""
    kb_id: str = ""
    endpoint: str = "ep-busy"
    idle_endpoint: str = "ep-idle"
    sm_models: list[str] = field(default_factory=lambda: ["sm-model-a", "sm-model-b"])
    package_group: str = "pkg-group"
    training_job: str = "train-job-1"


def seed_bedrock(endpoint: str, region: str = "us-east-1", *, logging: bool = True, **creds: Any) -> Estate:
    est = Estate(region=region)
    br = client(endpoint, "bedrock", region, **creds)
    prof = br.create_inference_profile(
        inferenceProfileName="team-a-haiku",
        description="team A cost tracking",
        modelSource={"copyFrom": f"arn:aws:bedrock:{region}::foundation-model/{HAIKU}"},
        tags=[{"key": "team", "value": "a"}, {"key": "env", "value": "prod"}],
    )
    est.app_profile_arn = prof["inferenceProfileArn"]
    est.pt_arn = br.create_provisioned_model_throughput(modelUnits=1, provisionedModelName=est.pt_name, modelId=HAIKU)[
        "provisionedModelArn"
    ]
    est.guardrail_id = br.create_guardrail(
        name="pii-guard",
        blockedInputMessaging="blocked",
        blockedOutputsMessaging="blocked",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
    )["guardrailId"]
    br.create_model_customization_job(
        jobName="ft-job",
        customModelName=est.custom_model_name,
        roleArn=ROLE,
        baseModelIdentifier=TITAN,
        trainingDataConfig={"s3Uri": "s3://training/data.jsonl"},
        outputDataConfig={"s3Uri": "s3://training/out/"},
        hyperParameters={"epochCount": "1"},
    )
    ag = client(endpoint, "bedrock-agent", region, **creds)
    est.agent_id = ag.create_agent(agentName="support-agent", foundationModel=HAIKU, agentResourceRoleArn=ROLE)[
        "agent"
    ]["agentId"]
    est.kb_id = ag.create_knowledge_base(
        name="docs-kb",
        roleArn=ROLE,
        knowledgeBaseConfiguration={
            "type": "VECTOR",
            "vectorKnowledgeBaseConfiguration": {
                "embeddingModelArn": f"arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0"
            },
        },
        storageConfiguration={
            "type": "OPENSEARCH_SERVERLESS",
            "opensearchServerlessConfiguration": {
                "collectionArn": f"arn:aws:aoss:{region}:123456789012:collection/abc",
                "vectorIndexName": "idx",
                "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"},
            },
        },
    )["knowledgeBase"]["knowledgeBaseId"]
    if logging:
        client(endpoint, "logs", region, **creds).create_log_group(logGroupName=LOG_GROUP)
        br.put_model_invocation_logging_configuration(
            loggingConfig={
                "cloudWatchConfig": {"logGroupName": LOG_GROUP, "roleArn": ROLE},
                "textDataDeliveryEnabled": True,
            }
        )
    return est


def seed_sagemaker(endpoint: str, est: Estate, **creds: Any) -> None:
    sm = client(endpoint, "sagemaker", est.region, **creds)
    for name in est.sm_models:
        sm.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1", "ModelDataUrl": "s3://m/"},
        )
    for ep, model, itype, count in (
        (est.endpoint, est.sm_models[0], "ml.g4dn.xlarge", 2),
        (est.idle_endpoint, est.sm_models[1], "ml.m5.large", 1),
    ):
        sm.create_endpoint_config(
            EndpointConfigName=f"{ep}-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InstanceType": itype,
                    "InitialInstanceCount": count,
                    "InitialVariantWeight": 1.0,
                }
            ],
        )
        sm.create_endpoint(EndpointName=ep, EndpointConfigName=f"{ep}-config")
    sm.create_model_package_group(ModelPackageGroupName=est.package_group)
    spec = {
        "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"}],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    sm.create_model_package(ModelPackageGroupName=est.package_group, InferenceSpecification=spec)
    sm.create_model_package(ModelPackageName="unversioned-pkg", InferenceSpecification=spec)
    sm.create_training_job(
        TrainingJobName=est.training_job,
        AlgorithmSpecification={"TrainingImage": "img:latest", "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://out/"},
        ResourceConfig={"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def put_endpoint_invocations(endpoint: str, region: str, name: str, count: int, **creds: Any) -> None:
    """What SageMaker publishes for a busy endpoint: Invocations (+ ModelLatency in microseconds)."""
    from datetime import datetime

    cw = client(endpoint, "cloudwatch", region, **creds)
    dims = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}]
    now = datetime.now(UTC)
    cw.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": "Invocations", "Dimensions": dims, "Value": count, "Unit": "None", "Timestamp": now},
            {"MetricName": "Invocation4XXErrors", "Dimensions": dims, "Value": 2, "Unit": "None", "Timestamp": now},
            {"MetricName": "Invocation5XXErrors", "Dimensions": dims, "Value": 1, "Unit": "None", "Timestamp": now},
            {
                "MetricName": "ModelLatency",
                "Dimensions": dims,
                "Value": 25000,
                "Unit": "Microseconds",
                "Timestamp": now,
            },
        ],
    )


def invoke(endpoint: str, region: str = "us-east-1", **creds: Any) -> dict[str, Any]:
    """One call of each runtime operation; returns the tokens the four calls reported."""
    rt = client(endpoint, "bedrock-runtime", region, **creds)
    msgs = [{"role": "user", "content": [{"text": "Hello there, how are you today?"}]}]
    tokens = {"input": 0, "output": 0, "calls": 0}
    r = rt.converse(modelId=HAIKU, messages=msgs)
    tokens["input"] += r["usage"]["inputTokens"]
    tokens["output"] += r["usage"]["outputTokens"]
    stream = rt.converse_stream(modelId=HAIKU, messages=msgs)["stream"]
    for ev in stream:
        if "metadata" in ev:
            tokens["input"] += ev["metadata"]["usage"]["inputTokens"]
            tokens["output"] += ev["metadata"]["usage"]["outputTokens"]
    body = json.dumps(
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 50,
            "messages": msgs[:0] or [{"role": "user", "content": "Hello there, how are you today?"}],
        }
    )
    r2 = rt.invoke_model(modelId=HAIKU, body=body)
    out = json.loads(r2["body"].read())
    tokens["input"] += out["usage"]["input_tokens"]
    tokens["output"] += out["usage"]["output_tokens"]
    r3 = rt.invoke_model_with_response_stream(modelId=HAIKU, body=body)
    for ev in r3["body"]:
        chunk = json.loads(ev["chunk"]["bytes"])
        if chunk.get("type") == "message_delta":
            tokens["output"] += chunk["usage"]["output_tokens"]
        if chunk.get("type") == "message_start":
            tokens["input"] += chunk["message"]["usage"]["input_tokens"]
    tokens["calls"] = 4
    return tokens
