"""Parse the many ways a caller names a model: model id, profile id, or one of the Bedrock ARNs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bedrockctl.catalog.model import GEOGRAPHIES

RefKind = Literal[
    "foundation-model",
    "inference-profile",  # system-defined (cross-Region) profile
    "application-inference-profile",
    "provisioned-model",
    "custom-model",
    "imported-model",
    "prompt-router",  # default (``default-prompt-router/<family>:1``) or custom (``prompt-router/<id>``)
]

MODEL_ID_RE = re.compile(r"^[a-z0-9-]{1,63}\.[a-z0-9.-]{1,127}(:[a-z0-9-]{1,63}){0,2}$")
_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12}|):"
    r"(?P<type>[a-z-]+)/(?P<rest>.+)$"
)
_RESOURCE_ID_RE = re.compile(r"^[a-z0-9]{12}$")
_ROUTER_ID_RE = re.compile(r"^[a-zA-Z0-9-:.]{1,256}$")


@dataclass(frozen=True)
class ModelRef:
    """What a model reference points at.

    ``model_id`` is the foundation model id when the reference names one directly (model id, foundation-model
    ARN, system profile id/ARN, custom-model ARN's base model); ``profile_id`` is the system profile id
    (``us.anthropic...``) or the application profile's resource id; ``resource_id`` the 12-character id of
    provisioned/custom/imported/application resources.
    """

    raw: str
    kind: RefKind
    model_id: str | None = None
    profile_id: str | None = None
    geography: str | None = None
    resource_id: str | None = None
    arn: str | None = None
    region: str | None = None
    account_id: str | None = None
    partition: str = "aws"

    @property
    def is_arn(self) -> bool:
        return self.arn is not None


def split_profile_id(value: str) -> tuple[str, str] | None:
    """``us.anthropic.claude...`` -> (``us``, ``anthropic.claude...``); ``None`` when not a profile id."""
    head, sep, tail = value.partition(".")
    if sep and head in GEOGRAPHIES and MODEL_ID_RE.match(tail):
        return head, tail
    return None


def parse_model_ref(value: str) -> ModelRef:
    """Classify ``value``; raise ``ValueError`` when it is not a syntactically valid model reference.

    Whether the id exists is not checked here (``get_model`` / ``get_profile`` answer that).
    """
    value = value.strip()
    if value.startswith("arn:"):
        return _parse_arn(value)
    profile = split_profile_id(value)
    if profile:
        geo, model_id = profile
        return ModelRef(raw=value, kind="inference-profile", model_id=model_id, profile_id=value, geography=geo)
    if MODEL_ID_RE.match(value):
        return ModelRef(raw=value, kind="foundation-model", model_id=value)
    raise ValueError(f"not a model id, inference profile id or Bedrock ARN: {value!r}")


def _parse_arn(value: str) -> ModelRef:
    m = _ARN_RE.match(value)
    if not m:
        raise ValueError(f"not a Bedrock ARN: {value!r}")
    partition, region, account, rtype, rest = m.group("partition", "region", "account", "type", "rest")
    common = {"raw": value, "arn": value, "region": region or None, "partition": partition}
    if rtype == "foundation-model":
        if account or not MODEL_ID_RE.match(rest):
            raise ValueError(f"malformed foundation-model ARN: {value!r}")
        return ModelRef(kind="foundation-model", model_id=rest, **common)  # type: ignore[arg-type]
    if not account:
        raise ValueError(f"ARN without account id: {value!r}")
    common["account_id"] = account
    if rtype == "inference-profile":
        profile = split_profile_id(rest)
        if not profile:
            raise ValueError(f"malformed inference-profile ARN: {value!r}")
        return ModelRef(
            kind="inference-profile",
            model_id=profile[1],
            profile_id=rest,
            geography=profile[0],
            **common,  # type: ignore[arg-type]
        )
    if rtype in ("application-inference-profile", "provisioned-model", "imported-model"):
        if not _RESOURCE_ID_RE.match(rest):
            raise ValueError(f"malformed {rtype} ARN: {value!r}")
        profile_id = rest if rtype == "application-inference-profile" else None
        return ModelRef(kind=rtype, resource_id=rest, profile_id=profile_id, **common)  # type: ignore[arg-type]
    if rtype in ("default-prompt-router", "prompt-router"):
        if not _ROUTER_ID_RE.match(rest):
            raise ValueError(f"malformed {rtype} ARN: {value!r}")
        return ModelRef(kind="prompt-router", resource_id=rest, **common)  # type: ignore[arg-type]
    if rtype == "custom-model":
        # arn:aws:bedrock:<region>:<account>:custom-model/<base model id>/<12 chars>
        base, _, rid = rest.rpartition("/")
        if not _RESOURCE_ID_RE.match(rid):
            raise ValueError(f"malformed custom-model ARN: {value!r}")
        return ModelRef(kind="custom-model", model_id=base or None, resource_id=rid, **common)  # type: ignore[arg-type]
    raise ValueError(f"unsupported Bedrock resource type {rtype!r} in {value!r}")


def foundation_model_arn(model_id: str, region: str, partition: str = "aws") -> str:
    return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(profile_id: str, region: str, account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:bedrock:{region}:{account_id}:inference-profile/{profile_id}"
