"""Invoke Bedrock models and agents: model resolution, guardrails, retries, failover, cache, usage and cost.

Sync (``Runtime``) and async (``AsyncRuntime``, for the gateway) clients share the same wire code
(``wire.py``), planner (``routing.py``) and per-call state (``calls.py``). See docs/runtime.md.
"""

from __future__ import annotations

from bedrockctl.runtime.aio import AsyncRuntime
from bedrockctl.runtime.base import converse_payload
from bedrockctl.runtime.client import Runtime
from bedrockctl.runtime.resolve import ALIASES, Target, canonical_model_id, resolve
from bedrockctl.runtime.routing import RouteStats, RuntimeOptions
from bedrockctl.runtime.types import (
    AgentResult,
    Attempt,
    CallMeta,
    ConverseResult,
    GuardrailReport,
    InvokeResult,
    StreamEvent,
    Usage,
)
from bedrockctl.runtime.usage import MemorySink, SqlSink, UsageRecord

__all__ = [
    "ALIASES",
    "AgentResult",
    "AsyncRuntime",
    "Attempt",
    "CallMeta",
    "ConverseResult",
    "GuardrailReport",
    "InvokeResult",
    "MemorySink",
    "RouteStats",
    "Runtime",
    "RuntimeOptions",
    "SqlSink",
    "StreamEvent",
    "Target",
    "Usage",
    "UsageRecord",
    "canonical_model_id",
    "converse_payload",
    "resolve",
]
