"""``Metrics.observe`` counts in memory and ``publish`` writes the totals: the exposition after ``publish`` is the
one prometheus_client gives when every request is observed on its own (same buckets, sums and labels)."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bedrockctl.server.gateway.metrics import LATENCY_BUCKETS, Metrics

# latencies on and around every bucket bound (ms), and past the last one
LATENCIES = sorted({v for b in LATENCY_BUCKETS for v in (round(b * 1000) - 1, round(b * 1000), round(b * 1000) + 1)})
LATENCIES += [0, 90_000]


def _values(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            if family.name.startswith("bedrockctl_gateway_") and "worker_start" not in s.name:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _reference(calls: list[tuple[str, str, int, object, int]]) -> bytes:
    reg = CollectorRegistry()
    requests = Counter("bedrockctl_gateway_requests", "", ["protocol", "status"], registry=reg)
    tokens = Counter("bedrockctl_gateway_tokens", "", ["protocol", "kind"], registry=reg)
    cost = Counter("bedrockctl_gateway_cost_usd", "", registry=reg)
    latency = Histogram("bedrockctl_gateway_request_duration_seconds", "", buckets=LATENCY_BUCKETS, registry=reg)
    for protocol, status, ms, usage, nusd in calls:
        requests.labels(protocol, status).inc()
        if usage is not None:
            if usage.input_tokens:  # type: ignore[attr-defined]
                tokens.labels(protocol, "input").inc(usage.input_tokens)  # type: ignore[attr-defined]
            if usage.output_tokens:  # type: ignore[attr-defined]
                tokens.labels(protocol, "output").inc(usage.output_tokens)  # type: ignore[attr-defined]
        if nusd:
            cost.inc(nusd / 1e9)
        latency.observe(ms / 1000)
    return generate_latest(reg)


def test_published_totals_equal_one_observation_per_request() -> None:
    calls: list[tuple[str, str, int, object, int]] = []
    for i, ms in enumerate(LATENCIES):
        usage = None if i % 5 == 0 else SimpleNamespace(input_tokens=i * 3, output_tokens=i % 4)
        calls.append(("openai" if i % 2 else "bedrock", "ok" if i % 3 else "rate_limited", ms, usage, 1000 * i))
    m = Metrics()
    for call in calls[:20]:
        m.observe(*call)
    m.publish()
    for call in calls[20:]:
        m.observe(*call)
    got = _values(m.render())  # render publishes what is still pending
    want = _values(_reference(calls))
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert abs(got[k] - v) <= 1e-9 * max(1.0, abs(v)), (k, got[k], v)
    assert got[("bedrockctl_gateway_request_duration_seconds_count", ())] == len(calls)
    m.publish()  # nothing pending: no change
    assert _values(m.render()) == got
