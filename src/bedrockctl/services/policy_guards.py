"""Guards a generated policy can put on model calls, with Bedrock's own condition keys.

- **A required guardrail** (``bedrock:GuardrailIdentifier``): the invoke statements allow a call only when it
  names the guardrail (ARN and version, ``arn:aws:bedrock:<region>:<account>:guardrail/<id>:<version>``), and an
  explicit Deny with ``StringNotEquals`` refuses every other call whatever other policies allow (AWS's pattern);
  ``bedrock:ApplyGuardrail`` on the guardrail is allowed, as Bedrock needs it to apply the guardrail.
- **API-key types** (``bedrock:bearerTokenType``): ``bedrock:CallWithBearerToken`` is allowed only for the token
  types listed (``SHORT_TERM``, ``LONG_TERM``); with ``none`` it is denied outright (no Bedrock API key works).
- **A Region fence on inference profiles** (``bedrock:InferenceProfileArn``): a call made through an inference
  profile is allowed only when the profile lives in one of the listed Regions (``StringLikeIfExists``: direct
  calls, which carry no profile, are governed by the foundation-model ARNs alone).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.errors import ValidationFailed

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
TOKEN_TYPES = ("SHORT_TERM", "LONG_TERM")
_GUARDRAIL = re.compile(
    r"^(?P<arn>arn:aws[a-z-]*:bedrock:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):guardrail/[a-z0-9]+)"
    r":(?P<version>[1-9][0-9]{0,7}|DRAFT)$"
)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass
class InvokeGuards:
    guardrail: str | None = None  # guardrail ARN:version
    token_types: list[str] = field(default_factory=list)  # [] = no statement; ["none"] = deny every API key
    profile_regions: list[str] = field(default_factory=list)

    @classmethod
    def parse(
        cls, guardrail: str | None = None, token_types: Sequence[str] = (), profile_regions: Sequence[str] = ()
    ) -> InvokeGuards:
        if guardrail and not _GUARDRAIL.match(guardrail):
            raise ValidationFailed(
                f"--require-guardrail {guardrail!r} is not a guardrail ARN with its version",
                remediation="Pass arn:aws:bedrock:<region>:<account>:guardrail/<id>:<version> (a number or DRAFT); "
                "`aws bedrock list-guardrails` lists them.",
            )
        kinds = [t.strip().upper().replace("-", "_") for t in token_types if t.strip()]
        for kind in kinds:
            if kind not in (*TOKEN_TYPES, "NONE"):
                raise ValidationFailed(
                    f"--bearer-token-type {kind!r} is not an API-key type",
                    remediation="Pass short-term, long-term, or none (no Bedrock API key may be used).",
                )
        if "NONE" in kinds and len(kinds) > 1:
            raise ValidationFailed(
                "--bearer-token-type none cannot be combined with other types",
                remediation="Pass none alone, or the types to allow.",
            )
        for region in profile_regions:
            if not _REGION.match(region):
                raise ValidationFailed(
                    f"--profile-region {region!r} is not a Region name", remediation="Pass a Region such as us-east-1."
                )
        return cls(guardrail or None, kinds, list(profile_regions))

    def invoke_condition(self, account: str, partition: str = "aws") -> dict[str, dict[str, Any]]:
        """Conditions added to every statement that allows the invoke actions."""
        cond: dict[str, dict[str, Any]] = {}
        if self.guardrail:
            cond["StringEquals"] = {"bedrock:GuardrailIdentifier": self.guardrail}
        if self.profile_regions:
            arns = [
                f"arn:{partition}:bedrock:{region}:{account}:{kind}/*"
                for region in self.profile_regions
                for kind in ("inference-profile", "application-inference-profile")
            ]
            cond["StringLikeIfExists"] = {"bedrock:InferenceProfileArn": arns}
        return cond

    def statements(self, invoke_resources: list[str]) -> list[dict[str, Any]]:
        """Statements added beside the features' ones: ``{sid, effect, actions, resources, condition, reason}``."""
        out: list[dict[str, Any]] = []
        if self.guardrail:
            match = _GUARDRAIL.match(self.guardrail)
            assert match is not None
            out.append(
                {
                    "sid": "BedrockctlDenyWithoutGuardrail",
                    "effect": "Deny",
                    "actions": list(INVOKE_ACTIONS),
                    "resources": invoke_resources or ["*"],
                    "condition": {"StringNotEquals": {"bedrock:GuardrailIdentifier": self.guardrail}},
                    "reason": f"Refuse every model call that does not apply {self.guardrail}, whatever other "
                    "policies allow (an explicit Deny wins).",
                }
            )
            out.append(
                {
                    "sid": "BedrockctlApplyGuardrail",
                    "effect": "Allow",
                    "actions": ["bedrock:ApplyGuardrail"],
                    "resources": [match.group("arn")],
                    "condition": {},
                    "reason": "Bedrock applies the required guardrail on the caller's behalf.",
                }
            )
        if self.token_types == ["NONE"]:
            out.append(
                {
                    "sid": "BedrockctlDenyApiKeys",
                    "effect": "Deny",
                    "actions": ["bedrock:CallWithBearerToken"],
                    "resources": ["*"],
                    "condition": {},
                    "reason": "No Bedrock API key (short- or long-term) may call Bedrock as this principal.",
                }
            )
        elif self.token_types:
            out.append(
                {
                    "sid": "BedrockctlApiKeys",
                    "effect": "Allow",
                    "actions": ["bedrock:CallWithBearerToken"],
                    "resources": ["*"],
                    "condition": {"StringEquals": {"bedrock:bearerTokenType": _one_or_list(self.token_types)}},
                    "reason": "Bedrock API keys of these types may call Bedrock as this principal.",
                }
            )
        return out


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values
