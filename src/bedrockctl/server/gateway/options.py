"""The ``[gateway]`` config section, typed (it is free-form in ``settings``; values from env may be strings)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.errors import ConfigError


def _num(raw: dict[str, Any], key: str, default: float) -> float:
    value = raw.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"gateway.{key} = {value!r} is invalid; expected a number") from None


def _bool(raw: dict[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


@dataclass
class ScopeBudget:
    monthly_budget_usd: float | None = None
    daily_budget_usd: float | None = None


@dataclass
class GatewayOptions:
    default_environment: str = "default"
    default_max_tokens: int = 4096
    key_cache_ttl: float = 5.0
    flush_interval: float = 0.2  # settle counters, write audit rows
    lease_fraction: float = 0.05  # share of a counter's headroom one worker may hold locally
    lease_idle_seconds: float = 1.0  # give unused leases back after this long without use
    unpriced: str = "allow"  # allow (audited at cost 0, logged with the reason) | refuse: when a budget applies
    clock_skew_seconds: float = 900.0
    audit: bool = True
    audit_journal: bool = True  # fsync each audit record to a local journal before answering (replayed after a crash)
    audit_buffer_max: int = 100_000  # records waiting for the database; beyond, new requests get 503
    worker_lease_seconds: float = 30.0  # a dead worker's reservations are given back after this long (at most 60)
    ledger: bool = True
    ledger_interval: float = 30.0
    webhook_url: str | None = None
    sns_topic_arn: str | None = None
    audit_s3: dict[str, Any] = field(default_factory=dict)  # bucket, prefix, kms_key_id, retention_days
    teams: dict[str, ScopeBudget] = field(default_factory=dict)
    users: dict[str, ScopeBudget] = field(default_factory=dict)
    master_secret: str | None = None
    # hardening (docs/gateway.md "Hardening")
    header_timeout_seconds: float = 10.0  # a request whose headers are not complete by then: connection closed
    body_timeout_seconds: float = 30.0  # a body that stalls this long between two parts: 408, connection closed
    keep_alive_timeout_seconds: float = 5.0  # an idle keep-alive connection is closed after this long
    max_header_bytes: int = 65536  # request line and headers larger than this: 431, connection closed
    metrics_token: str | None = None  # with it, /metrics needs ``Authorization: Bearer <token>``
    metrics_allow: list[str] = field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])  # without it: from these
    access_log: bool = False  # uvicorn's access log (one line per request)

    @classmethod
    def from_settings(cls, settings: Any) -> GatewayOptions:
        raw: dict[str, Any] = dict(getattr(settings, "gateway", {}) or {})
        o = cls()
        o.default_environment = str(raw.get("default_environment", o.default_environment))
        o.default_max_tokens = int(_num(raw, "default_max_tokens", o.default_max_tokens))
        o.max_header_bytes = int(_num(raw, "max_header_bytes", o.max_header_bytes))
        for key in (
            "key_cache_ttl",
            "flush_interval",
            "lease_fraction",
            "lease_idle_seconds",
            "clock_skew_seconds",
            "ledger_interval",
            "header_timeout_seconds",
            "body_timeout_seconds",
            "keep_alive_timeout_seconds",
        ):
            setattr(o, key, _num(raw, key, getattr(o, key)))
        o.audit = _bool(raw, "audit", o.audit)
        o.access_log = _bool(raw, "access_log", o.access_log)
        o.metrics_token = raw.get("metrics_token") or os.environ.get("BEDROCKCTL_METRICS_TOKEN") or None
        allow = raw.get("metrics_allow", o.metrics_allow)
        o.metrics_allow = [str(a).strip() for a in (allow if isinstance(allow, list) else str(allow).split(","))]
        for net in o.metrics_allow:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ConfigError(
                    f"gateway.metrics_allow has {net!r}; expected addresses or networks such as 127.0.0.0/8"
                ) from None
        o.audit_journal = _bool(raw, "audit_journal", o.audit_journal)
        o.audit_buffer_max = int(_num(raw, "audit_buffer_max", o.audit_buffer_max))
        if o.audit_buffer_max < 1:
            raise ConfigError(f"gateway.audit_buffer_max = {o.audit_buffer_max!r} is invalid; expected at least 1")
        o.worker_lease_seconds = _num(raw, "worker_lease_seconds", o.worker_lease_seconds)
        if not 0 < o.worker_lease_seconds <= 60:
            raise ConfigError(
                f"gateway.worker_lease_seconds = {o.worker_lease_seconds!r} is invalid; expected more than 0 and at "
                "most 60 (seconds)"
            )
        o.ledger = _bool(raw, "ledger", o.ledger)
        o.unpriced = str(raw.get("unpriced", o.unpriced))
        o.unpriced = "refuse" if o.unpriced == "deny" else o.unpriced  # the older name
        if o.unpriced not in ("refuse", "allow"):
            raise ConfigError(f"gateway.unpriced = {o.unpriced!r} is invalid; expected allow or refuse")
        o.webhook_url = raw.get("webhook_url") or None
        o.sns_topic_arn = raw.get("sns_topic_arn") or None
        o.audit_s3 = dict(raw.get("audit_s3") or {})
        for section in ("teams", "users"):
            table = raw.get(section) or {}
            if not isinstance(table, dict):
                raise ConfigError(f"gateway.{section} is invalid; expected a table of [gateway.{section}.<name>]")
            parsed = {}
            for name, body in table.items():
                body = body or {}
                parsed[str(name)] = ScopeBudget(
                    _opt_float(body.get("monthly_budget_usd")), _opt_float(body.get("daily_budget_usd"))
                )
            setattr(o, section, parsed)
        o.master_secret = raw.get("master_secret") or os.environ.get("BEDROCKCTL_GATEWAY_SECRET") or None
        return o


def _opt_float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def master_secret(opts: GatewayOptions, settings: Any) -> bytes:
    """The server secret that derives SigV4 secrets of gateway keys (``bedrockctl.store.keys.master_secret``)."""
    from bedrockctl.store.keys import master_secret as stored_master_secret

    return stored_master_secret(settings, opts.master_secret)
