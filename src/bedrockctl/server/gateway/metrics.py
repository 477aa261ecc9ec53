"""Prometheus text exposition of the gateway's counters (per worker process; label ``pid``)."""

from __future__ import annotations

import os
from bisect import bisect_left
from collections import defaultdict
from typing import Any

_BUCKETS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.tokens: dict[tuple[str, str], int] = defaultdict(int)
        self.cost_nusd = 0
        self.latency_buckets = [0] * (len(_BUCKETS) + 1)
        self.latency_sum_ms = 0
        self.latency_count = 0

    def observe(self, protocol: str, status: str, latency_ms: int, usage: Any, cost_nusd: int) -> None:
        self.requests[(protocol, status)] += 1
        if usage is not None:
            self.tokens[(protocol, "input")] += usage.input_tokens
            self.tokens[(protocol, "output")] += usage.output_tokens
        self.cost_nusd += cost_nusd
        self.latency_buckets[bisect_left(_BUCKETS, latency_ms)] += 1  # first bucket with latency_ms <= bound
        self.latency_sum_ms += latency_ms
        self.latency_count += 1

    def render(self, extra: dict[str, float] | None = None) -> bytes:
        pid = os.getpid()
        lines = [
            "# HELP bedrockctl_gateway_requests_total Requests answered, by protocol and status.",
            "# TYPE bedrockctl_gateway_requests_total counter",
        ]
        for (proto, status), n in sorted(self.requests.items()):
            lines.append(f'bedrockctl_gateway_requests_total{{pid="{pid}",protocol="{proto}",status="{status}"}} {n}')
        lines += [
            "# HELP bedrockctl_gateway_tokens_total Tokens billed, by protocol and direction.",
            "# TYPE bedrockctl_gateway_tokens_total counter",
        ]
        for (proto, kind), n in sorted(self.tokens.items()):
            lines.append(f'bedrockctl_gateway_tokens_total{{pid="{pid}",protocol="{proto}",kind="{kind}"}} {n}')
        lines += [
            "# HELP bedrockctl_gateway_cost_usd_total Estimated cost of the calls served.",
            "# TYPE bedrockctl_gateway_cost_usd_total counter",
            f'bedrockctl_gateway_cost_usd_total{{pid="{pid}"}} {self.cost_nusd / 1e9:.9f}',
            "# HELP bedrockctl_gateway_request_duration_seconds Time to answer (whole stream for streams).",
            "# TYPE bedrockctl_gateway_request_duration_seconds histogram",
        ]
        cum = 0
        for b, n in zip((*_BUCKETS, None), self.latency_buckets, strict=True):
            cum += n
            le = "+Inf" if b is None else f"{b / 1000:g}"
            lines.append(f'bedrockctl_gateway_request_duration_seconds_bucket{{pid="{pid}",le="{le}"}} {cum}')
        lines.append(f'bedrockctl_gateway_request_duration_seconds_sum{{pid="{pid}"}} {self.latency_sum_ms / 1000:g}')
        lines.append(f'bedrockctl_gateway_request_duration_seconds_count{{pid="{pid}"}} {self.latency_count}')
        for name, value in (extra or {}).items():
            lines += [f"# TYPE {name} gauge", f'{name}{{pid="{pid}"}} {value:g}']
        return ("\n".join(lines) + "\n").encode()
