"""Per-call state shared by the sync and async clients: attempts, failover, retry budget, results, records."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bedrockctl.pricing.cost import cost_usd
from bedrockctl.runtime.errors import AllRoutesFailed
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.retry import Retrier
from bedrockctl.runtime.routing import RouteStats
from bedrockctl.runtime.types import Attempt, CallMeta, GuardrailReport, StreamEvent, Usage
from bedrockctl.runtime.wire import AwsCallError

_DOWN_CODES = {"ServiceUnavailableException", "InternalServerException", "ConnectionError", "RequestTimeout"}


@dataclass
class CallState:
    """Walks the plan: next target, what to do after a failure, the attempts made so far."""

    operation: str
    requested: str
    plan: list[Target]
    retrier: Retrier
    stats: RouteStats
    backoff_base: float = 0.5
    attempts: list[Attempt] = field(default_factory=list)
    _pos: int = 0
    _round: int = 0
    _acquired: int = 0
    _last_error: AwsCallError | None = None
    started: float = field(default_factory=time.perf_counter)
    target: Target | None = None  # the route of the latest attempt

    @property
    def last_error(self) -> AwsCallError | None:
        """The upstream's answer to the latest failed attempt (code, message, status)."""
        return self._last_error

    def next(self) -> tuple[Target, float]:
        """The next target to try and the delay to wait first; raises ``AllRoutesFailed`` when done."""
        if len(self.attempts) >= self.retrier.max_attempts:
            self._give_up("attempt limit reached")
        delay = 0.0
        for _ in range(2 * len(self.plan) + 1):
            if self._pos >= len(self.plan):
                self._pos = 0
                self._round += 1
                if self._last_error is not None:
                    delay = self.retrier.delay(self._last_error, self._round) * self.backoff_base
            target = self.plan[self._pos]
            self._pos += 1
            if self.stats.is_down(target) and any(not self.stats.is_down(t) for t in self.plan):
                continue  # a route in its cooldown is skipped while another is up
            self.target = target
            return target, delay
        return self.plan[0], delay  # pragma: no cover - every route down: try the first anyway

    def failed(self, target: Target, err: AwsCallError, started: float) -> None:
        """Record the failure; re-raise (translated) unless another attempt is allowed."""
        self._record(target, err.code, started, err.request_id, err.status, err.message)
        self._last_error = err
        number = len(self.attempts)
        self.stats.failure(target, down=err.code in _DOWN_CODES or err.transport)
        if not self.retrier.retryable(err, 1):
            raise err.translate() from None
        if number >= self.retrier.max_attempts:
            self._give_up("attempt limit reached")
        acquired = self.retrier.acquire(err)
        if not acquired:
            self._give_up("retry budget exhausted")
        self._acquired = acquired

    def succeeded(self, target: Target, started: float, request_id: str | None) -> None:
        latency = self._record(target, "ok", started, request_id, 200, None)
        self.stats.success(target, latency)
        self.retrier.release(self._acquired)

    def _record(
        self, target: Target, outcome: str, started: float, rid: str | None, status: int | None, msg: str | None
    ) -> int:
        latency = int((time.perf_counter() - started) * 1000)
        self.attempts.append(
            Attempt(len(self.attempts) + 1, target.model_id, target.region, outcome, latency, rid, status, msg)
        )
        return latency

    def _give_up(self, why: str) -> None:
        err = self._last_error
        summary = "; ".join(f"#{a.number} {a.model_id}@{a.region}: {a.outcome}" for a in self.attempts)
        raise AllRoutesFailed(
            f"{self.operation} {self.requested} failed after {len(self.attempts)} attempts ({why}): {summary}",
            details={
                "attempts": [a.to_dict() for a in self.attempts],
                "last_error": err.code if err else None,
            },
        )

    def meta(self, target: Target, request_id: str | None, usage: Usage, tags: dict[str, str]) -> CallMeta:
        return CallMeta(
            request_id=request_id,
            model_requested=self.requested,
            model_served=target.model_id,
            base_model=target.base_model,
            region_served=target.region,
            usage=usage,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            attempts=list(self.attempts),
            tags=dict(tags),
        )


# -- response interpretation (shared) ---------------------------------------------------------------------------
def converse_guardrail(raw: dict[str, Any]) -> GuardrailReport | None:
    trace = (raw.get("trace") or {}).get("guardrail")
    intervened = raw.get("stopReason") == "guardrail_intervened"
    if not intervened and trace is None:
        return None
    return GuardrailReport(intervened, "INTERVENED" if intervened else "NONE", trace)


def converse_text(message: dict[str, Any]) -> str:
    return "".join(str(b.get("text", "")) for b in message.get("content", []) if "text" in b)


