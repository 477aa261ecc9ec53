"""The single redaction helper: secrets never reach logs, tracebacks, ``--json`` output or the console."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "****"

# Keys whose values are always secret, whatever they look like.
SECRET_KEYS = frozenset(
    {
        "secret_access_key",
        "aws_secret_access_key",
        "secretaccesskey",
        "session_token",
        "aws_session_token",
        "sessiontoken",
        "security_token",
        "token",
        "password",
        "api_key",
        "apikey",
        "authorization",
        "x-amz-security-token",
        "bearer",
        "gateway_key",
        "secret",
        "x-api-key",
    }
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Access key ids: keep the prefix and the last 4 so people can still tell keys apart.
    (re.compile(r"\b(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{12}([A-Z0-9]{4})\b"), r"\1****\2"),
    # key=value / key: value forms of secret fields (also JSON "key": "value").
    (
        re.compile(
            r"""(?i)(["']?(?:aws_)?(?:secret_access_key|secretaccesskey|session_token|sessiontoken|"""
            r"""security_token|x-amz-security-token|password|api_key|apikey)["']?\s*[:=]\s*["']?)"""
            r"""([^"'\s,}&]+)"""
        ),
        r"\1" + MASK,
    ),
    # Authorization headers: Bearer tokens and SigV4 signatures.
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"(?i)(Signature=)[0-9a-f]{16,}"), r"\1" + MASK),
    # gateway keys issued by bedrockctl
    (re.compile(r"\bbrk-[A-Za-z0-9_-]{16,}\b"), "brk-" + MASK),
    # 40-char AWS secret keys standing alone (base64-ish with a slash or plus somewhere).
    (re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]*[/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), MASK),
]


def redact_text(text: str) -> str:
    """Mask anything in ``text`` that looks like a secret."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def redact_value(key: str, value: Any) -> Any:
    if key.lower().replace("-", "_") in SECRET_KEYS or key.lower() in SECRET_KEYS:
        return MASK if value not in (None, "") else value
    return redact(value)


def redact(obj: Any) -> Any:
    """Return a copy of ``obj`` (dicts, lists, strings) with secrets masked."""
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, Mapping):
        return {k: redact_value(str(k), v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact(v) for v in obj]
    return obj


def mask_key_id(key_id: str | None) -> str | None:
    """``AKIAIOSFODNN7EXAMPLE`` -> ``AKIA****MPLE``."""
    if not key_id:
        return key_id
    if len(key_id) <= 8:
        return MASK
    return f"{key_id[:4]}{MASK}{key_id[-4:]}"


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            msg = str(record.msg)
        record.msg = redact_text(msg)
        record.args = None
        return True
