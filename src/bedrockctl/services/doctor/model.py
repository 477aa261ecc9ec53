"""The doctor's data: options, checks, the report, and the shared context the checks read."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bedrockctl.aws.provenance import Identity, Provenance
from bedrockctl.aws.session import SessionFactory
from bedrockctl.errors import BedrockctlError

Status = Literal["pass", "warn", "fail", "skip"]
Severity = Literal["critical", "high", "medium", "low", "info"]
Resolver = Callable[[str], list[str]]
SCHEMA = "bedrockctl.doctor/v1"
STATUS_ORDER = {"fail": 0, "warn": 1, "pass": 2, "skip": 3}


def system_resolver(host: str) -> list[str]:
    """The addresses the operating system resolves ``host`` to (IPv4 and IPv6), in order, de-duplicated."""
    seen: list[str] = []
    for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP):
        addr = str(info[4][0])
        if addr not in seen:
            seen.append(addr)
    return seen


@dataclass
class DoctorOptions:
    region: str | None = None
    all_regions: bool = False
    models: list[str] = field(default_factory=list)  # ["all"] = every model the caller uses
    agent_id: str | None = None
    agent_alias_id: str | None = None
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    invoke: bool = False
    features: list[str] = field(default_factory=lambda: ["discover", "invoke"])
    sagemaker: bool = False
    network_timeout: float = 3.0
    deadline: float = 60.0  # seconds for the whole run; checks still running then are reported as failed
    workers: int = 8


@dataclass
class Check:
    id: str
    title: str
    severity: Severity
    status: Status
    evidence: str
    remediation: str = ""
    target: str | None = None
    region: str | None = None
    duration_ms: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "target": self.target,
            "region": self.region,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "duration_ms": self.duration_ms,
            "data": self.data,
        }


@dataclass
class Report:
    checks: list[Check]
    region: str | None
    started_at: datetime
    duration_ms: int
    identity: dict[str, Any] | None = None

    @property
    def summary(self) -> dict[str, int]:
        out = {"pass": 0, "warn": 0, "fail": 0, "skip": 0}
        for c in self.checks:
            out[c.status] += 1
        return out

    @property
    def exit_code(self) -> int:
        """0 when nothing warns or fails, 1 on warnings, 2 on failures."""
        s = self.summary
        return 2 if s["fail"] else 1 if s["warn"] else 0

    @property
    def status(self) -> Status:
        return "fail" if self.exit_code == 2 else "warn" if self.exit_code == 1 else "pass"

    def get(self, check_id: str, target: str | None = None) -> Check | None:
        for c in self.checks:
            if c.id == check_id and (target is None or c.target == target):
                return c
        return None

    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "status": self.status,
            "exit_code": self.exit_code,
            "region": self.region,
            "identity": self.identity,
            "started_at": self.started_at.isoformat(),
            "duration_ms": self.duration_ms,
            "summary": self.summary,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class Facts:
    """What the credential phase learned; read by every other check."""

    sessions: SessionFactory
    options: DoctorOptions
    region: str | None
    resolver: Resolver
    env: Mapping[str, str]
    sources: Mapping[str, str] = field(default_factory=dict)  # the settings' provenance (Settings.sources)
    memo: dict[str, Any] = field(default_factory=dict)  # answers read once per run (the Bedrock quotas)
    provenance: Provenance | None = None
    identity: Identity | None = None
    credential_error: BedrockctlError | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def credentials_ok(self) -> bool:
        return self.identity is not None

    def client(self, service: str, region: str | None = None) -> Any:
        return self.sessions.client(service, region or self.region)


def skipped_without_credentials(check_id: str, title: str, severity: Severity, **kw: Any) -> Check:
    return Check(
        check_id,
        title,
        severity,
        "skip",
        "Skipped: no working credentials (see credentials.*).",
        "Fix the failed credentials checks first.",
        **kw,
    )


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> int:
        return int((time.perf_counter() - self.start) * 1000)
