"""What the sync and async clients share: configuration, planning, payload building and finishing a call."""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Self, TypedDict

from bedrockctl.aws.regions import check_region
from bedrockctl.aws.session import SessionFactory
from bedrockctl.runtime.cache import ResponseCache, cache_key
from bedrockctl.runtime.calls import CallState, cost_of, image_block
from bedrockctl.runtime.resolve import Target
from bedrockctl.runtime.retry import Retrier
from bedrockctl.runtime.routing import Planner, RouteStats, RuntimeOptions
from bedrockctl.runtime.types import CallMeta
from bedrockctl.runtime.usage import UsageRecord, UsageSink
from bedrockctl.settings import Settings

if TYPE_CHECKING:
    from bedrockctl.runtime.core import Flow

log = logging.getLogger("bedrockctl.runtime")


class CallOptions(TypedDict, total=False):
    """Options of every model call: ``tags`` (request metadata, usage records), ``guardrail`` ((id, version);
    default: ``defaults.guardrail_id``) with ``guardrail_trace``, ``use_cache`` (the response cache, when on)."""

    tags: dict[str, str] | None
    guardrail: tuple[str, str] | None
    guardrail_trace: bool
    use_cache: bool


class ConverseOptions(CallOptions, total=False):
    """Converse options (see ``converse_payload``)."""

    prompt: str | None
    system: str | list[dict[str, Any]] | None
    max_tokens: int | None
    temperature: float | None
    top_p: float | None
    stop_sequences: list[str] | None
    tools: list[dict[str, Any]] | None
    tool_choice: dict[str, Any] | None
    images: list[tuple[bytes, str]] | None
    extra: dict[str, Any] | None


class InvokeOptions(CallOptions, total=False):
    """InvokeModel options: the body's ``content_type`` and the wanted ``accept`` (both ``application/json``)."""

    content_type: str
    accept: str


