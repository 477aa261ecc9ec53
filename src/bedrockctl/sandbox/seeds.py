"""Seeds for ``bedrockctl sandbox --seed``: ``empty`` (nothing) and ``demo`` (a believable estate).

The demo estate is built with boto3 against the running sandbox, so it goes through the same code paths as
any client. Two accounts (``123456789012`` "prod", ``210987654321`` "dev") by three regions (us-east-1,
us-west-2, eu-west-1):

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
import urllib.parse
from collections.abc import Callable
from datetime import UTC
from typing import Any

log = logging.getLogger("bedrockctl.sandbox")

PROD = "123456789012"
DEV = "210987654321"
REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
EXTERNAL_ID = "bedrockctl-demo"
SSO_ROLE = "AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b"
CHAT_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TEAMS = ("search", "support")
Step = Callable[[str, Callable[..., Any]], Any]


class _InProcessRaw:
    """Minimal urllib3-response stand-in for botocore's ``AWSResponse.raw``."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *_: Any, **__: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def in_process_sender(app: Any) -> Callable[..., Any]:
    """A botocore ``before-send`` handler that hands the signed request to the sandbox WSGI ``app`` directly
    (same dispatch, identity and handlers as over HTTP, minus the socket)."""
    from botocore.awsrequest import AWSResponse
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    def send(request: Any, **_: Any) -> Any:
        url = urllib.parse.urlsplit(request.url)
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        builder = EnvironBuilder(
            path=url.path or "/",
            query_string=url.query,
            method=request.method,
            headers={k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()},
            data=body or b"",
            base_url=f"{url.scheme}://{url.netloc}",
        )
        env = builder.get_environ()
        env["RAW_URI"] = url.path + (f"?{url.query}" if url.query else "")
        app_iter, status, headers = run_wsgi_app(app, env)
        data = b"".join(app_iter)
        if hasattr(app_iter, "close"):
            app_iter.close()
        return AWSResponse(request.url, int(status.split(" ", 1)[0]), dict(headers.items()), _InProcessRaw(data))

    return send


_SESSION: Any = None  # one boto3 session for every seed: service models load once per process


class _Account:
    """boto3 clients that act in ``self.account`` (moto's ``x-moto-account-id`` header), one client per
    service and region whatever the account (client creation dominates the seed time)."""

    def __init__(self, endpoint: str, app: Any = None, key: str = "AKIAIOSFODNN7EXAMPLE") -> None:
        import boto3
        from botocore.config import Config

        global _SESSION
        if _SESSION is None:
            _SESSION = boto3.Session()
        self.session = _SESSION
        self.endpoint = endpoint
        self.account = PROD
        self.key = key
        self.sender = in_process_sender(app) if app is not None else None
        self.config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        self._clients: dict[tuple[str, str], Any] = {}
        self.usage_key = ("AKIAIOSFODNN7EXAMPLE", "testing")

    def _sign_as_account(self, request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = self.account

    def client(self, service: str, region: str = "us-east-1", secret: str = "testing") -> Any:  # noqa: S107 - fake
        key = (service, region)
        if key not in self._clients:
            c = self.session.client(
                service,
                region_name=region,
                endpoint_url=self.endpoint,
                config=self.config,
                aws_access_key_id=self.key,
                aws_secret_access_key=secret,
            )
            c.meta.events.register("before-sign", self._sign_as_account)
            if self.sender is not None:
                c.meta.events.register("before-send", self.sender)
            self._clients[key] = c
        return self._clients[key]


def _trust(principal: dict[str, Any], external_id: str | None = None) -> str:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if external_id:
        stmt["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def seed_demo(endpoint: str, app: Any = None) -> list[str]:
    """Build the demo estate; returns the names of the steps that were skipped. With ``app`` (the sandbox's
    WSGI application) requests skip the socket and go straight to it."""
    skipped: list[str] = []

    def step(name: str, fn: Callable[..., Any]) -> Any:
        from botocore.exceptions import ClientError

        try:
            return fn()
        except ClientError as exc:
            log.info("demo seed: skipped %s (%s)", name, exc.response.get("Error", {}).get("Code"))
            skipped.append(name)
            return None

    a = _Account(endpoint, app)
    for acct in (DEV, PROD):
        a.account = acct
        _seed_identity(a, acct)
        _seed_logging(a, acct, step)
        for region in REGIONS:
            _seed_bedrock_region(a, acct, region, step)
    _seed_us_east_1_extras(a, PROD, step)
    _seed_sagemaker(a, step)
    _seed_usage(a, endpoint, app, step)
    return skipped


def _seed_identity(a: _Account, acct: str) -> None:
    iam = a.client("iam")
    root = {"AWS": f"arn:aws:iam::{acct}:root"}
    for user in ("alice", "bob"):
        iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "search" if user == "alice" else "support"}])
        key = iam.create_access_key(UserName=user)["AccessKey"]
        if acct == PROD and user == "alice":
            a.usage_key = (key["AccessKeyId"], key["SecretAccessKey"])
    iam.create_role(RoleName="ci-runner", AssumeRolePolicyDocument=_trust(root))
    iam.create_role(RoleName=SSO_ROLE, Path="/aws-reserved/sso.amazonaws.com/", AssumeRolePolicyDocument=_trust(root))
    iam.create_role(
        RoleName="bedrock-logging",
        AssumeRolePolicyDocument=_trust({"Service": "bedrock.amazonaws.com"}),
    )
    if acct == DEV:
        iam.create_role(
            RoleName="bedrock-cross-account",
            AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{PROD}:root"}, EXTERNAL_ID),
            Description="Lets the prod platform account inventory this account",
        )


