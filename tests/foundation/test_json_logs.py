"""JSON logs (``logging.json = true``) are written by a JSON encoder: a hostile message stays one valid object with
the right fields, and redaction still applies (message, arguments and tracebacks)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bedrockctl.context import setup_logging
from bedrockctl.settings import LoggingSettings

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOSTILE = 'he said "hi"\\", "level":"CRITICAL", "logger":"root"}\n{"forged": true}\r\n\ttab \u2028 end \x00'


@pytest.fixture
def bedrockctl_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("bedrockctl")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_hostile_message_is_one_json_object(bedrockctl_logger: logging.Logger, tmp_path: Path) -> None:
    log = tmp_path / "bedrockctl.log"
    setup_logging(LoggingSettings(level="INFO", file=str(log), json=True))
    logging.getLogger("bedrockctl.gateway").warning("upstream said %s with key %s", HOSTILE, "AKIAIOSFODNN7EXAMPLE")
    lines = _lines(log)
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert set(doc) == {"time", "level", "logger", "message"}
    assert doc["level"] == "WARNING" and doc["logger"] == "bedrockctl.gateway"
    assert doc["message"] == f"upstream said {HOSTILE} with key AKIA****MPLE"


def test_secrets_are_redacted_in_messages_and_tracebacks(bedrockctl_logger: logging.Logger, tmp_path: Path) -> None:
    log = tmp_path / "bedrockctl.log"
    setup_logging(LoggingSettings(level="INFO", file=str(log), json=True))
    logger = logging.getLogger("bedrockctl.aws")
    logger.info('config {"aws_secret_access_key": "%s", "session_token": "tok-123456789"}', SECRET)
    try:
        raise RuntimeError(f"assume-role failed for secret {SECRET}")
    except RuntimeError:
        logger.exception("call failed")
    first, second = (json.loads(line) for line in _lines(log))
    assert SECRET not in json.dumps([first, second]) and "tok-123456789" not in first["message"]
    assert first["level"] == "INFO" and "****" in first["message"]
    assert second["level"] == "ERROR" and second["message"] == "call failed"
    assert "RuntimeError: assume-role failed for secret ****" in second["exc_info"]


def test_plain_format_redacts_tracebacks_too(bedrockctl_logger: logging.Logger, tmp_path: Path) -> None:
    log = tmp_path / "bedrockctl.log"
    setup_logging(LoggingSettings(level="INFO", file=str(log), json=False))
    try:
        raise ValueError(f"bad secret {SECRET}")
    except ValueError:
        logging.getLogger("bedrockctl.cli").exception("failed with %s", "AKIAIOSFODNN7EXAMPLE")
    text = log.read_text(encoding="utf-8")
    assert SECRET not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    assert " ERROR bedrockctl.cli: failed with AKIA****MPLE" in text and "ValueError: bad secret ****" in text
