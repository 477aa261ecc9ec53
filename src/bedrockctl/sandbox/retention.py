"""Bounds on what the sandbox keeps per model call, so a long-running sandbox stays at a steady size.

Every runtime call leaves effects behind (docs/sandbox.md, "Side effects"): a CloudTrail event for
``LookupEvents``, a trail file and an invocation-log object in S3, an invocation-log event in CloudWatch Logs and
``AWS/Bedrock`` metric datapoints. AWS keeps them for months; the sandbox keeps the newest ``limit`` of each
(per account and Region, per bucket for S3 objects) and drops the oldest, counting only what the sandbox itself
wrote: objects or log events a client put are never removed.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

DEFAULT_LIMIT = 1_000  # calls' worth of each per-call effect
METRICS_PER_CALL = 6  # at most: Invocations, Input/OutputTokenCount, InvocationLatency, CacheRead/CacheWrite


class Retention:
    """The newest ``limit`` per-call effects of each kind; ``None`` keeps everything."""

    def __init__(self, limit: int | None = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.lock = threading.Lock()  # held around the writes below: moto's backends are not thread-safe
        self._objects: dict[tuple[int, str], deque[str]] = {}

    def reset(self) -> None:
        with self.lock:
            self._objects.clear()

    def trim_events(self, store: list[Any]) -> None:
        """The LookupEvents store of one account and Region (oldest first)."""
        if self.limit is not None and len(store) > self.limit:
            del store[: len(store) - self.limit]

    def object_written(self, backend: Any, bucket: str, key: str) -> None:
        """Remember an S3 object the sandbox delivered; delete the oldest such objects beyond the bound.
        Call with ``lock`` held."""
        if self.limit is None:
            return
        keys = self._objects.setdefault((id(backend), bucket), deque())
        keys.append(key)
        weak_tracking(type(backend.buckets[bucket].keys[key]))
        while len(keys) > self.limit:
            old = keys.popleft()
            if bucket in backend.buckets and old in backend.buckets[bucket].keys:
                backend.delete_object(bucket, old)

    def trim_log_stream(self, stream: Any) -> None:
        """The invocation-log stream (``aws/bedrock/modelinvocations``). Call with ``lock`` held."""
        weak_tracking(type(stream.events[-1]))
        if self.limit is not None and len(stream.events) > self.limit:
            del stream.events[: len(stream.events) - self.limit]

    def trim_metrics(self, backend: Any, namespace: str) -> None:
        """``namespace``'s datapoints in one account and Region; other namespaces are left alone. Trims in
        batches (10% over the bound) so a call does not rebuild the list. Call with ``lock`` held."""
        weak_tracking(type(backend.metric_data[-1]))
        if self.limit is None:
            return
        cap = self.limit * METRICS_PER_CALL
        data = backend.metric_data
        if len(data) <= cap + cap // 10:
            return
        ours = [i for i, d in enumerate(data) if d.namespace == namespace]
        if len(ours) <= cap:
            return
        drop = set(ours[: len(ours) - cap])
        data[:] = [d for i, d in enumerate(data) if i not in drop]


class WeakInstances:
    """Stands in for a moto model class's ``instances_tracked`` list (every instance ever made, kept for moto's
    dashboard and for S3's reset): the same ``append`` and iteration, over weak references, so an object the
    sandbox dropped (an S3 object, a log event, a metric datapoint) is freed instead of kept for ever."""

    def __init__(self) -> None:
        self._refs: list[weakref.ref[Any]] = []
        self._prune_at = 1_024

    def append(self, obj: Any) -> None:
        self._refs.append(weakref.ref(obj))
        if len(self._refs) >= self._prune_at:
            self._refs = [r for r in self._refs if r() is not None]
            self._prune_at = max(1_024, 2 * len(self._refs))

    def __iter__(self) -> Iterator[Any]:
        return (obj for obj in (r() for r in list(self._refs)) if obj is not None)

    def __len__(self) -> int:
        return sum(1 for r in self._refs if r() is not None)


def weak_tracking(cls: type) -> None:
    """Make sure ``cls`` (a moto model the sandbox just wrote an effect with) tracks its instances weakly: moto
    loads a service's models on first use, after the sandbox started."""
    tracked = cls.__dict__.get("instances_tracked")
    if tracked is not None and not isinstance(tracked, WeakInstances):
        weaken_moto_tracking()


def weaken_moto_tracking() -> None:
    """Give every moto model class loaded so far a ``WeakInstances``: at start, after moto's
    ``reset_model_data`` (which puts plain lists back) and when an effect meets a class loaded since."""
    from moto.core.model_instances import model_data

    for models in model_data.values():
        for cls in models.values():
            if not isinstance(cls.__dict__.get("instances_tracked"), WeakInstances):
                cls.instances_tracked = WeakInstances()  # type: ignore[attr-defined]
