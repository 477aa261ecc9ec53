"""Seeds for ``bedrockctl sandbox --seed``: ``empty`` (nothing) and ``demo`` (a believable estate).

The demo estate is built in-process, without botocore (loading its service models and building clients cost
more than the whole estate): moto's services (IAM, S3, CloudTrail, CloudWatch Logs, CloudWatch, SageMaker, moto's
Bedrock custom models and agents) through moto's backends, and our Bedrock handlers through the sandbox's own
WSGI dispatcher with raw rest-json requests (``seed_caller``: same routing, identity, handlers and side effects as
over HTTP, minus the socket). Two accounts (``123456789012`` "prod", ``210987654321`` "dev") by three regions
(us-east-1, us-west-2, eu-west-1):

- IAM: users ``alice`` and ``bob`` (with access keys), roles ``ci-runner``, an IAM Identity Center role
  ``AWSReservedSSO_Developer_…``, and in the dev account ``bedrock-cross-account`` that trusts the prod
  account only with external id ``bedrockctl-demo``;
- a multi-region CloudTrail trail that is logging, model invocation logging (log group + bucket) per region;
- per region: application inference profiles tagged by team, a guardrail, provisioned throughput (us-east-1:
  one in use, one idle);
- in us-east-1: a custom model (fine-tuning job), an agent with an alias, SageMaker models, two endpoints
  (``chat-ranker`` busy, ``legacy-classifier`` idle), a model package group with two versions, a training job;
- a few Converse calls so usage reports have something to show.

Steps whose API the sandbox does not offer (yet) are skipped; ``seed_demo`` returns what it skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from bedrockctl.sandbox.core import AwsError
from bedrockctl.sandbox.seed_caller import FAKE_KEY, SeedCaller, SeedError

log = logging.getLogger("bedrockctl.sandbox")

PROD = "123456789012"
DEV = "210987654321"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
EXTERNAL_ID = "bedrockctl-demo"
SSO_ROLE = "AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b"
CHAT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TEAMS = ("search", "support")
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.1-gpu"


def _any(value: Any) -> Any:
    return value


def _trust(principal: dict[str, Any], external_id: str | None = None) -> str:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if external_id:
        stmt["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


Step = Callable[[str, Callable[[], Any]], Any]


def seed_demo(endpoint: str, app: Any = None) -> list[str]:
    """Build the demo estate; returns the names of the steps that were skipped. With ``app`` (the sandbox's
    WSGI application) requests to our handlers skip the socket and go straight to it."""
    skipped: list[str] = []

    def step(name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (SeedError, AwsError) as exc:
            log.info("demo seed: skipped %s (%s)", name, exc)
            skipped.append(name)
            return None

    call = SeedCaller(endpoint, PROD, app)
    usage_key = (FAKE_KEY, "testing")
    for acct in (DEV, PROD):
        call.account = acct
        alice = _seed_identity(acct)
        if acct == PROD:
            usage_key = alice
        _seed_logging(call, acct)
        for region in REGIONS:
            _seed_bedrock_region(call, acct, region, step)
    call.account = PROD
    _seed_us_east_1_extras(call, PROD, step)
    _seed_sagemaker(PROD, step)
    _seed_usage(endpoint, app, usage_key[0], step)
    return skipped


def _seed_identity(acct: str) -> tuple[str, str]:
    """Users, roles; returns alice's access key (id, secret)."""
    from moto.iam.models import iam_backends

    iam: Any = iam_backends[acct]["aws"]
    root = {"AWS": f"arn:aws:iam::{acct}:root"}
    alice = ("", "")
    for user in ("alice", "bob"):
        iam.create_user("us-east-1", user, "/", [{"Key": "team", "Value": "search" if user == "alice" else "support"}])
        key = iam.create_access_key(user)
        if user == "alice":
            alice = (key.access_key_id, key.secret_access_key)
    iam.create_role("ci-runner", _trust(root), "/", None, None, [], 3600)
    iam.create_role(SSO_ROLE, _trust(root), "/aws-reserved/sso.amazonaws.com/", None, None, [], 3600)
    iam.create_role("bedrock-logging", _trust({"Service": "bedrock.amazonaws.com"}), "/", None, None, [], 3600)
    if acct == DEV:
        iam.create_role(
            "bedrock-cross-account",
            _trust({"AWS": f"arn:aws:iam::{PROD}:root"}, EXTERNAL_ID),
            "/",
            None,
            "Lets the prod platform account inventory this account",
            [],
            3600,
        )
    return alice


