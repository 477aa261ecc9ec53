"""Guardrails at the gateway: a Bedrock guardrail configured for an environment, a team, a user or a key is applied
to every chat request, whatever its protocol, and what it assessed is audited and priced (docs/gateway.md
"Guardrails").

- Which one: the most specific wins: the key (``keys create --guardrail-id``) > its user (``[gateway.users.<u>]``) >
  its team (``[gateway.teams.<t>]``) > its environment (``[environments.<e>]``), each as ``guardrail_id`` /
  ``guardrail_version`` (DRAFT when unset). A more specific level replaces a guardrail, it cannot remove one.
- Applied (``bind``, on the upstream request): Converse / ConverseStream get ``guardrailConfig`` in the body (the
  OpenAI route is served by Converse); InvokeModel / InvokeModelWithResponseStream get the
  ``X-Amzn-Bedrock-GuardrailIdentifier`` / ``-GuardrailVersion`` headers (the Messages API is served by InvokeModel).
  A request naming another guardrail is refused (400 ``guardrail_mismatch``): a caller cannot swap the guardrail it
  is given; naming the same one is accepted, with the caller's other settings. The trace is turned on (``enabled``,
  unless the caller asked for ``enabled_full``): its assessments carry the text units the guardrail billed.
  Embeddings and CountTokens are not guarded (Bedrock applies guardrails to text generation).
- Counted (``watch``, on the answer as it goes through): the intervention (``stopReason: guardrail_intervened``,
  ``amazon-bedrock-guardrailAction: INTERVENED``) and the units of every assessment. A Bedrock-route caller's own
  guardrail is counted the same way (its units when it turned the trace on).
- Settled (``settle``): the audit's status becomes ``guardrail_intervened``, ``guardrail_units`` the units, and the
  cost adds their price: the price book's ``guardrails`` rates (USD per 1,000 text units per policy type); a policy
  type without a rate is unpriced and adds nothing (never a guessed price).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

import orjson

from bedrockctl.errors import ConfigError
from bedrockctl.pricing.rates import Rate, guardrail_rate
from bedrockctl.runtime.wire import AwsCallError, EventDecoder, WireRequest, decode_chunk
from bedrockctl.server.gateway import errors
from bedrockctl.settings import guardrail_problem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from bedrockctl.runtime.resolve import Target
    from bedrockctl.runtime.transport import AsyncResponse
    from bedrockctl.server.gateway.admission import Admission
    from bedrockctl.store.keys import KeyRecord

log = logging.getLogger("bedrockctl.gateway")
GUARDED = frozenset({"Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"})
INTERVENED = "guardrail_intervened"  # the audit status of a request the guardrail blocked
_EXTRA = "guardrail"  # the request's GuardrailUse in Admission.extra
# GuardrailUsage members -> the price book's policy types
UNIT_POLICIES = {
    "topicPolicyUnits": "denied_topics",
    "contentPolicyUnits": "content_filter",
    "contentPolicyImageUnits": "image_content_filter",
    "wordPolicyUnits": "word_filter",
    "sensitiveInformationPolicyUnits": "sensitive_information",
    "sensitiveInformationPolicyFreeUnits": "sensitive_information_regex",
    "contextualGroundingPolicyUnits": "contextual_grounding",
    "automatedReasoningPolicyUnits": "automated_reasoning",
}
_ID_HEADER = "X-Amzn-Bedrock-GuardrailIdentifier"
_VERSION_HEADER = "X-Amzn-Bedrock-GuardrailVersion"
_TRACE_HEADER = "X-Amzn-Bedrock-Trace"
_NANO_PER_UNIT = Decimal(1_000_000)  # (USD per 1,000 units) -> nano-USD per unit


@dataclass(frozen=True, slots=True)
class GuardrailRef:
    """A configured guardrail and where it is configured (``key``, ``user ana``, ``team ml``, ``environment dev``)."""

    identifier: str
    version: str
    source: str

    def same(self, identifier: Any, version: Any) -> bool:
        """Whether a caller's guardrail (an id or an ARN, a version; DRAFT when none) is this one."""
        return _bare_id(str(identifier or "")) == _bare_id(self.identifier) and str(version or "DRAFT") == self.version


