from __future__ import annotations

import io
import logging

from bedrockctl.redact import RedactingFilter, mask_key_id, redact, redact_text

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_text_patterns() -> None:
    text = (
        f"AKIAIOSFODNN7EXAMPLE {SECRET} aws_session_token=FwoGZXIvYXdzEJr//////////wEaDC "
        "Authorization: Bearer brk-abcdefghijklmnopqrstuv Signature=" + "a" * 64
    )
    out = redact_text(text)
    for bad in ("AKIAIOSFODNN7EXAMPLE", SECRET, "FwoGZXIvYXdzEJr", "brk-abcdefghijklmnopqrstuv", "a" * 64):
        assert bad not in out
    assert "AKIA****MPLE" in out


def test_structures() -> None:
    data = {
        "aws": {"secret_access_key": SECRET, "session_token": "tok", "region": "us-east-1"},
        "list": [{"password": "hunter2"}],
        "api_key": "sk-123",
    }
    out = redact(data)
    assert out["aws"]["secret_access_key"] == "****" and out["aws"]["region"] == "us-east-1"
    assert out["list"][0]["password"] == "****" and out["api_key"] == "****"
    assert mask_key_id("ASIAABCDEFGHIJKLMNOP") == "ASIA****MNOP"


def test_logging_filter() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("bedrockctl.test-redact")
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.warning("creds %s %s", "AKIAIOSFODNN7EXAMPLE", SECRET)
    logger.removeHandler(handler)
    assert SECRET not in stream.getvalue() and "AKIAIOSFODNN7EXAMPLE" not in stream.getvalue()
