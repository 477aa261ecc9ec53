"""The gateway's Prometheus metrics, kept and rendered by ``prometheus_client``.

Under ``bedrockctl serve`` every worker process writes its values into the run's ``PROMETHEUS_MULTIPROC_DIR``
(``prepare_multiprocess_dir``; set before the workers start) and a scrape of any worker reports the sum over all
of them (prometheus_client's multiprocess mode). A gateway embedded without that directory (tests, a library
user) reports its own process. Metric names are documented in docs/gateway.md.

prometheus_client picks its storage (memory or the directory's files) once, when it is first imported, from the
environment: this module imports it only when ``Metrics`` is built, so ``serve`` can set the directory first.

The request path only adds to plain integers (``observe``); ``publish`` hands them to prometheus_client, whose
values in multiprocess mode are mmap writes under a lock with a ``getpid`` system call each (6 per request, ~20 µs
of a gateway request's CPU). The gateway publishes on every background flush (``flush_interval``) and before it
renders a scrape, so a scrape of a worker is exact for that worker and at most one flush behind for the others.
"""

from __future__ import annotations

import bisect
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

        # multiprocess only if prometheus_client stores values in files (the variable was set before its import)
        files = values.ValueClass is not values.MutexValue
        self.multiproc_dir = os.environ.get(MULTIPROC_ENV) if files else None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "bedrockctl_gateway_requests",
            "Requests answered, by protocol and status.",
            ["protocol", "status"],
            registry=self.registry,
        )
        self.tokens = Counter(
            "bedrockctl_gateway_tokens",
            "Tokens billed, by protocol and direction.",
            ["protocol", "kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "bedrockctl_gateway_cost_usd", "Estimated cost of the calls served.", registry=self.registry
        )
        self.latency = Histogram(
            "bedrockctl_gateway_request_duration_seconds",
            "Time to answer (whole stream for streams).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        started = Gauge(
            "bedrockctl_gateway_worker_start_time_seconds",
            "Start time of each live worker process (UNIX seconds; label pid under serve).",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        started.set(time.time())
        self._children: dict[tuple[Any, ...], Any] = {}
        # what ``observe`` counted since the last ``publish``
        self._requests: dict[tuple[str, str], int] = {}
        self._tokens: dict[tuple[str, str], int] = {}
        self._cost_nusd = 0
        self._latency_ms = 0
        self._bounds_ms = [round(b * 1000) for b in LATENCY_BUCKETS]  # le bounds; a latency past the last: +Inf
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self._observed = 0

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, protocol: str, status: str, latency_ms: int, usage: Any, cost_nusd: int) -> None:
        """Count one answered request (in memory; ``publish`` writes it to prometheus_client)."""
        key = (protocol, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        if usage is not None:
            if usage.input_tokens:
                key = (protocol, "input")
                self._tokens[key] = self._tokens.get(key, 0) + usage.input_tokens
            if usage.output_tokens:
                key = (protocol, "output")
                self._tokens[key] = self._tokens.get(key, 0) + usage.output_tokens
        self._cost_nusd += cost_nusd
        self._latency_ms += latency_ms
        # the bucket prometheus_client's Histogram.observe(latency_ms / 1000) picks: the first bound >= it
        self._buckets[bisect.bisect_left(self._bounds_ms, latency_ms)] += 1
        self._observed += 1

    def publish(self) -> None:
        """Add what ``observe`` counted since the last call to the metrics (one write per value that changed)."""
        if not self._observed:
            return
        requests, self._requests = self._requests, {}
        tokens, self._tokens = self._tokens, {}
        cost, self._cost_nusd = self._cost_nusd, 0
        latency_ms, self._latency_ms = self._latency_ms, 0
        buckets, self._buckets = self._buckets, [0] * len(self._buckets)
        self._observed = 0
        for (protocol, status), n in requests.items():
            self._child(self.requests, protocol, status).inc(n)
        for (protocol, kind), n in tokens.items():
            self._child(self.tokens, protocol, kind).inc(n)
        if cost:
            self.cost.inc(cost / 1e9)
        # Histogram has no call for many observations at once: its sum and bucket values, as its observe does
        self.latency._sum.inc(latency_ms / 1000)
        for i, n in enumerate(buckets):
            if n:
                self.latency._buckets[i].inc(n)

    def render(self) -> bytes:
        """The Prometheus text exposition: this process, or every worker of the run in multiprocess mode."""
        self.publish()
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client import multiprocess as mp

        if self.multiproc_dir is None:
            return generate_latest(self.registry)
        sweep_dead_workers(self.multiproc_dir)
        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry, path=self.multiproc_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def close(self) -> None:
        """This worker is exiting: its live gauges leave the scrape (its counters stay in the sums)."""
        self.publish()
        if self.multiproc_dir is not None:
            from prometheus_client import multiprocess as mp

            mp.mark_process_dead(os.getpid(), self.multiproc_dir)  # type: ignore[no-untyped-call]


def sweep_dead_workers(path: str) -> None:
    """``mark_process_dead`` for workers that died without closing (kill -9; uvicorn restarts them)."""
    from prometheus_client import multiprocess as mp

    for name in os.listdir(path):
        if not (name.startswith("gauge_live") and name.endswith(".db")):
            continue
        pid = name[: -len(".db")].rsplit("_", 1)[1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            mp.mark_process_dead(int(pid), path)  # type: ignore[no-untyped-call]
        except PermissionError:  # alive, owned by someone else
            continue


def prepare_multiprocess_dir() -> tuple[Path, bool]:
    """The directory the workers of one ``serve`` run share, emptied of an earlier run's files; and whether it is
    ours to delete afterwards (False when the operator named it in ``PROMETHEUS_MULTIPROC_DIR``)."""
    given = os.environ.get(MULTIPROC_ENV)
    if not given:
        return Path(tempfile.mkdtemp(prefix="bedrockctl-metrics-")), True
    path = Path(given)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path, False


def remove_multiprocess_dir(path: Path, owned: bool) -> None:
    if owned:
        shutil.rmtree(path, ignore_errors=True)
