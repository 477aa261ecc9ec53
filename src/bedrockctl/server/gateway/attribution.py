"""The caller, stamped on what the gateway sends to Bedrock, so that AWS's own records name people.

Calls through the gateway run under the gateway's AWS identity; without more, invocation logs (and every report
built from them alone) attribute them to the gateway's role. The gateway therefore sends Bedrock's request
metadata: ``gateway_user``, ``team``, ``environment`` and ``gateway_key`` of the key that made the call, merged
over the caller's own pairs (the key's values win: they are what the call is billed to), in Converse's
``requestMetadata`` body member and InvokeModel's ``X-Amzn-Bedrock-Request-Metadata`` header (a JSON object).
Bedrock allows at most 16 pairs, keys of 1-256 and values of 0-256 characters from
``[a-zA-Z0-9\\s:_@$#=/+,-.]``: other characters become ``_`` and the caller's extra pairs are dropped past 16.
The reports read them back: ``--by user`` (``gateway_user``), ``team``, ``tag:environment``, ``tag:gateway_key``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

HEADER = "X-Amzn-Bedrock-Request-Metadata"
MAX_PAIRS = 16
_BAD = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,\-.]")


def _clean(value: Any, limit: int) -> str:
    return _BAD.sub("_", str(value))[:limit]


def stamp(caller: Mapping[str, Any] | None, *, user: str, team: str, environment: str, key_id: str) -> dict[str, str]:
    """The request metadata to send: the key's pairs first, then the caller's (strings only) up to 16."""
    ours = {"gateway_user": user, "team": team, "environment": environment, "gateway_key": key_id}
    out = {k: _clean(v, 256) for k, v in ours.items() if v}
    for k, v in (caller or {}).items():
        if len(out) >= MAX_PAIRS:
            break
        key = _clean(k, 256)
        if key and key not in out and isinstance(v, str):
            out[key] = _clean(v, 256)
    return out


def converse_body(doc: dict[str, Any], metadata: dict[str, str]) -> dict[str, Any]:
    """``doc`` (a Converse body) with ``requestMetadata`` set."""
    return {**doc, "requestMetadata": metadata}


def invoke_header(metadata: dict[str, str]) -> tuple[bytes, bytes]:
    return HEADER.lower().encode(), json.dumps(metadata, separators=(",", ":")).encode()


def caller_metadata_header(value: bytes | str | None) -> dict[str, str]:
    """The caller's own ``X-Amzn-Bedrock-Request-Metadata`` (invalid JSON or a non-object: none)."""
    if not value:
        return {}
    try:
        doc = json.loads(value)
    except ValueError:
        return {}
    return {str(k): v for k, v in doc.items() if isinstance(v, str)} if isinstance(doc, dict) else {}