def converse_payload(
    messages: list[dict[str, Any]] | None = None,
    *,
    prompt: str | None = None,
    system: str | list[dict[str, Any]] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop_sequences: list[str] | None = None,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: dict[str, Any] | None = None,
    images: list[tuple[bytes, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Converse request body (wire shape: camelCase, bytes as base64)."""
    msgs = [dict(m) for m in messages or []]
    if prompt is not None:
        content: list[dict[str, Any]] = [image_block(data, fmt) for data, fmt in images or []]
        content.append({"text": prompt})
        msgs.append({"role": "user", "content": content})
    body: dict[str, Any] = {"messages": msgs}
    if system:
        body["system"] = [{"text": system}] if isinstance(system, str) else system
    cfg: dict[str, Any] = {}
    for key, value in (
        ("maxTokens", max_tokens),
        ("temperature", temperature),
        ("topP", top_p),
        ("stopSequences", stop_sequences),
    ):
        if value is not None:
            cfg[key] = value
    if cfg:
        body["inferenceConfig"] = cfg
    if tools:
        body["toolConfig"] = {"tools": tools, **({"toolChoice": tool_choice} if tool_choice else {})}
    body.update(extra or {})
    return body


class RuntimeBase:
    @classmethod
    def from_context(cls, ctx: Any, **kwargs: Any) -> Self:
        """Wire settings, store (usage sink, cache) and prices from an ``AppContext``."""
        from bedrockctl.runtime.factory import components

        return cls(ctx.sessions, settings=ctx.settings, **{**components(ctx.settings), **kwargs})

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        settings: Settings | None = None,
        options: RuntimeOptions | None = None,
        usage_sink: UsageSink | None = None,
        cache: ResponseCache | None = None,
        prices: Any = None,
        environment: str | None = None,
        region: str | None = None,
        guardrail: tuple[str, str] | None = None,
        stats: RouteStats | None = None,
        retrier: Retrier | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings or Settings(aws=sessions.settings)
        self.options = options or RuntimeOptions.from_dict(self.settings.runtime, sessions.settings.retry_attempts)
        self.region = check_region(region or sessions.region or "us-east-1", "bedrock-runtime")  # before any call
        self.usage_sink = usage_sink
        self.cache = cache
        self.prices = prices
        self.env_name = environment or self.options.environment
        self.environment = self.settings.environments.get(self.env_name) if self.env_name else None
        d = self.settings.defaults
        self.guardrail = guardrail or ((d.guardrail_id, d.guardrail_version or "DRAFT") if d.guardrail_id else None)
        self.stats = stats or RouteStats(self.options.ewma_alpha, self.options.cooldown_seconds)
        self.retrier = retrier or Retrier(self.options.max_attempts)
        self._caller: str | None = None
        self._caller_known = False

    # -- planning ---------------------------------------------------------------------------------------------
    def default_model(self) -> str | None:
        if self.environment is not None and self.environment.default_model:
            return self.environment.default_model
        return self.settings.defaults.model or os.environ.get("BEDROCK_MODEL_ID")

    def model_or_default(self, model: str | None) -> str:
        chosen = model or self.default_model()
        if not chosen:
            from bedrockctl.errors import ConfigError

            raise ConfigError(
                "No model given", remediation="Pass --model, set BEDROCK_MODEL_ID or `defaults.model` in the config."
            )
        return chosen

    def planner(self) -> Planner:
        return Planner(self.options, self.stats, region=self.region, prices=self.prices, environment=self.environment)

    def start(self, operation: str, model: str, *, bedrock_only: bool = False) -> CallState:
        plan = self.planner().plan(model)
        if bedrock_only:
            plan = [t for t in plan if not t.is_local] or plan
        log.debug("plan for %s %s: %s", operation, model, [t.label() for t in plan])
        return CallState(operation, model, plan, self.retrier, self.stats, self.options.backoff_base)

    # -- the flows of the call core (``flows.py``), performed by the client's ``drive`` ------------------------
    def converse_flow(
        self, model: str | None, messages: list[dict[str, Any]] | None, stream: bool, options: ConverseOptions
    ) -> Flow:
        """Converse(Stream) on the model (or the default) with the payload built and the guardrail applied."""
        from bedrockctl.runtime import flows

        opts: dict[str, Any] = dict(options)
        tags, use_cache = opts.pop("tags", None), opts.pop("use_cache", True)
        guardrail, trace = opts.pop("guardrail", None), opts.pop("guardrail_trace", True)
        chosen = self.model_or_default(model)
        payload = converse_payload(messages, **opts)
        self.with_guardrail(payload, guardrail, trace)
        make = flows.converse_stream if stream else flows.converse
        return make(self, chosen, payload, tags, use_cache)

    def invoke_flow(
        self, model: str | None, body: dict[str, Any] | bytes | str, stream: bool, options: InvokeOptions
    ) -> Flow:
        """InvokeModel(WithResponseStream) with a model-native body."""
        from bedrockctl.runtime import flows
        from bedrockctl.runtime.calls import encode_body

        chosen, raw = self.model_or_default(model), encode_body(body)
        tags, trace = options.get("tags"), options.get("guardrail_trace", True)
        guardrail = options.get("guardrail") or self.guardrail
        if stream:
            return flows.invoke_stream(self, chosen, raw, tags=tags, guardrail=guardrail, trace=trace)
        return flows.invoke(
            self,
            chosen,
            raw,
            content_type=options.get("content_type", "application/json"),
            accept=options.get("accept", "application/json"),
            tags=tags,
            guardrail=guardrail,
            trace=trace,
            use_cache=options.get("use_cache", True),
        )

    def with_guardrail(self, payload: dict[str, Any], guardrail: tuple[str, str] | None, trace: bool) -> None:
        g = guardrail or self.guardrail
        if g and "guardrailConfig" not in payload:
            payload["guardrailConfig"] = {
                "guardrailIdentifier": g[0],
                "guardrailVersion": g[1],
                "trace": "enabled" if trace else "disabled",
            }

    # -- cache --------------------------------------------------------------------------------------------------
    def cache_lookup(self, operation: str, model: str, request: Any) -> tuple[str | None, dict[str, Any] | None]:
        if self.cache is None or not self.options.cache_enabled:
            return None, None
        key = cache_key(operation, model, request)
        try:
            return key, self.cache.get(key)
        except Exception as exc:  # a broken cache must not break calls
            log.warning("response cache read failed: %s", exc)
            return key, None

    def cache_store(self, key: str | None, model: str, value: dict[str, Any]) -> None:
        if key is None or self.cache is None:
            return
        try:
            self.cache.put(key, model, value, self.options.cache_ttl)
        except Exception as exc:
            log.warning("response cache write failed: %s", exc)

    # -- finishing ---------------------------------------------------------------------------------------------
    def caller(self) -> str | None:
        if not self._caller_known:
            self._caller_known = True
            try:
                self._caller = self.sessions.identity().arn
            except Exception:
                self._caller = None
        return self._caller

    def finish(self, operation: str, meta: CallMeta, target: Target | None, status: str = "ok") -> CallMeta:
        if target is not None and not meta.cache_hit:
            meta.cost_usd = cost_of(self.prices, target, meta.usage)
        elif meta.cache_hit:
            meta.cost_usd = Decimal(0)
        for a in meta.attempts:
            log.info("attempt %d %s@%s -> %s (%d ms)", a.number, a.model_id, a.region, a.outcome, a.latency_ms)
        self.record(
            UsageRecord.from_meta(operation, meta, caller=self.caller(), environment=self.env_name, status=status)
        )
        return meta

    def record(self, record: UsageRecord) -> None:
        if self.usage_sink is None or not self.options.usage_enabled:
            return
        try:
            self.usage_sink.write(record)
        except Exception as exc:
            log.warning("usage record not written: %s", exc)

    def fail_record(self, operation: str, model: str, state: CallState | None, exc: Exception) -> None:
        meta = CallMeta(model_requested=model, attempts=list(state.attempts) if state else [])
        code = getattr(exc, "code", type(exc).__name__)
        self.record(
            UsageRecord.from_meta(operation, meta, caller=self.caller(), environment=self.env_name, status=str(code))
        )
