"""The composition root: settings, the session factory and (lazily) the other capabilities."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bedrockctl.aws.errors import translate
from bedrockctl.aws.session import SessionFactory
from bedrockctl.config import load_settings
from bedrockctl.errors import SSMConfigError
from bedrockctl.redact import RedactingFilter, redact_text
from bedrockctl.settings import AwsSettings, LoggingSettings, Settings


def ssm_loader(path: str, aws: Mapping[str, Any]) -> dict[str, str]:
    """Read every parameter under ``path`` (recursively, decrypted) with the credentials known so far."""
    known = {k: v for k, v in aws.items() if k in AwsSettings.__dataclass_fields__}
    factory = SessionFactory(AwsSettings(**known))
    out: dict[str, str] = {}
    try:
        paginator = factory.client("ssm").get_paginator("get_parameters_by_path")
        for page in paginator.paginate(Path=path, Recursive=True, WithDecryption=True):
            for param in page.get("Parameters", []):
                out[str(param["Name"])] = str(param["Value"])
    except (ClientError, BotoCoreError) as exc:
        err = translate(exc, service="ssm", operation="GetParametersByPath")
        raise SSMConfigError(f"Reading SSM parameters under {path} failed: {err.message}") from exc
    return out


class RedactingFormatter(logging.Formatter):
    """Tracebacks and stack dumps go through ``redact_text`` too (``RedactingFilter`` covers the message)."""

    def formatException(self, ei: Any) -> str:
        return redact_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return redact_text(super().formatStack(stack_info))


class JsonFormatter(RedactingFormatter):
    """One JSON object per record, written by ``json.dumps``: ``time``, ``level``, ``logger``, ``message`` (and
    ``exc_info`` / ``stack_info`` when present). A message cannot break the line or add fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, str] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc_info"] = redact_text(record.exc_text)
        if record.stack_info:
            doc["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str)  # ASCII: no raw U+2028 or other line breaks that split a line


def setup_logging(cfg: LoggingSettings, verbose: bool = False) -> None:
    level = logging.DEBUG if verbose else getattr(logging, cfg.level, logging.WARNING)
    root = logging.getLogger("bedrockctl")
    root.setLevel(level)
    for old in list(root.handlers):
        root.removeHandler(old)
    handler: logging.Handler = logging.FileHandler(cfg.file) if cfg.file else logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if cfg.json else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.propagate = False


@dataclass
class AppContext:
    settings: Settings
    sessions: SessionFactory

    @classmethod
    def create(
        cls,
        flags: Mapping[str, Any] | None = None,
        *,
        config_path: str | Path | None = None,
        session: boto3.Session | None = None,
        botocore_config: Config | None = None,
        env: Mapping[str, str] | None = None,
    ) -> AppContext:
        settings = load_settings(flags, env=env, config_path=config_path, ssm_loader=ssm_loader)
        factory = SessionFactory(
            settings.aws, session=session, config=botocore_config, env=dict(env) if env is not None else None
        )
        return cls(settings=settings, sessions=factory)
