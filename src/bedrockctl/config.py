"""Settings, with precedence flags > environment > config file > SSM Parameter Store > defaults.

Sources, lowest first:
1. built-in defaults;
2. SSM Parameter Store, opt-in with ``BEDROCKCTL_SSM_PATH=/bedrockctl/`` (``/bedrockctl/aws/region`` ->
   ``aws.region``); read through a caller-supplied loader so this module stays free of AWS calls;
3. ``orchestrator.conf`` (INI, for teams migrating from that tool), then the TOML config file
   (``--config``, ``./bedrockctl.toml`` or ``~/.config/bedrockctl/config.toml``);
4. the environment (a ``.env`` file in the working directory fills variables that are not already set);
5. flags.

Every value remembers where it came from (``Settings.sources``), and every invalid value is reported with the
file, the key, the value and what was expected. Nothing here does I/O at import time.
"""

from __future__ import annotations

import configparser
import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from bedrockctl.errors import ConfigError, ConfigFileError, UnsupportedProviderError
from bedrockctl.redact import redact
from bedrockctl.settings import SECTIONS, Settings, build_settings

SSMLoader = Callable[[str, Mapping[str, Any]], dict[str, str]]
"""``loader(path, partial_aws_settings) -> {"/bedrockctl/aws/region": "eu-west-1", ...}``"""

# Environment variable -> dotted setting key. Credentials from AWS_ACCESS_KEY_ID & co. are deliberately NOT
# mapped: botocore's own chain reads them, so the provenance says "environment variables".
ENV_MAP: dict[str, str] = {
    "AWS_DEFAULT_REGION": "aws.region",
    "AWS_REGION": "aws.region",  # after AWS_DEFAULT_REGION: AWS_REGION wins, as in the AWS SDKs
    "AWS_PROFILE": "aws.profile",
    "AWS_ENDPOINT_URL": "aws.endpoint_url",
    "BEDROCKCTL_REGION": "aws.region",
    "BEDROCKCTL_PROFILE": "aws.profile",
    "BEDROCKCTL_ROLE_ARN": "aws.role_arn",
    "BEDROCKCTL_EXTERNAL_ID": "aws.external_id",
    "BEDROCKCTL_ROLE_SESSION_NAME": "aws.role_session_name",
    "BEDROCKCTL_ROLE_DURATION": "aws.duration",
    "BCCE_RETRY_ATTEMPTS": "aws.retry_attempts",
    "BEDROCKCTL_RETRY_ATTEMPTS": "aws.retry_attempts",
    "BCCE_RETRY_DELAY": "aws.retry_delay_ms",
    "BEDROCKCTL_CONNECT_TIMEOUT": "aws.connect_timeout",
    "BEDROCKCTL_READ_TIMEOUT": "aws.read_timeout",
    "BEDROCK_MODEL_ID": "defaults.model",
    "BEDROCK_AGENT_ID": "defaults.agent_id",
    "BEDROCK_AGENT_ALIAS_ID": "defaults.agent_alias_id",
    "BEDROCK_GUARDRAIL_ID": "defaults.guardrail_id",
    "BEDROCK_GUARDRAIL_VERSION": "defaults.guardrail_version",
    "BEDROCKCTL_STORE_URL": "store.url",
    "BEDROCKCTL_DATA_DIR": "store.data_dir",
    "BEDROCKCTL_LOG_LEVEL": "logging.level",
    "BEDROCKCTL_LOG_FILE": "logging.file",
}

ORCHESTRATOR_MAP: dict[tuple[str, str], str] = {
    ("aws", "region"): "aws.region",
    ("aws", "aws_region"): "aws.region",
    ("aws", "profile"): "aws.profile",
    ("aws", "aws_profile"): "aws.profile",
    ("aws", "access_key_id"): "aws.access_key_id",
    ("aws", "aws_access_key_id"): "aws.access_key_id",
    ("aws", "secret_access_key"): "aws.secret_access_key",
    ("aws", "aws_secret_access_key"): "aws.secret_access_key",
    ("aws", "session_token"): "aws.session_token",
    ("aws", "aws_session_token"): "aws.session_token",
    ("aws", "role_arn"): "aws.role_arn",
    ("aws", "external_id"): "aws.external_id",
    ("bedrock", "model_id"): "defaults.model",
    ("bedrock", "agent_id"): "defaults.agent_id",
    ("bedrock", "agent_alias_id"): "defaults.agent_alias_id",
    ("bedrock", "guardrail_id"): "defaults.guardrail_id",
}


def default_config_paths(cwd: Path, home: Path) -> list[Path]:
    return [cwd / "bedrockctl.toml", home / ".config" / "bedrockctl" / "config.toml"]


