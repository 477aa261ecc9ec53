"""Service Quotas for Bedrock (awsJson1_1, ``ServiceQuotasV20190624.<Operation>``): ``ListServiceQuotas`` and
``ListAWSDefaultServiceQuotas`` with ``ServiceCode=bedrock`` answer one on-demand tokens-per-minute quota per text
model listed in the Region (named as AWS names them), ``MaxResults``/``NextToken`` paginated. Other service codes
are moto's (it knows ``vpc``).

``set_bedrock_quota(account, region, model_name, value)`` sets the applied value of a model's quota (until reset).
"""

from __future__ import annotations

import hashlib
from typing import Any

from bedrockctl.sandbox.bedrock.control_common import now
from bedrockctl.sandbox.bedrock.models_data import sandbox_models
from bedrockctl.sandbox.core import AwsError, SandboxRequest, SandboxResponse
from bedrockctl.sandbox.dispatch import TARGETS
from bedrockctl.sandbox.state import StateStore

DEFAULT_TOKENS_PER_MINUTE = 200_000.0
_APPLIED: StateStore[dict[str, float]] = StateStore(lambda account, region: {})


def set_bedrock_quota(account_id: str, region: str, model_name: str, value: float | None) -> None:
    """The applied tokens-per-minute quota of ``model_name`` (None: back to the default)."""
    applied = _APPLIED.get(account_id, region)
    if value is None:
        applied.pop(model_name, None)
    else:
        applied[model_name] = value


def _quotas(req: SandboxRequest) -> list[dict[str, Any]]:
    applied = _APPLIED.get(req.account_id, req.region)
    out = []
    for model in sandbox_models().models_in_region(req.region, now()):
        if "TEXT" not in model.summary.get("outputModalities", []):
            continue
        name = str(model.summary.get("modelName") or model.model_id)
        code = "L-" + hashlib.sha256(model.model_id.encode()).hexdigest()[:8].upper()
        out.append(
            {
                "ServiceCode": "bedrock",
                "ServiceName": "Amazon Bedrock",
                "QuotaArn": f"arn:aws:servicequotas:{req.region}:{req.account_id}:bedrock/{code}",
                "QuotaCode": code,
                "QuotaName": f"On-demand model inference tokens per minute for {name}",
                "Value": applied.get(name, DEFAULT_TOKENS_PER_MINUTE),
                "Unit": "None",
                "Adjustable": True,
                "GlobalQuota": False,
            }
        )
    return out


def _page(req: SandboxRequest) -> SandboxResponse | None:
    body = req.json()
    if body.get("ServiceCode") != "bedrock":
        return None  # moto's
    quotas = _quotas(req)
    size = int(body.get("MaxResults") or 100)
    if not 1 <= size <= 100:
        raise AwsError("ValidationException", "MaxResults must be between 1 and 100.")
    start = int(body.get("NextToken") or 0)
    page = quotas[start : start + size]
    out: dict[str, Any] = {"Quotas": page}
    if start + size < len(quotas):
        out["NextToken"] = str(start + size)
    return SandboxResponse.json(out)


@TARGETS.route("servicequotas", "ListServiceQuotas")
def list_service_quotas(req: SandboxRequest) -> SandboxResponse | None:
    return _page(req)


@TARGETS.route("servicequotas", "ListAWSDefaultServiceQuotas")
def list_default_service_quotas(req: SandboxRequest) -> SandboxResponse | None:
    return _page(req)
