"""What an application inference profile ARN stands for: ``GetInferenceProfile`` and its tags, cached.

Application inference profiles are how AWS recommends allocating Bedrock cost, and their ARN is what callers send
as ``modelId`` and what invocation logs record. Pricing, budgets and reports need the foundation model behind it
(``models[].modelArn``), the Region it was created in (the ARN's) and its cost-allocation tags
(``ListTagsForResource``). ``ProfileResolver.resolve(arn)`` asks Bedrock once per ARN and TTL (profiles change
rarely; a deleted profile is remembered as unknown for the same TTL) and never raises: a profile it cannot read
resolves to ``None`` with the reason in ``failures`` (shown as the "unpriced" reason).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bedrockctl.aws.errors import aws_call
from bedrockctl.errors import BedrockctlError

DEFAULT_TTL_SECONDS = 3600.0
MAX_CACHED_PROFILES = 4096  # profiles (and failures) remembered per resolver; the oldest is dropped past it


@dataclass(frozen=True)
class ResolvedProfile:
    arn: str
    region: str  # where the profile was created (the ARN's Region)
    model_ids: tuple[str, ...]  # foundation models it routes to, first = the one it was created from
    model_regions: tuple[str, ...]  # Regions of those foundation-model ARNs
    status: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return self.model_ids[0]

    @property
    def cross_region(self) -> bool:
        return len(set(self.model_regions)) > 1

    @property
    def global_routing(self) -> bool:
        """Routes across geographies (copied from a ``global.`` profile): priced at the global rate."""
        return len({r.split("-", 1)[0] for r in self.model_regions}) > 1


class ProfileResolver:
    """``client_for(region) -> bedrock client`` (the session factory's), ``ttl`` seconds, ``clock`` (monotonic)."""

    def __init__(
        self,
        client_for: Callable[[str], Any],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_CACHED_PROFILES,
    ) -> None:
        self._client_for = client_for
        self.max_entries = max_entries  # bound of the cache and of ``failures`` (ARNs come from callers)
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, ResolvedProfile | None]] = {}
        self._lock = threading.Lock()
        self.failures: dict[str, str] = {}

    def resolve(self, arn: str) -> ResolvedProfile | None:
        now = self._clock()
        with self._lock:
            hit = self._cache.get(arn)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        resolved = self._fetch(arn)
        with self._lock:
            self._cache.pop(arn, None)
            if len(self._cache) >= self.max_entries:  # the oldest entry goes (dicts keep insertion order)
                del self._cache[next(iter(self._cache))]
            self._cache[arn] = (now, resolved)
            while len(self.failures) > self.max_entries:
                del self.failures[next(iter(self.failures))]
        return resolved

    def _fetch(self, arn: str) -> ResolvedProfile | None:
        parts = arn.split(":")
        if len(parts) < 6 or ":application-inference-profile/" not in arn:
            self.failures[arn] = "not an application inference profile ARN"
            return None
        region = parts[3]
        try:
            client = self._client_for(region)
            got = aws_call(client.get_inference_profile, inferenceProfileIdentifier=arn, service="bedrock")
            tags_raw = aws_call(client.list_tags_for_resource, resourceARN=arn, service="bedrock").get("tags", [])
        except BedrockctlError as exc:
            self.failures[arn] = f"{exc.code}: {exc.message}"
            return None
        model_arns = [str(m.get("modelArn", "")) for m in got.get("models", []) if m.get("modelArn")]
        model_ids = tuple(a.rsplit("/", 1)[-1] for a in model_arns)
        if not model_ids:
            self.failures[arn] = "the profile lists no model"
            return None
        self.failures.pop(arn, None)
        return ResolvedProfile(
            arn=arn,
            region=region,
            model_ids=model_ids,
            model_regions=tuple(a.split(":")[3] for a in model_arns),
            status=str(got.get("status", "")),
            tags={str(t["key"]): str(t["value"]) for t in tags_raw if "key" in t},
        )