def _set(tree: dict[str, Any], sources: dict[str, str], dotted: str, value: Any, origin: str) -> None:
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{origin}: key '{dotted}' conflicts with a scalar value at '{part}'")
        node = child
    node[parts[-1]] = value
    sources[dotted] = origin


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and not (prefix.endswith("tier_routes") or prefix.endswith("tags")):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out.extend(_flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return [(prefix, value)]


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigFileError(f"Config file {path} does not exist", details={"file": str(path)}) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(
            f"{path}: not valid TOML ({exc})",
            remediation="Fix the TOML syntax at the line and column named.",
            details={"file": str(path)},
        ) from exc
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror})", details={"file": str(path)}) from exc
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown section [{unknown[0]}]; expected one of {', '.join(SECTIONS)}",
            details={"file": str(path), "key": unknown[0]},
        )
    return data


def read_orchestrator_conf(path: Path) -> list[tuple[str, str]]:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigFileError(f"{path}: not a valid INI file ({exc.message})", details={"file": str(path)}) from exc
    provider = parser.get("provider", "provider", fallback="bedrock").strip().lower()
    if provider != "bedrock":
        raise UnsupportedProviderError(
            f"{path}: [provider] provider = {provider!r}; expected 'bedrock'",
            details={"file": str(path), "key": "provider.provider", "value": provider},
        )
    pairs: list[tuple[str, str]] = []
    for section in parser.sections():
        for key, value in parser.items(section):
            dotted = ORCHESTRATOR_MAP.get((section.lower(), key.lower()))
            if dotted and value.strip():
                pairs.append((dotted, value.strip()))
    return pairs


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
    ssm_loader: SSMLoader | None = None,
) -> Settings:
    """Merge every source into validated ``Settings``.

    ``flags`` uses dotted keys (``{"aws.region": "eu-west-1"}``); ``None`` values are ignored.
    """
    cwd = cwd or Path.cwd()
    home = home or Path.home()
    environ: dict[str, str] = dict(os.environ if env is None else env)
    dotenv_path = cwd / ".env"
    if dotenv_path.is_file():
        for key, value in dotenv_values(dotenv_path).items():
            if value is not None and key not in environ:
                environ[key] = value

    provider = environ.get("LLM_PROVIDER")
    if provider is not None and provider.strip().lower() != "bedrock":
        raise UnsupportedProviderError(
            f"LLM_PROVIDER={provider!r}; bedrockctl supports only 'bedrock'",
            details={"key": "LLM_PROVIDER", "value": provider},
        )

    tree: dict[str, Any] = {}
    sources: dict[str, str] = {}

    # 3a. orchestrator.conf
    orch = Path(environ.get("BEDROCKCTL_ORCHESTRATOR_CONF", cwd / "orchestrator.conf"))
    if orch.is_file():
        for dotted, value in read_orchestrator_conf(orch):
            _set(tree, sources, dotted, value, f"file:{orch}")

    # 3b. TOML config file
    chosen: Path | None = None
    explicit = config_path or environ.get("BEDROCKCTL_CONFIG")
    if explicit:
        chosen = Path(explicit).expanduser()
        if not chosen.is_file():
            raise ConfigFileError(f"Config file {chosen} does not exist", details={"file": str(chosen)})
    else:
        chosen = next((p for p in default_config_paths(cwd, home) if p.is_file()), None)
    file_tree: dict[str, Any] = read_toml(chosen) if chosen else {}
    for dotted, value in _flatten("", file_tree):
        _set(tree, sources, dotted, value, f"file:{chosen}")

    # 4. environment
    for var, dotted in ENV_MAP.items():
        if environ.get(var):
            _set(tree, sources, dotted, environ[var], f"env:{var}")

    # 5. flags
    for dotted, value in (flags or {}).items():
        if value is not None:
            _set(tree, sources, dotted, value, "flag")

    # 2. SSM: lowest of the explicit sources, so only fill what nothing else set.
    ssm_path = environ.get("BEDROCKCTL_SSM_PATH")
    if ssm_path and ssm_loader is not None:
        prefix = ssm_path if ssm_path.endswith("/") else ssm_path + "/"
        for name, value in ssm_loader(prefix, tree.get("aws", {})).items():
            dotted = name[len(prefix) :].strip("/").replace("/", ".")
            if dotted and dotted not in sources:
                _set(tree, sources, dotted, value, f"ssm:{name}")

    settings = build_settings(tree, sources)
    settings.config_file = chosen
    settings.ssm_path = ssm_path
    return settings


def describe_sources(settings: Settings) -> dict[str, Any]:
    """Every setting with its value (secrets masked) and origin, for ``bedrockctl config show``."""
    flat = dict(_flatten("", settings.as_dict()))
    return {
        k: {
            "value": redact({k.split(".")[-1]: v})[k.split(".")[-1]],
            "source": settings.sources.get(k, "default"),
        }
        for k, v in sorted(flat.items())
    }
