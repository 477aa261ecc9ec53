"""Helpers shared by the Bedrock control-plane handlers: state, ids, timestamps, pagination, tags."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
import string
import threading
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.sandbox.core import AwsError, SandboxRequest
from bedrockctl.sandbox.state import StateStore

_LOWER_ALNUM = string.ascii_lowercase + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits


def new_id(length: int = 12, *, upper: bool = False) -> str:
    """A random resource id like AWS uses (12 lowercase alnum for Bedrock, 10 uppercase for agents)."""
    alphabet = _UPPER_ALNUM if upper else _LOWER_ALNUM
    return "".join(secrets.choice(alphabet) for _ in range(length))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(ts: dt.datetime) -> str:
    """rest-json timestamps: ISO 8601 in UTC with milliseconds, as Bedrock returns them."""
    return ts.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 400)  # Bedrock models ConflictException as HTTP 400


def constraint_error(value: Any, member: str, constraint: str) -> AwsError:
    """The Coral validation message AWS returns for a request member that breaks its model constraint."""
    return validation(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def check_pattern(value: str, member: str, pattern: str) -> None:
    if re.fullmatch(pattern, value) is None:
        raise constraint_error(value, member, f"Member must satisfy regular expression pattern: {pattern}")


def check_enum(value: str | None, member: str, allowed: tuple[str, ...] | list[str]) -> None:
    if value is not None and value not in allowed:
        raise constraint_error(value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


# --- pagination --------------------------------------------------------------------------------------------
def page_params(req: SandboxRequest, body: dict[str, Any] | None = None) -> tuple[int, int]:
    """(offset, max_results) from ``maxResults``/``nextToken`` in the query (or the body of POST lists)."""
    src: dict[str, Any] = body if body is not None else {k: req.q(k) for k in ("maxResults", "nextToken")}
    raw_max = src.get("maxResults")
    max_results = 1000
    if raw_max is not None:
        try:
            max_results = int(raw_max)
        except (TypeError, ValueError) as exc:
            raise validation(f"Invalid value for maxResults: {raw_max}") from exc
        if not 1 <= max_results <= 1000:
            raise constraint_error(max_results, "maxResults", "Member must have value between 1 and 1000")
    token = src.get("nextToken")
    offset = 0
    if token:
        offset = decode_token(str(token))
    return offset, max_results


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sbx1:{offset}".encode()).decode()


def decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, num = raw.partition(":")
        if prefix != "sbx1":
            raise ValueError(raw)
        return int(num)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise validation("Invalid pagination token provided.") from exc


def paginate(items: list[Any], offset: int, max_results: int) -> tuple[list[Any], str | None]:
    page = items[offset : offset + max_results]
    nxt = offset + max_results
    return page, (encode_token(nxt) if nxt < len(items) else None)


# --- per-account, per-region state -------------------------------------------------------------------------
@dataclass
class ControlState:
    """Everything our control-plane handlers keep for one account in one region."""

    account_id: str
    region: str
    app_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record
    provisioned: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record
    guardrails: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {"versions": {...}, ...}
    imported_models: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> GetImportedModel record
    import_jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> GetModelImportJob record
    prompt_routers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> custom router record
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # arn -> {key: value}
    client_tokens: dict[str, str] = field(default_factory=dict)  # clientRequestToken -> resource arn
    lock: threading.RLock = field(default_factory=threading.RLock)


STATE: StateStore[ControlState] = StateStore(lambda account, region: ControlState(account, region))


def state_for(req: SandboxRequest) -> ControlState:
    return STATE.get(req.account_id, req.region)


def tags_from_list(tags: list[dict[str, str]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        if "key" not in tag or "value" not in tag:
            raise validation("Tag must contain key and value")
        out[tag["key"]] = tag["value"]
    return out


def tags_to_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]