def _seed_logging(call: SeedCaller, acct: str) -> None:
    from moto.bedrock.models import bedrock_backends
    from moto.cloudtrail.models import cloudtrail_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends

    s3: Any = s3_backends[acct]["aws"]
    trail_bucket = f"cloudtrail-{acct}"
    s3.create_bucket(trail_bucket, "us-east-1")
    trails: Any = cloudtrail_backends[acct]["us-east-1"]
    trails.create_trail("org-trail", trail_bucket, None, None, True, True, False, False, None, None, None, [])
    trails.start_logging("org-trail")
    for region in REGIONS:
        bucket = f"bedrock-invocation-logs-{acct}-{region}"
        s3.create_bucket(bucket, region)
        _any(logs_backends[acct][region]).create_log_group("/aws/bedrock/modelinvocations", None)
        bedrock_backends[acct][region].put_model_invocation_logging_configuration(
            {
                "cloudWatchConfig": {
                    "logGroupName": "/aws/bedrock/modelinvocations",
                    "roleArn": f"arn:aws:iam::{acct}:role/bedrock-logging",
                },
                "s3Config": {"bucketName": bucket, "keyPrefix": "bedrock"},
                "textDataDeliveryEnabled": False,
            }
        )


def _seed_bedrock_region(call: SeedCaller, acct: str, region: str, step: Step) -> None:
    model_arn = f"arn:aws:bedrock:{region}::foundation-model/{CHAT_MODEL}"
    for team in TEAMS:
        body = {
            "inferenceProfileName": f"{team}-claude-haiku",
            "modelSource": {"copyFrom": model_arn},
            "tags": [{"key": "team", "value": team}, {"key": "env", "value": "prod" if acct == PROD else "dev"}],
        }
        step("CreateInferenceProfile", partial(call, "bedrock", region, "POST", "/inference-profiles", body))
    guardrail = {
        "name": "pii-and-topics",
        "blockedInputMessaging": "Sorry, I can't help with that.",
        "blockedOutputsMessaging": "Sorry, I can't share that.",
        "topicPolicyConfig": {
            "topicsConfig": [
                {"name": "investment-advice", "definition": "Recommendations on investments.", "type": "DENY"}
            ]
        },
        "tags": [{"key": "team", "value": "platform"}],
    }
    step("CreateGuardrail", lambda: call("bedrock", region, "POST", "/guardrails", guardrail))
    if region == "us-east-1":
        for name in ("search-pt", "idle-pt"):
            pt = {
                "modelUnits": 1,
                "provisionedModelName": name,
                "modelId": CHAT_MODEL,
                "tags": [{"key": "team", "value": "search" if name == "search-pt" else "unassigned"}],
            }
            step(
                "CreateProvisionedModelThroughput",
                partial(call, "bedrock", region, "POST", "/provisioned-model-throughput", pt),
            )


def _seed_us_east_1_extras(call: SeedCaller, acct: str, step: Step) -> None:
    from moto.bedrock.models import bedrock_backends
    from moto.bedrockagent.models import bedrockagent_backends
    from moto.s3.models import s3_backends

    from bedrockctl.sandbox.bedrock.control_common import STATE
    from bedrockctl.sandbox.bedrock.control_imported import import_model

    s3_backends[acct]["aws"].create_bucket(f"training-data-{acct}", "us-east-1")
    role = f"arn:aws:iam::{acct}:role/bedrock-logging"
    step(
        "CreateModelCustomizationJob",
        lambda: bedrock_backends[acct]["us-east-1"].create_model_customization_job(
            job_name="support-tone-ft-1",
            custom_model_name="support-tone-haiku",
            role_arn=role,
            client_request_token=None,
            base_model_identifier="amazon.titan-text-express-v1",
            customization_type=None,
            custom_model_kms_key_id=None,
            job_tags=None,
            custom_model_tags=[{"key": "team", "value": "support"}],
            training_data_config={"s3Uri": f"s3://training-data-{acct}/train.jsonl"},
            validation_data_config=None,
            output_data_config={"s3Uri": f"s3://training-data-{acct}/output/"},
            hyper_parameters={"epochCount": "2"},
            vpc_config=None,
        ),
    )
    step(
        "ImportModel",
        lambda: import_model(
            STATE.get(acct, "us-east-1"),
            "ranker-llama-3-8b",
            f"s3://training-data-{acct}/imports/llama-3-8b/",
            tags={"team": "search"},
        ),
    )
    agent = bedrockagent_backends[acct]["us-east-1"].create_agent(
        agent_name="support-assistant",
        client_token=None,
        instruction="You answer customer support questions about bedrockctl politely and briefly.",
        foundation_model=CHAT_MODEL,
        description=None,
        idle_session_ttl_in_seconds=None,
        agent_resource_role_arn=role,
        customer_encryption_key_arn=None,
        tags={"team": "support"},
        prompt_override_configuration=None,
    )
    path = f"/agents/{agent.agent_id}/"
    step("PrepareAgent", lambda: call("bedrock-agent", "us-east-1", "POST", path))
    body = {"agentAliasName": "live"}
    step("CreateAgentAlias", lambda: call("bedrock-agent", "us-east-1", "PUT", f"{path}agentaliases/", body))