def _bare_id(identifier: str) -> str:
    return identifier.rsplit("guardrail/", 1)[-1]


def guardrail_ref(guardrail_id: Any, version: Any, source: str) -> GuardrailRef | None:
    """The guardrail a config table names (``guardrail_id`` / ``guardrail_version``), None when it names none."""
    gid = str(guardrail_id) if guardrail_id not in (None, "") else None
    ver = str(version) if version not in (None, "") else None
    problem = guardrail_problem(gid, ver)
    if problem is not None:
        value = gid if problem[0] == "guardrail_id" else ver
        raise ConfigError(
            f"{source}: {problem[0]} = {value!r} is invalid; expected {problem[1]}",
            remediation=f"Fix {problem[0]} of {source} (expected {problem[1]}).",
        )
    return GuardrailRef(gid, ver or "DRAFT", source) if gid else None


@dataclass(slots=True)
class GuardrailUse:
    """One request's guardrail: the configured one (None: only the caller's own is watched), whether a guardrail is
    on the upstream request, whether it intervened, and the text units it assessed (GuardrailUsage member -> units)."""

    ref: GuardrailRef | None
    applied: bool = False
    intervened: bool = False
    units: dict[str, int] = field(default_factory=dict)

    def trace(self, trace: Any) -> None:
        """Add the units of every assessment in a guardrail trace (Converse ``trace.guardrail``, InvokeModel
        ``amazon-bedrock-trace.guardrail``: input and output assessments, in either shape)."""
        for usage in _usages(trace):
            for name, value in usage.items():
                # ``*Units`` members (``automatedReasoningPolicies`` counts policies, not units)
                if name.endswith("Units") and isinstance(value, int) and value > 0:
                    self.units[name] = self.units.get(name, 0) + value

    def converse(self, doc: Mapping[str, Any]) -> None:
        """A Converse answer, or a ConverseStream ``messageStop`` / ``metadata`` event."""
        if doc.get("stopReason") == INTERVENED:
            self.intervened = True
        self.trace((doc.get("trace") or {}).get("guardrail"))

    def invoke(self, doc: Mapping[str, Any]) -> None:
        """An InvokeModel answer, or one InvokeModelWithResponseStream chunk."""
        if doc.get("amazon-bedrock-guardrailAction") == "INTERVENED":
            self.intervened = True
        self.trace((doc.get("amazon-bedrock-trace") or {}).get("guardrail"))

    def event(self, etype: str, payload: dict[str, Any]) -> None:
        if etype in ("messageStop", "metadata"):
            self.converse(payload)
        elif etype == "chunk":
            doc = decode_chunk(payload)
            if isinstance(doc, dict):
                self.invoke(doc)

    @property
    def total_units(self) -> int:
        return sum(self.units.values())


def _usages(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, dict):
        metrics = node.get("invocationMetrics")
        if isinstance(metrics, dict) and isinstance(metrics.get("usage"), dict):
            yield metrics["usage"]
        for key, value in node.items():
            if key != "invocationMetrics":
                yield from _usages(value)
    elif isinstance(node, list):
        for item in node:
            yield from _usages(item)