def _seed_logging(a: _Account, acct: str, step: Step) -> None:
    s3 = a.client("s3")
    trail_bucket = f"cloudtrail-{acct}"
    s3.create_bucket(Bucket=trail_bucket)
    ct = a.client("cloudtrail")
    ct.create_trail(Name="org-trail", S3BucketName=trail_bucket, IsMultiRegionTrail=True)
    ct.start_logging(Name="org-trail")
    for region in REGIONS:
        bucket = f"bedrock-invocation-logs-{acct}-{region}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        a.client("logs", region).create_log_group(logGroupName="/aws/bedrock/modelinvocations")
        a.client("bedrock", region).put_model_invocation_logging_configuration(
            loggingConfig={
                "cloudWatchConfig": {
                    "logGroupName": "/aws/bedrock/modelinvocations",
                    "roleArn": f"arn:aws:iam::{acct}:role/bedrock-logging",
                },
                "s3Config": {"bucketName": bucket, "keyPrefix": "bedrock"},
                "textDataDeliveryEnabled": False,
            }
        )


def _seed_bedrock_region(a: _Account, acct: str, region: str, step: Step) -> None:
    br = a.client("bedrock", region)
    model_arn = f"arn:aws:bedrock:{region}::foundation-model/{CHAT_MODEL}"
    for team in TEAMS:
        step(
            "CreateInferenceProfile",
            lambda team=team: br.create_inference_profile(
                inferenceProfileName=f"{team}-claude-haiku",
                modelSource={"copyFrom": model_arn},
                tags=[{"key": "team", "value": team}, {"key": "env", "value": "prod" if acct == PROD else "dev"}],
            ),
        )
    step(
        "CreateGuardrail",
        lambda: br.create_guardrail(
            name="pii-and-topics",
            blockedInputMessaging="Sorry, I can't help with that.",
            blockedOutputsMessaging="Sorry, I can't share that.",
            topicPolicyConfig={
                "topicsConfig": [
                    {"name": "investment-advice", "definition": "Recommendations on investments.", "type": "DENY"}
                ]
            },
            tags=[{"key": "team", "value": "platform"}],
        ),
    )
    if region == "us-east-1":
        for name in ("search-pt", "idle-pt"):
            step(
                "CreateProvisionedModelThroughput",
                lambda name=name: br.create_provisioned_model_throughput(
                    modelUnits=1,
                    provisionedModelName=name,
                    modelId=CHAT_MODEL,
                    tags=[{"key": "team", "value": "search" if name == "search-pt" else "unassigned"}],
                ),
            )


