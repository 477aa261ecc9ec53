"""One pipeline behind every protocol: authenticate -> admit (model rules, soft-threshold downgrade, worst-case
reservation of budgets and limits) -> upstream (the runtime's async SigV4 transport, failover) -> settle -> audit.
The ``Gateway`` runs it; what one request carries through it, and the records it leaves, are in ``admission``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from bedrockctl.aws.inference_profiles import ProfileResolver
from bedrockctl.errors import BedrockctlError
from bedrockctl.pricing.cost import Rates, cost_nusd
from bedrockctl.runtime.calls import CallState, price_of
from bedrockctl.runtime.core import Sent, attempts
from bedrockctl.runtime.errors import ModelNotAllowed
from bedrockctl.runtime.resolve import Target, canonical_model_id
from bedrockctl.runtime.transport import AsyncResponse
from bedrockctl.runtime.types import Usage
from bedrockctl.runtime.wire import WireRequest
from bedrockctl.server.gateway import errors
from bedrockctl.server.gateway.admission import Admission, bare_model_id, call_record, refusal_record, worst_case
from bedrockctl.server.gateway.attribution import stamped
from bedrockctl.server.gateway.audit import AuditLog, ledger_writer
from bedrockctl.server.gateway.bounded import remember
from bedrockctl.server.gateway.budgets import Alerter, Policy
from bedrockctl.server.gateway.counters import Counters, Refused, SqlCounters
from bedrockctl.server.gateway.guardrails import Guardrails
from bedrockctl.server.gateway.http import request_id as http_request_id
from bedrockctl.server.gateway.metrics import Metrics
from bedrockctl.server.gateway.options import GatewayOptions, master_secret
from bedrockctl.server.gateway.overshoot import OvershootGuard
from bedrockctl.server.gateway.recovery import worker_lease
from bedrockctl.server.gateway.routers import RouterPricing, is_router_arn
from bedrockctl.settings import EnvironmentSettings
from bedrockctl.store.keys import KeyRecord, KeyStore

log = logging.getLogger("bedrockctl.gateway")
APP_PROFILE = ":application-inference-profile/"
PROVISIONED = ":provisioned-model/"


class Gateway:
    def __init__(self, ctx: Any, *, engine: Any = None, runtime: Any = None) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.opts = GatewayOptions.from_settings(settings)
        if engine is None:
            from bedrockctl.store.gateway import open_engine

            engine = open_engine(settings, self.opts)
        self.engine = engine
        self.keys = KeyStore(engine, master_secret(self.opts, settings), self.opts.key_cache_ttl)
        self.counters = Counters(
            SqlCounters(engine), lease_fraction=self.opts.lease_fraction, idle_seconds=self.opts.lease_idle_seconds
        )
        self.policy = Policy(self.opts, settings.environments)
        self.alerter = Alerter(engine, self.policy, self.opts, ctx.sessions)
        self.overshoot = OvershootGuard(engine, self.alerter)
        self.audit = AuditLog(
            engine,
            ledger=ledger_writer(settings) if self.opts.ledger else None,
            s3=self.opts.audit_s3,
            sessions=ctx.sessions,
            max_buffer=self.opts.audit_buffer_max,
        )
        if runtime is None:
            from bedrockctl.pricing import PriceBook
            from bedrockctl.runtime.aio import AsyncRuntime
            from bedrockctl.runtime.routing import RuntimeOptions

            ropts = RuntimeOptions.from_dict(settings.runtime, settings.aws.retry_attempts)
            ropts.usage_enabled = False
            ropts.cache_enabled = False
            from bedrockctl.server.gateway.upstream import FastTransport

            runtime = AsyncRuntime(
                ctx.sessions,
                settings=settings,
                options=ropts,
                prices=PriceBook.load_for(settings),
                transport=FastTransport(ctx.sessions),  # type: ignore[arg-type]
            )
        self.runtime = runtime
        self.profiles = ProfileResolver(lambda region: ctx.sessions.client("bedrock", region))
        self.routers = RouterPricing(self.profiles, getattr(runtime, "prices", None))
        self.guardrails = Guardrails(settings, getattr(runtime, "prices", None))  # applied on send, counted on finish
        self.metrics = Metrics()
        self.lease = worker_lease(self)  # reservations held under a lease, audit journal, crash recovery
        self._rates: dict[tuple[str, str], Rates | None] = {}
        self._plans: dict[tuple[str, str], tuple[float, list[Target]]] = {}
        self._allowed: dict[tuple[str, str], str | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_ship = time.monotonic()
        self._flush_lock: asyncio.Lock | None = None
        # the wall clock that picks a request's budget and rate windows (minute, hour, day, month): a test that
        # replaces it owns the calendar, so a month or a minute cannot end in the middle of its requests
        self.window_clock: Callable[[], float] = time.time

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            await self.lease.start()
            self._task = asyncio.create_task(self._background())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush(everything=True)
        await asyncio.get_running_loop().run_in_executor(None, self.audit.ship)
        self.counters.close()
        self.overshoot.close()
        await self.lease.stop()
        await self.runtime.aclose()

    async def _background(self) -> None:
        while True:
            await asyncio.sleep(self.opts.flush_interval)
            try:
                await self.flush()
                if time.monotonic() - self._last_ship >= self.opts.ledger_interval or self.audit.ship_due:
                    self._last_ship = time.monotonic()
                    await asyncio.get_running_loop().run_in_executor(None, self.audit.ship)
            except Exception:  # the loop must survive a bad flush
                log.exception("gateway background flush failed")

    async def flush(self, everything: bool = False) -> None:
        """Settle counters, write audit rows, check alert thresholds (off the event loop, one at a time)."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            await self._flush(everything)

    async def _flush(self, everything: bool) -> None:
        self.metrics.publish()
        applied = await self.lease.flush(everything)  # counters and audit rows in one transaction
        loop = asyncio.get_running_loop()
        budget_keys = [k for k in applied if k in self.policy.budgets and applied[k][0]]
        if budget_keys:
            await loop.run_in_executor(None, self.alerter.check, budget_keys, self._read_counters)

    def _read_counters(self, keys: list[Any]) -> dict[Any, tuple[int, int, int]]:
        values = self.counters.store.read(keys)
        self.overshoot.note_read(values)  # closures made by other workers
        return values

    # -- admission -----------------------------------------------------------------------------------------
    def check_model(self, key: KeyRecord, env: EnvironmentSettings | None, model: str) -> None:
        ck = (key.key_id, model)
        if ck not in self._allowed:
            why = None
            wanted = canonical_model_id(model)
            names = {wanted, bare_model_id(wanted), model}
            if key.allowed_models and not names & {canonical_model_id(m) for m in key.allowed_models}:
                why = f"the key allows {', '.join(key.allowed_models)}"
            elif (
                env is not None
                and env.allowed_models
                and not names & {canonical_model_id(m) for m in env.allowed_models}
            ):
                why = f"environment {env.name!r} allows {', '.join(env.allowed_models)}"
            remember(self._allowed, ck, why)
        why = self._allowed[ck]
        if why is not None:
            raise errors.model_not_allowed(model, why)

    def plan(self, model: str, operation: str) -> list[Target]:
        ck = (model, operation)
        now = time.monotonic()
        hit = self._plans.get(ck)
        if hit is not None and now - hit[0] < 1.0:
            return hit[1]
        try:
            targets = self.runtime.planner().plan(model)
        except ModelNotAllowed as exc:
            raise errors.model_not_allowed(model, exc.message) from None
        except BedrockctlError as exc:
            raise errors.validation(exc.message, openai_status=404, openai_code="model_not_found") from None
        targets = [t for t in targets if not t.is_local] or targets
        remember(self._plans, ck, (now, targets))
        return targets

    def rates(self, target: Target) -> Rates | None:
        """The route's price as integer ``pricing.Rates`` (``[0:4]``: input, output, cache read, cache write, in
        pico-USD per token at the usual scale of 9), cached; None: unpriced. An application inference profile ARN
        is priced as the model it routes to, in the profile's Region (``GetInferenceProfile``, resolved by
        ``admit`` off the event loop and cached)."""
        ck = (target.model_id, target.region)
        if ck not in self._rates:
            if PROVISIONED in target.model_id:  # bills by the hour (inventory idle prices it), nothing per token
                return remember(self._rates, ck, Rates(0, 0, 0, 0))
            price = price_of(self.runtime.prices, target)
            if price is None and APP_PROFILE in target.model_id and self.runtime.prices is not None:
                resolved = self.profiles.resolve(target.model_id)
                if resolved is not None:
                    tier = "global" if resolved.global_routing else "on_demand"
                    price = self.runtime.prices.price(resolved.model_id, resolved.region, tier)
            if price is None:
                why = self.profiles.failures.get(target.model_id, "no price in the price book")
                log.warning(
                    "%s in %s is unpriced (%s): its calls are audited at cost 0", target.model_id, target.region, why
                )
            remember(self._rates, ck, None if price is None else Rates.of(price))
        return self._rates[ck]

    def _unresolved(self, targets: list[Target]) -> list[Target]:
        """The targets ``_resolve_profiles`` reads (none, on nearly every request: checked without a coroutine)."""
        return [
            t
            for t in targets
            if is_router_arn(t.model_id) or (APP_PROFILE in t.model_id and (t.model_id, t.region) not in self._rates)
        ]

    async def _resolve_profiles(self, targets: list[Target]) -> None:
        """Read application inference profiles and prompt routers (a network call, once per TTL) before ``rates``
        needs them."""
        for t in targets:
            await asyncio.get_running_loop().run_in_executor(None, self.profiles.resolve, t.model_id)

    async def admit(
        self,
        key: KeyRecord,
        protocol: str,
        operation: str,
        model: str,
        est_input: int,
        max_tokens: int,
        client: str | None,
        request_id: str | None = None,
    ) -> Admission:
        now = self.window_clock()
        env = self.policy.environments.get(key.environment)
        self.check_model(key, env, model)
        chosen = model
        soft = env.soft_threshold_pct if env is not None and env.tier_routes else None
        if env is not None and soft is not None and self.policy.env_pct(env, now) >= soft:
            chosen = env.tier_routes.get(model) or env.tier_routes.get(canonical_model_id(model)) or model
        adm = Admission(
            key, protocol, operation, model, chosen, client, request_id or http_request_id(), time.perf_counter()
        )
        adm.max_tokens = max(max_tokens, 0)
        targets = self.plan(chosen, operation)
        if any(is_router_arn(t.model_id) for t in targets):  # settled by its models' prices, budget or not
            await self._resolve_profiles(self._unresolved(targets))
        specs = self.policy.specs(key, now)
        if specs:
            self.overshoot.check(specs)
            est_input, max_tokens = max(est_input, 0), max(max_tokens, 0)  # never a negative reservation
            est_tokens = est_input + max_tokens
            cost = 0
            if self.policy.has_budget(specs):
                unresolved = self._unresolved(targets)
                if unresolved:
                    await self._resolve_profiles(unresolved)
                worst = 0
                for t in targets:
                    if is_router_arn(t.model_id):  # whichever model the router picks: its dearest bounds it
                        choices = self.routers.candidates(t.model_id)  # read by _resolve_profiles above
                        if choices is not None:
                            worst = max([worst, *(worst_case(c, est_input, max_tokens) for c in choices)])
                            continue
                        r = None
                    else:
                        r = self.rates(t)
                    if r is None:
                        if self.opts.unpriced == "refuse":
                            raise errors.validation(
                                f"{t.model_id} in {t.region} has no price, so a budget cannot be enforced on it "
                                "(gateway.unpriced = 'refuse'; 'allow' lets it through, audited at cost 0)."
                            )
                        continue
                    worst = max(worst, worst_case(r, est_input, max_tokens))
                cost = worst
            amounts = {"budget": cost, "requests": 1, "tokens": est_tokens}
            try:
                adm.reservation = await self.counters.reserve([(s, amounts[s.kind]) for s in specs])
            except Refused as exc:
                raise self.policy.refusal(exc) from None
            adm.est_tokens = est_tokens
        adm.state = CallState(
            operation, chosen, targets, self.runtime.retrier, self.runtime.stats, self.runtime.options.backoff_base
        )
        return adm

    # -- upstream ------------------------------------------------------------------------------------------
    async def send(self, adm: Admission, build: Callable[[Target], WireRequest]) -> AsyncResponse:
        """The call core's attempts (``runtime.core.attempts``) run by the runtime's async driver
        (``AsyncRuntime.run``) over the gateway's transport; the answering response is returned unread."""
        state = adm.state
        assert state is not None
        build = self.guardrails.bind(adm, stamped(adm.key, build))
        try:
            sent: Sent = await self.runtime.run(attempts(state, build))
        except BedrockctlError as exc:
            raise self._upstream_error(state, exc) from None
        finally:
            adm.target = state.target  # the route of the latest attempt: the one that answered, if any did
        out: AsyncResponse = self.guardrails.watch(adm, sent.response)
        return out

    @staticmethod
    def _upstream_error(state: CallState, exc: BedrockctlError) -> errors.GatewayError:
        last = state.last_error
        if last is not None:
            return errors.upstream(last.code, last.message, last.status or (502 if last.transport else None))
        return errors.upstream("ServiceUnavailableException", exc.message, 503)

    # -- settle --------------------------------------------------------------------------------------------
    def cost_nusd(self, target: Target | None, usage: Usage, invoked: str | None = None) -> int:
        """What the call cost in nano-USD: ``pricing.cost_nusd`` (the one cost function); 0 when unpriced. A call
        through a prompt router costs what its ``invoked`` model charges (unknown: the dearest of its models)."""
        if target is not None and is_router_arn(target.model_id):
            return self.routers.cost_nusd(target.model_id, target.region, usage, invoked)
        rates = self.rates(target) if target is not None else None
        return 0 if rates is None else cost_nusd(rates, usage)

    def finish(self, adm: Admission, usage: Usage, status: str, http_status: int) -> int:
        billed = status in ("ok", "incomplete") or usage.output_tokens
        cost = self.cost_nusd(adm.target, usage, adm.invoked) if billed else 0
        status, cost, guardrail_units = self.guardrails.settle(adm, status, cost)
        used: list[tuple[str, str, int]] = []
        if adm.reservation is not None:
            called = adm.state is not None and bool(adm.state.attempts)
            actual = {"budget": cost, "requests": 1 if called else 0, "tokens": usage.total_tokens}
            used = self.counters.settle(adm.reservation, actual)
            self.overshoot.settled(adm.reservation, actual, adm.key.environment)
        latency = int((time.perf_counter() - adm.started) * 1000)
        self.metrics.observe(adm.protocol, status, latency, usage, cost)
        if self.opts.audit:
            self.audit.add(call_record(adm, usage, status, http_status, cost, latency, guardrail_units), used)
        return cost

    def refuse(
        self,
        key: KeyRecord | None,
        protocol: str,
        operation: str,
        model: str | None,
        client: str | None,
        request_id: str,
        err: errors.GatewayError,
        started: float,
    ) -> None:
        """Audit a request refused before it reached the upstream (auth, rules, budget, limit)."""
        latency = int((time.perf_counter() - started) * 1000)
        self.metrics.observe(protocol, err.audit_status, latency, None, 0)
        if self.opts.audit:
            self.audit.add(refusal_record(key, protocol, operation, model, client, request_id, err, latency))