class Guardrails:
    """The configured guardrails and the hooks of the pipeline: ``bind`` (request), ``watch`` (answer), ``settle``
    (audit status, units and cost)."""

    def __init__(self, settings: Any, prices: Any) -> None:
        self.environments = {
            name: ref
            for name, env in (getattr(settings, "environments", None) or {}).items()
            if (ref := guardrail_ref(env.guardrail_id, env.guardrail_version, f"environment {name}")) is not None
        }
        raw = dict(getattr(settings, "gateway", None) or {})
        self.teams = _scoped(raw, "teams", "team")
        self.users = _scoped(raw, "users", "user")
        self.prices = prices
        self._rates: dict[str, Decimal | None] = {}

    def for_key(self, key: KeyRecord) -> GuardrailRef | None:
        """The guardrail of a key's requests: the key's, else its user's, team's or environment's."""
        if key.guardrail_id:
            return GuardrailRef(key.guardrail_id, key.guardrail_version or "DRAFT", "key")
        return self.users.get(key.user) or self.teams.get(key.team) or self.environments.get(key.environment)

    # -- request -------------------------------------------------------------------------------------------
    def bind(self, adm: Admission, build: Callable[[Target], WireRequest]) -> Callable[[Target], WireRequest]:
        """``build`` with the request's guardrail applied to what it builds (the pipeline's ``send``)."""
        if adm.operation not in GUARDED:
            return build
        ref = self.for_key(adm.key)
        if ref is None and adm.protocol != "bedrock":
            return build  # only Bedrock-route callers can bring a guardrail of their own
        use = GuardrailUse(ref)
        adm.extra[_EXTRA] = use

        def guarded(target: Target) -> WireRequest:
            req = build(target)
            if "embed" in target.model_id:  # embeddings are not guarded
                return req
            if req.operation.startswith("Converse"):
                return _converse(use, req)
            return _invoke(use, req)

        return guarded

    # -- answer --------------------------------------------------------------------------------------------
    def watch(self, adm: Admission, resp: AsyncResponse) -> AsyncResponse:
        """Let the answer's guardrail outcome and units be read as it goes through to the caller."""
        use = adm.extra.get(_EXTRA)
        if isinstance(use, GuardrailUse) and use.applied:
            region = adm.target.region if adm.target else ""
            resp.chunks = _tee(use, adm.operation, region, resp.chunks)
        return resp

    # -- settle --------------------------------------------------------------------------------------------
    def settle(self, adm: Admission, status: str, cost_nusd: int) -> tuple[str, int, int]:
        """(status, cost, guardrail units) of a finished request: ``guardrail_intervened`` for an answer the
        guardrail blocked, the cost with the units' price."""
        use = adm.extra.get(_EXTRA)
        if not isinstance(use, GuardrailUse) or (not use.units and not use.intervened):
            return status, cost_nusd, 0
        if use.intervened and status == "ok":
            status = INTERVENED
        return status, cost_nusd + self.cost_nusd(use.units), use.total_units

    def cost_nusd(self, units: Mapping[str, int]) -> int:
        """The price of guardrail text units (GuardrailUsage member -> units) in nano-USD, rounded up; units of a
        policy type the price book has no rate for add nothing (they are unpriced)."""
        total = Decimal(0)
        for name, count in units.items():
            rate = self.rate(UNIT_POLICIES.get(name, name))
            if rate is not None:
                total += count * rate
        return int((total * _NANO_PER_UNIT).to_integral_value(rounding=ROUND_CEILING))

    def rate(self, policy: str) -> Decimal | None:
        """USD per 1,000 text units of a policy type; None when unpriced."""
        if policy not in self._rates:
            found = guardrail_rate(self.prices, policy) if self.prices is not None else None
            if isinstance(found, Rate):
                self._rates[policy] = found.usd
            else:
                self._rates[policy] = None
                why = found.reason if found is not None else "no price book"
                log.warning("guardrail %s units are unpriced: %s", policy, why)
        return self._rates[policy]


def _scoped(raw: dict[str, Any], section: str, label: str) -> dict[str, GuardrailRef]:
    table = raw.get(section) or {}
    out = {}
    for name, body in table.items() if isinstance(table, dict) else ():
        body = body if isinstance(body, dict) else {}
        ref = guardrail_ref(body.get("guardrail_id"), body.get("guardrail_version"), f"gateway.{section}.{name}")
        if ref is not None:
            out[str(name)] = dataclasses.replace(ref, source=f"{label} {name}")
    return out