def _seed_us_east_1_extras(a: _Account, acct: str, step: Step) -> None:
    a.client("s3").create_bucket(Bucket=f"training-data-{acct}")
    step(
        "CreateModelCustomizationJob",
        lambda: a.client("bedrock").create_model_customization_job(
            jobName="support-tone-ft-1",
            customModelName="support-tone-haiku",
            roleArn=f"arn:aws:iam::{acct}:role/bedrock-logging",
            baseModelIdentifier="amazon.titan-text-express-v1",
            trainingDataConfig={"s3Uri": f"s3://training-data-{acct}/train.jsonl"},
            outputDataConfig={"s3Uri": f"s3://training-data-{acct}/output/"},
            hyperParameters={"epochCount": "2"},
            customModelTags=[{"key": "team", "value": "support"}],
        ),
    )
    agent = step(
        "CreateAgent",
        lambda: a.client("bedrock-agent").create_agent(
            agentName="support-assistant",
            foundationModel=CHAT_MODEL,
            instruction="You answer customer support questions about bedrockctl politely and briefly.",
            agentResourceRoleArn=f"arn:aws:iam::{acct}:role/bedrock-logging",
            tags={"team": "support"},
        ),
    )
    if agent:
        agent_id = agent["agent"]["agentId"]
        step("PrepareAgent", lambda: a.client("bedrock-agent").prepare_agent(agentId=agent_id))
        step(
            "CreateAgentAlias",
            lambda: a.client("bedrock-agent").create_agent_alias(agentId=agent_id, agentAliasName="live"),
        )


def _seed_sagemaker(a: _Account, step: Step) -> None:
    sm = a.client("sagemaker")
    role = f"arn:aws:iam::{PROD}:role/ci-runner"
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:2.1-gpu"
    for name in ("chat-ranker", "legacy-classifier"):
        sm.create_model(ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": image})
        sm.create_endpoint_config(
            EndpointConfigName=f"{name}-config",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": name,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge",
                }
            ],
        )
        sm.create_endpoint(
            EndpointName=name,
            EndpointConfigName=f"{name}-config",
            Tags=[{"Key": "team", "Value": "search" if name == "chat-ranker" else "unassigned"}],
        )
    sm.create_model_package_group(ModelPackageGroupName="ranker-models", ModelPackageGroupDescription="Rankers")
    for _ in range(2):
        step(
            "CreateModelPackage",
            lambda: sm.create_model_package(
                ModelPackageGroupName="ranker-models",
                ModelApprovalStatus="Approved",
                InferenceSpecification={
                    "Containers": [{"Image": image}],
                    "SupportedContentTypes": ["application/json"],
                    "SupportedResponseMIMETypes": ["application/json"],
                },
            ),
        )
    step(
        "CreateTrainingJob",
        lambda: sm.create_training_job(
            TrainingJobName="ranker-train-2026-11",
            AlgorithmSpecification={"TrainingImage": image, "TrainingInputMode": "File"},
            RoleArn=role,
            OutputDataConfig={"S3OutputPath": f"s3://training-data-{PROD}/ranker/"},
            ResourceConfig={"InstanceType": "ml.g4dn.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
            StoppingCondition={"MaxRuntimeInSeconds": 86400},
        ),
    )
    from datetime import datetime

    a.client("cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "chat-ranker"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Value": 1200,
                "Unit": "None",
                "Timestamp": datetime.now(UTC),
            }
        ],
    )


def _seed_usage(a: _Account, endpoint: str, app: Any, step: Step) -> None:
    """A few Converse calls signed with alice's own key (the invocation logs and trail name her)."""
    key, secret = a.usage_key
    rt = _Account(endpoint, app, key=key).client("bedrock-runtime", secret=secret)
    prompts = ("Summarise the on-call handbook.", "Draft a reply to ticket 4711.", "Classify: refund request")
    for i, text in enumerate(prompts):
        step(
            "Converse",
            lambda i=i, text=text: rt.converse(
                modelId=CHAT_MODEL if i else f"us.{CHAT_MODEL}",
                messages=[{"role": "user", "content": [{"text": text}]}],
                requestMetadata={"team": TEAMS[i % 2]},
            ),
        )
