"""One gateway audit record (a row of ``gateway_audit``) and its exports: plain data, no database import, so that
the ledger's child process (``services.gateway_ledger``) starts without SQLAlchemy."""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass, fields
from typing import Any

NANO = 1_000_000_000


@dataclass(slots=True)
class AuditRecord:
    ts: float
    request_id: str
    key_id: str | None
    user_name: str | None
    team: str | None
    environment: str | None
    protocol: str
    operation: str
    model_requested: str | None
    model_served: str | None
    region: str | None
    input_tokens: int
    output_tokens: int
    cost_nusd: int
    status: str
    http_status: int
    latency_ms: int
    attempts: int
    client: str | None
    record_id: str | None = None  # unique (set when the record is journaled): replays insert it once
    guardrail_units: int = 0  # guardrail text units assessed (every policy), priced in cost_nusd

    def row(self) -> dict[str, Any]:
        return dict(zip(FIELDS, _values(self), strict=True))

    def invocation_log(self, account_id: str = "") -> dict[str, Any]:
        """The record in the shape of a Bedrock model invocation log (what the analytics ledger ingests)."""
        meta = {
            "team": self.team,
            "user": self.user_name,
            "environment": self.environment,
            "gateway_key": self.key_id,
            "protocol": self.protocol,
        }
        return {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.ts)) + f".{int(self.ts % 1 * 1000):03d}Z",
            "accountId": account_id,
            "identity": {"arn": f"arn:bedrockctl:gateway::{self.team or '-'}:user/{self.user_name or '-'}"},
            "region": self.region,
            "requestId": self.request_id,
            "operation": self.operation,
            "modelId": self.model_served or self.model_requested or "",
            "input": {"inputTokenCount": self.input_tokens},
            "output": {"outputTokenCount": self.output_tokens},
            "metrics": {"latencyMs": self.latency_ms},
            "requestMetadata": {k: v for k, v in meta.items() if v},
            # a guardrail's intervention is an answer, as in Bedrock's own invocation logs (not an error)
            **({"errorCode": self.status} if self.status not in ("ok", "guardrail_intervened") else {}),
        }

    def public(self) -> dict[str, Any]:
        out = self.row()
        out["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.ts))
        out["cost_usd"] = f"{self.cost_nusd / NANO:.9f}"
        return out


FIELDS = tuple(f.name for f in fields(AuditRecord))
_values = operator.attrgetter(*FIELDS)  # record -> tuple of column values, in FIELDS order