def _mismatch(ref: GuardrailRef, identifier: Any, version: Any) -> errors.GatewayError:
    return errors.GatewayError(
        400,
        "ValidationException",
        f"This gateway applies guardrail {ref.identifier} version {ref.version} (set for the {ref.source}) to these "
        f"requests; the request names guardrail {identifier} version {version or 'DRAFT'}. Leave the guardrail out "
        "of the request, or name the same one.",
        openai_code="guardrail_mismatch",
        audit_status="guardrail_mismatch",
    )


def _converse(use: GuardrailUse, req: WireRequest) -> WireRequest:
    ref = use.ref
    if ref is None:  # the caller's own guardrail, if any, is watched (a byte search: no parse on the hot path)
        use.applied = b'"guardrailConfig"' in req.body
        return req
    try:
        doc = orjson.loads(req.body)
    except orjson.JSONDecodeError:
        return req  # Bedrock answers it (the Converse routes parse their bodies before this)
    if not isinstance(doc, dict):
        return req
    given = doc.get("guardrailConfig")
    if given is not None:
        cfg = given if isinstance(given, dict) else {}
        if not ref.same(cfg.get("guardrailIdentifier"), cfg.get("guardrailVersion")):
            raise _mismatch(ref, cfg.get("guardrailIdentifier"), cfg.get("guardrailVersion"))
    cfg = dict(given) if isinstance(given, dict) else {}
    cfg.update(guardrailIdentifier=ref.identifier, guardrailVersion=ref.version)
    if cfg.get("trace") != "enabled_full":
        cfg["trace"] = "enabled"
    doc["guardrailConfig"] = cfg
    use.applied = True
    return dataclasses.replace(req, body=orjson.dumps(doc))


def _invoke(use: GuardrailUse, req: WireRequest) -> WireRequest:
    named = {k.lower(): k for k in req.headers}
    given_id = req.headers.get(named.get(_ID_HEADER.lower(), ""))
    given_version = req.headers.get(named.get(_VERSION_HEADER.lower(), ""))
    ref = use.ref
    if ref is None:
        use.applied = bool(given_id)
        return req
    if given_id and not ref.same(given_id, given_version):
        raise _mismatch(ref, given_id, given_version)
    trace = str(req.headers.get(named.get(_TRACE_HEADER.lower(), ""), "")).upper()
    mine = {h.lower() for h in (_ID_HEADER, _VERSION_HEADER, _TRACE_HEADER)}
    headers = {k: v for k, v in req.headers.items() if k.lower() not in mine}
    headers[_ID_HEADER] = ref.identifier
    headers[_VERSION_HEADER] = ref.version
    headers[_TRACE_HEADER] = "ENABLED_FULL" if trace == "ENABLED_FULL" else "ENABLED"
    use.applied = True
    return dataclasses.replace(req, headers=headers)


async def _tee(use: GuardrailUse, operation: str, region: str, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The answer's chunks, unchanged, read on the way: stream events one by one, a whole body at its end."""
    if operation.endswith("Stream"):
        decoder = EventDecoder(operation, region)
        async for chunk in chunks:
            try:
                for etype, payload in decoder.feed(chunk):
                    use.event(etype, payload)
            except (AwsCallError, ValueError):
                decoder = EventDecoder(operation, region)  # the route's own decoder reports the stream's error
            yield chunk
        return
    parts = []
    async for chunk in chunks:
        parts.append(chunk)
        yield chunk
    try:
        doc = orjson.loads(b"".join(parts))
    except orjson.JSONDecodeError:
        return  # not a JSON answer: nothing to read
    if isinstance(doc, dict):
        (use.converse if operation == "Converse" else use.invoke)(doc)


__all__ = ["GUARDED", "INTERVENED", "UNIT_POLICIES", "GuardrailRef", "GuardrailUse", "Guardrails", "guardrail_ref"]