class StreamAssembler:
    """Turns Converse stream events into ``StreamEvent``s and rebuilds the full response for the cache."""

    def __init__(self) -> None:
        self.blocks: dict[int, dict[str, Any]] = {}
        self.stop_reason = ""
        self.usage: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.trace: dict[str, Any] | None = None
        self.finished = False

    def event(self, etype: str, payload: dict[str, Any]) -> Iterator[StreamEvent]:
        idx = int(payload.get("contentBlockIndex", 0))
        if etype == "contentBlockStart":
            start = (payload.get("start") or {}).get("toolUse")
            if start:
                self.blocks[idx] = {"toolUse": {**start, "input": ""}}
        elif etype == "contentBlockDelta":
            delta = payload.get("delta") or {}
            if "text" in delta:
                block = self.blocks.setdefault(idx, {"text": ""})
                block["text"] = block.get("text", "") + delta["text"]
                yield StreamEvent("text", text=delta["text"])
            elif "toolUse" in delta:
                block = self.blocks.setdefault(idx, {"toolUse": {"input": ""}})
                block["toolUse"]["input"] += delta["toolUse"].get("input", "")
        elif etype == "contentBlockStop":
            done = self.blocks.get(idx)
            if done and "toolUse" in done and isinstance(done["toolUse"]["input"], str):
                raw = done["toolUse"]["input"]
                done["toolUse"]["input"] = json.loads(raw) if raw else {}
                yield StreamEvent("tool_use", data=done["toolUse"])
        elif etype == "messageStop":
            self.stop_reason = str(payload.get("stopReason", ""))
            yield StreamEvent("stop", data={"stopReason": self.stop_reason})
        elif etype == "metadata":
            self.usage = payload.get("usage") or {}
            self.metrics = payload.get("metrics") or {}
            self.trace = payload.get("trace")
            self.finished = True

    def response(self) -> dict[str, Any]:
        content = [self.blocks[i] for i in sorted(self.blocks)]
        out: dict[str, Any] = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self.stop_reason,
            "usage": self.usage,
            "metrics": self.metrics,
        }
        if self.trace:
            out["trace"] = self.trace
        return out


def invoke_usage(headers: Any, body: dict[str, Any] | None = None) -> Usage:
    """Usage of an InvokeModel call: the ``X-Amzn-Bedrock-*-Token-Count`` headers (or stream metrics)."""
    if body is not None and "amazon-bedrock-invocationMetrics" in body:
        m = body["amazon-bedrock-invocationMetrics"]
        return Usage(
            int(m.get("inputTokenCount", 0)),
            int(m.get("outputTokenCount", 0)),
            int(m.get("cacheReadInputTokenCount", 0)),
            int(m.get("cacheWriteInputTokenCount", 0)),
        )

    def h(name: str) -> int:
        return int(headers.get(f"x-amzn-bedrock-{name}-token-count") or 0)

    return Usage(h("input"), h("output"), h("cache-read-input"), h("cache-write-input"))


def billed_invoke_usage(headers: Any, raw: bytes) -> Usage:
    """What Bedrock bills for a whole InvokeModel answer: its token-count headers, with the 1-hour cache writes an
    Anthropic answer reports (``usage.cache_creation``) split out (the body is parsed only when it names them)."""
    usage = invoke_usage(headers)
    if b"ephemeral_1h_input_tokens" in raw:
        try:
            doc = json.loads(raw)
        except ValueError:
            return usage
        usage = usage.split_anthropic(doc if isinstance(doc, dict) else None)
    return usage


def invoke_guardrail(body: dict[str, Any]) -> GuardrailReport | None:
    action = body.get("amazon-bedrock-guardrailAction")
    trace = (body.get("amazon-bedrock-trace") or {}).get("guardrail")
    if action is None and trace is None:
        return None
    return GuardrailReport(action == "INTERVENED", action, trace)


def encode_body(body: dict[str, Any] | bytes | str) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def image_block(data: bytes, fmt: str) -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"bytes": base64.b64encode(data).decode()}}}


def price_of(prices: Any, target: Target) -> Any:
    """The ``ModelPrice`` of a Bedrock route: the model (or profile) in its Region, else its base model's;
    ``None`` when unpriced."""
    if prices is None:
        return None
    price = prices.price_for(target.model_id, target.region)
    if price is None and target.base_model:
        price = prices.price_for(target.base_model, target.region)
    return price


def cost_of(prices: Any, target: Target, usage: Usage) -> Decimal | None:
    """The exact cost of a call (``pricing.cost_usd``): zero on the local tier, ``None`` when unpriced."""
    if target.is_local:
        return Decimal(0)
    price = price_of(prices, target)
    return None if price is None else cost_usd(price, usage)
