"""The estate OpenCITE's documented examples need, seeded into the sandbox through boto3: the inventory estate
(tests/inventory/estate.py), the endpoint the SageMaker example names (``my-endpoint``, invoked 42 times), a model
package group with a description, one call of each Bedrock runtime operation, and the ``my-profile`` profile the
Bedrock example uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inventory.estate import (
    FAKE_KEY,
    FAKE_SECRET,
    Estate,
    client,
    invoke,
    put_endpoint_invocations,
    seed_bedrock,
    seed_sagemaker,
)

EXAMPLE_ENDPOINT = "my-endpoint"  # the name in OpenCITE's SageMaker example
EXAMPLE_PROFILE = "my-profile"  # the profile in OpenCITE's Bedrock example
EXAMPLE_INVOCATIONS = 42
OVERHEAD_LATENCY_US = 3000
DESCRIBED_GROUP = "fraud-models"
DESCRIBED_GROUP_TEXT = "fraud scoring models"
SPEC = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/img:1"}],
    "SupportedContentTypes": ["application/json"],
    "SupportedResponseMIMETypes": ["application/json"],
}


@dataclass
class OpenCiteEstate:
    estate: Estate
    tokens: dict[str, Any]


def write_profile(credentials_file: str) -> None:
    """``[my-profile]`` in the shared credentials file the sandbox fixture points AWS_SHARED_CREDENTIALS_FILE at."""
    path = Path(credentials_file)
    path.write_text(
        f"[{EXAMPLE_PROFILE}]\naws_access_key_id = {FAKE_KEY}\naws_secret_access_key = {FAKE_SECRET}\n",
        encoding="utf-8",
    )


def seed_opencite_estate(endpoint_url: str) -> OpenCiteEstate:
    est = seed_bedrock(endpoint_url)
    seed_sagemaker(endpoint_url, est)
    sm = client(endpoint_url, "sagemaker")
    sm.create_endpoint_config(
        EndpointConfigName=f"{EXAMPLE_ENDPOINT}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": est.sm_models[0],
                "InstanceType": "ml.c5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=EXAMPLE_ENDPOINT, EndpointConfigName=f"{EXAMPLE_ENDPOINT}-config")
    sm.create_model_package_group(
        ModelPackageGroupName=DESCRIBED_GROUP, ModelPackageGroupDescription=DESCRIBED_GROUP_TEXT
    )
    sm.create_model_package(ModelPackageGroupName=DESCRIBED_GROUP, InferenceSpecification=SPEC)
    put_endpoint_invocations(endpoint_url, "us-east-1", EXAMPLE_ENDPOINT, EXAMPLE_INVOCATIONS)
    dims = [{"Name": "EndpointName", "Value": EXAMPLE_ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}]
    client(endpoint_url, "cloudwatch").put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "OverheadLatency",
                "Dimensions": dims,
                "Value": OVERHEAD_LATENCY_US,
                "Unit": "Microseconds",
                "Timestamp": datetime.now(UTC),
            }
        ],
    )
    return OpenCiteEstate(estate=est, tokens=invoke(endpoint_url))