def _seed_sagemaker(acct: str, step: Step) -> None:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.sagemaker.models import sagemaker_backends

    sm: Any = sagemaker_backends[acct]["us-east-1"]
    role = f"arn:aws:iam::{acct}:role/ci-runner"
    for name in ("chat-ranker", "legacy-classifier"):
        sm.create_model(
            model_name=name,
            execution_role_arn=role,
            primary_container={"Image": IMAGE},
            vpc_config=None,
            containers=None,
            tags=None,
        )
        variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1}
        sm.create_endpoint_config(
            endpoint_config_name=f"{name}-config",
            production_variants=[{**variant, "InstanceType": "ml.g4dn.xlarge"}],
            data_capture_config=None,
            async_inference_config=None,
            tags=None,
            kms_key_id=None,
        )
        team = "search" if name == "chat-ranker" else "unassigned"
        sm.create_endpoint(
            endpoint_name=name, endpoint_config_name=f"{name}-config", tags=[{"Key": "team", "Value": team}]
        )
    sm.create_model_package_group(
        model_package_group_name="ranker-models", model_package_group_description="Rankers", tags=None
    )
    spec = {
        "Containers": [{"Image": IMAGE}],
        "SupportedContentTypes": ["application/json"],
        "SupportedResponseMIMETypes": ["application/json"],
    }
    for _ in range(2):
        sm.create_model_package(
            model_package_name=None,
            model_package_group_name="ranker-models",
            model_package_description=None,
            inference_specification=spec,
            validation_specification=None,
            source_algorithm_specification=None,
            certify_for_marketplace=False,
            tags=None,
            model_approval_status="Approved",
            metadata_properties=None,
            model_metrics=None,
            client_token=None,
            customer_metadata_properties=None,
            drift_check_baselines=None,
            domain=None,
            task=None,
            sample_payload_url=None,
            additional_inference_specifications=None,
        )
    sm.create_training_job(
        training_job_name="ranker-train-2026-11",
        hyper_parameters=None,
        algorithm_specification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        role_arn=role,
        input_data_config=None,
        output_data_config={"S3OutputPath": f"s3://training-data-{acct}/ranker/"},
        resource_config={"InstanceType": "ml.g4dn.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        vpc_config=None,
        stopping_condition={"MaxRuntimeInSeconds": 86400},
        tags=None,
        enable_network_isolation=False,
        enable_inter_container_traffic_encryption=False,
        enable_managed_spot_training=False,
        checkpoint_config=None,
        debug_hook_config=None,
        debug_rule_configurations=None,
        tensor_board_output_config=None,
        experiment_config=None,
    )
    dims = [{"Name": "EndpointName", "Value": "chat-ranker"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    cloudwatch_backends[acct]["us-east-1"].put_metric_data(
        "AWS/SageMaker",
        [
            {
                "MetricName": "Invocations",
                "Dimensions": dims,
                "Value": 1200,
                "Unit": "None",
                "Timestamp": datetime.now(UTC).replace(tzinfo=None),
            }
        ],
    )


def _seed_usage(endpoint: str, app: Any, key: str, step: Step) -> None:
    """A few Converse calls signed with alice's own key (the invocation logs and trail name her)."""
    call = SeedCaller(endpoint, PROD, app, key=key)
    prompts = ("Summarise the on-call handbook.", "Draft a reply to ticket 4711.", "Classify: refund request")
    for i, text in enumerate(prompts):
        model = CHAT_MODEL if i else f"us.{CHAT_MODEL}"
        body = {"messages": [{"role": "user", "content": [{"text": text}]}], "requestMetadata": {"team": TEAMS[i % 2]}}
        step(
            "Converse",
            partial(call, "bedrock-runtime", "us-east-1", "POST", f"/model/{model}/converse", body),
        )
