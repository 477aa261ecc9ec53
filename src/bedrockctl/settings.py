"""Typed settings and their validation: every error names the source, the key, the value and what was expected."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.errors import ConfigError
from bedrockctl.redact import SECRET_KEYS

SECTIONS = ("aws", "defaults", "environments", "store", "logging", "gateway", "runtime", "jobs")
BACKSTOP_ACTIONS = ("alert", "deny")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# a guardrail as Bedrock's runtime takes it (guardrailIdentifier, guardrailVersion)
_GUARDRAIL_ID_RE = re.compile(r"^([a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)$")
_GUARDRAIL_VERSION_RE = re.compile(r"^(DRAFT|[1-9][0-9]{0,7})$")


@dataclass
class AwsSettings:
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str = "bedrockctl"
    duration: int = 3600
    role_chain: list[dict[str, str]] = field(default_factory=list)
    endpoint_url: str | None = None
    retry_attempts: int = 5
    retry_delay_ms: int | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 120.0


@dataclass
class DefaultsSettings:
    model: str | None = None
    agent_id: str | None = None
    agent_alias_id: str | None = None
    guardrail_id: str | None = None
    guardrail_version: str = "DRAFT"


@dataclass
class EnvironmentSettings:
    name: str
    monthly_budget_usd: float | None = None
    daily_budget_usd: float | None = None
    alert_thresholds: list[float] = field(default_factory=lambda: [50.0, 80.0])
    hard_stop_pct: float = 100.0
    requests_per_hour: int | None = None
    requests_per_day: int | None = None
    allowed_models: list[str] = field(default_factory=list)
    default_model: str | None = None
    tier_routes: dict[str, str] = field(default_factory=dict)
    soft_threshold_pct: float | None = None
    # reporting-side budget alerts (``bedrockctl budget sync|status``): AWS Budget notification recipients and
    # the webhook that ``budget status --alert`` posts crossed thresholds to
    alert_emails: list[str] = field(default_factory=list)
    alert_sns_topic: str | None = None
    alert_webhook_url: str | None = None
    # the backstop for traffic outside the gateway (``jobs.budgets_interval``): what happens to the principals whose
    # direct (ingested) usage is billed to this environment when its budget's hard stop is reached
    backstop_action: str = "alert"  # alert | deny
    principals: list[str] = field(default_factory=list)  # ARN patterns of direct callers billed to this environment
    # the guardrail the gateway applies to this environment's requests (docs/gateway.md "Guardrails")
    guardrail_id: str | None = None
    guardrail_version: str | None = None  # DRAFT when unset


@dataclass
class StoreSettings:
    url: str | None = None
    data_dir: str | None = None


@dataclass
class LoggingSettings:
    level: str = "WARNING"
    file: str | None = None
    json: bool = False


@dataclass
class JobsSettings:
    """Scheduled jobs of ``bedrockctl serve`` (docs/jobs.md); an interval left unset leaves its job off."""

    discovery_interval: int | None = None  # seconds between inventory scans
    discovery_regions: list[str] = field(default_factory=list)  # empty: the configured Region
    ingest_interval: int | None = None  # seconds between usage ingests
    ingest_sources: list[str] = field(default_factory=list)  # as `usage ingest`: paths, s3://, cloudwatch:, lookup
    budgets_interval: int | None = None  # seconds between budget evaluations (gateway + ingested usage, backstop)
    lease_seconds: int = 60  # a replica that stops renewing its lease for this long loses the job
    poll_seconds: float = 1.0  # how often each replica looks for a job that is due


@dataclass
class Settings:
    aws: AwsSettings = field(default_factory=AwsSettings)
    defaults: DefaultsSettings = field(default_factory=DefaultsSettings)
    environments: dict[str, EnvironmentSettings] = field(default_factory=dict)
    store: StoreSettings = field(default_factory=StoreSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    gateway: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None
    ssm_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in SECTIONS:
            value = getattr(self, name)
            if name == "environments":
                out[name] = {k: dataclasses.asdict(v) for k, v in value.items()}
            elif dataclasses.is_dataclass(value):
                out[name] = dataclasses.asdict(value)  # type: ignore[arg-type]
            else:
                out[name] = dict(value)
        return out

    def safe_dict(self) -> dict[str, Any]:
        """``as_dict`` with secrets masked."""
        from bedrockctl.redact import redact

        result: dict[str, Any] = redact(self.as_dict())
        return result


def _fail(sources: dict[str, str], key: str, value: Any, expected: str) -> ConfigError:
    origin = sources.get(key, "default")
    where = origin.split(":", 1)[1] if ":" in origin else origin
    shown = "****" if key.rsplit(".", 1)[-1] in SECRET_KEYS else repr(value)
    return ConfigError(
        f"{where}: {key} = {shown} is invalid; expected {expected}",
        remediation=f"Fix '{key}' in {where} (expected {expected}).",
        details={"file": where, "key": key, "expected": expected},
    )


def _coerce(kind: Any, key: str, value: Any, sources: dict[str, str]) -> Any:
    """Coerce ``value`` (often a string from env/SSM) into the annotated ``kind``."""
    text = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    base = text.replace(" | None", "").strip()
    if value is None:
        return None
    try:
        if base == "str":
            if not isinstance(value, str | int | float):
                raise ValueError
            return str(value)
        if base == "int":
            if isinstance(value, bool):
                raise ValueError
            return int(str(value))
        if base == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(str(value))
        if base == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if base.startswith("list[float]"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list):
                raise ValueError
            return [float(str(v).strip().rstrip("%")) for v in items]
        if base.startswith("list[str]"):
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
                raise ValueError
            return [v.strip() for v in items if v.strip()]
        if base.startswith("list[dict"):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ValueError
            return value
        if base.startswith("dict"):
            if not isinstance(value, dict):
                raise ValueError
            return {str(k): str(v) for k, v in value.items()}
    except (ValueError, TypeError):
        expected = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "a string"}.get(
            base,
            base.replace("list[float]", "a list of percentages").replace("list[str]", "a list of strings"),
        )
        raise _fail(sources, key, value, expected) from None
    return value


def _build(cls: Any, section: str, data: dict[str, Any], sources: dict[str, str], **extra: Any) -> Any:
    if not isinstance(data, dict):
        raise _fail(sources, section, data, "a table of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = dict(extra)
    for key, value in data.items():
        dotted = f"{section}.{key}"
        if key not in fields or key in extra:
            raise _fail(sources, dotted, value, f"one of the keys {', '.join(k for k in fields if k not in extra)}")
        kwargs[key] = _coerce(fields[key].type, dotted, value, sources)
    return cls(**kwargs)


def _check_aws(aws: AwsSettings, sources: dict[str, str]) -> None:
    if aws.region and not _REGION_RE.match(aws.region):
        raise _fail(sources, "aws.region", aws.region, "an AWS region name such as us-east-1")
    if bool(aws.access_key_id) != bool(aws.secret_access_key):
        missing = "aws.secret_access_key" if aws.access_key_id else "aws.access_key_id"
        raise _fail(sources, missing, None, "both access_key_id and secret_access_key, or neither")
    if aws.role_arn and not _ROLE_ARN_RE.match(aws.role_arn):
        raise _fail(sources, "aws.role_arn", aws.role_arn, "an IAM role ARN (arn:aws:iam::123456789012:role/Name)")
    if not 900 <= aws.duration <= 43200:
        raise _fail(sources, "aws.duration", aws.duration, "seconds between 900 and 43200")
    if not 1 <= aws.retry_attempts <= 20:
        raise _fail(sources, "aws.retry_attempts", aws.retry_attempts, "an integer between 1 and 20")
    if aws.endpoint_url and not aws.endpoint_url.startswith(("http://", "https://")):
        raise _fail(sources, "aws.endpoint_url", aws.endpoint_url, "an http:// or https:// URL")
    for i, link in enumerate(aws.role_chain):
        arn = link.get("role_arn", "")
        if not _ROLE_ARN_RE.match(arn):
            raise _fail(sources, f"aws.role_chain[{i}].role_arn", arn, "an IAM role ARN")


def _check_env(env: EnvironmentSettings, sources: dict[str, str]) -> None:
    prefix = f"environments.{env.name}"
    for key in ("monthly_budget_usd", "daily_budget_usd"):
        value = getattr(env, key)
        if value is not None and value < 0:
            raise _fail(sources, f"{prefix}.{key}", value, "a non-negative amount in USD")
    for pct in env.alert_thresholds:
        if not 0 < pct <= 1000:
            raise _fail(sources, f"{prefix}.alert_thresholds", env.alert_thresholds, "percentages between 0 and 1000")
    if not 0 < env.hard_stop_pct <= 1000:
        raise _fail(sources, f"{prefix}.hard_stop_pct", env.hard_stop_pct, "a percentage between 0 and 1000")
    for key in ("requests_per_hour", "requests_per_day"):
        value = getattr(env, key)
        if value is not None and value < 0:
            raise _fail(sources, f"{prefix}.{key}", value, "a non-negative integer")
    if env.backstop_action not in BACKSTOP_ACTIONS:
        raise _fail(sources, f"{prefix}.backstop_action", env.backstop_action, "alert or deny")
    problem = guardrail_problem(env.guardrail_id, env.guardrail_version)
    if problem is not None:
        raise _fail(sources, f"{prefix}.{problem[0]}", getattr(env, problem[0]), problem[1])


def guardrail_problem(guardrail_id: str | None, version: str | None) -> tuple[str, str] | None:
    """What is wrong with a configured guardrail (``guardrail_id``, ``guardrail_version``): the field and what it
    expects; None when it is valid or absent."""
    if not guardrail_id:
        return ("guardrail_version", "no version without a guardrail_id") if version else None
    if not _GUARDRAIL_ID_RE.match(guardrail_id):
        return "guardrail_id", "a guardrail id (lowercase letters and digits) or a guardrail ARN"
    if version is not None and not _GUARDRAIL_VERSION_RE.match(version):
        return "guardrail_version", "DRAFT or a version number (1, 2, ...)"
    return None


def _check_jobs(jobs: JobsSettings, sources: dict[str, str]) -> None:
    for key in ("discovery_interval", "ingest_interval", "budgets_interval", "lease_seconds"):
        value = getattr(jobs, key)
        if value is not None and value < 1:
            raise _fail(sources, f"jobs.{key}", value, "a whole number of seconds, at least 1")
    if not 0 < jobs.poll_seconds <= 60:
        raise _fail(sources, "jobs.poll_seconds", jobs.poll_seconds, "seconds between 0 and 60")
    if jobs.ingest_interval and not jobs.ingest_sources:
        raise _fail(sources, "jobs.ingest_sources", [], "at least one source when jobs.ingest_interval is set")


def build_settings(tree: dict[str, Any], sources: dict[str, str]) -> Settings:
    aws = _build(AwsSettings, "aws", tree.get("aws", {}), sources)
    _check_aws(aws, sources)
    defaults = _build(DefaultsSettings, "defaults", tree.get("defaults", {}), sources)
    logging_s = _build(LoggingSettings, "logging", tree.get("logging", {}), sources)
    if logging_s.level.upper() not in LOG_LEVELS:
        raise _fail(sources, "logging.level", logging_s.level, f"one of {', '.join(LOG_LEVELS)}")
    logging_s.level = logging_s.level.upper()
    store = _build(StoreSettings, "store", tree.get("store", {}), sources)
    envs_raw = tree.get("environments", {})
    if not isinstance(envs_raw, dict):
        raise _fail(sources, "environments", envs_raw, "a table of [environments.<name>] tables")
    environments: dict[str, EnvironmentSettings] = {}
    for name, body in envs_raw.items():
        env = _build(EnvironmentSettings, f"environments.{name}", body, sources, name=name)
        _check_env(env, sources)
        environments[name] = env
    jobs = _build(JobsSettings, "jobs", tree.get("jobs", {}), sources)
    _check_jobs(jobs, sources)
    for section in ("gateway", "runtime"):
        if not isinstance(tree.get(section, {}), dict):
            raise _fail(sources, section, tree[section], "a table of keys")
    return Settings(
        aws=aws,
        defaults=defaults,
        environments=environments,
        store=store,
        logging=logging_s,
        gateway=dict(tree.get("gateway", {})),
        runtime=dict(tree.get("runtime", {})),
        jobs=jobs,
        sources=sources,
    )
