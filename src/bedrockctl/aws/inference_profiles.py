"""What an application inference profile ARN or a prompt-router ARN stands for, cached.

Application inference profiles are how AWS recommends allocating Bedrock cost, and their ARN is what callers send
as ``modelId`` and what invocation logs record. Pricing, budgets and reports need the foundation model behind it
(``models[].modelArn``), the Region it was created in (the ARN's) and its cost-allocation tags
(``ListTagsForResource``). ``ProfileResolver.resolve(arn)`` asks Bedrock once per ARN and TTL (profiles change
rarely; a deleted profile is remembered as unknown for the same TTL) and never raises: a profile it cannot read
resolves to ``None`` with the reason in ``failures`` (shown as the "unpriced" reason).

Prompt routers (``default-prompt-router/<family>:1`` and custom ``prompt-router/<id>`` ARNs) resolve the same way,
by ``GetPromptRouter``: ``model_ids`` are the models the router may send a call to (``model_arns`` their ARNs as
the router lists them: inference-profile or foundation-model ARNs), ``fallback`` the fallback model's ARN. Which
one served a call is only known afterwards (``trace.promptRouter.invokedModelId``), so a price before the call
must assume the dearest of them.
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
    kind: str = "application-inference-profile"  # or "prompt-router"
    model_arns: tuple[str, ...] = ()
    fallback: str | None = None  # a prompt router's fallback model ARN

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
        if len(parts) >= 6 and is_router_arn(arn):
            return self._fetch_router(arn, parts[3])
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

    def _fetch_router(self, arn: str, region: str) -> ResolvedProfile | None:
        try:
            got = aws_call(self._client_for(region).get_prompt_router, promptRouterArn=arn, service="bedrock")
        except BedrockctlError as exc:
            self.failures[arn] = f"{exc.code}: {exc.message}"
            return None
        model_arns = tuple(str(m.get("modelArn", "")) for m in got.get("models", []) if m.get("modelArn"))
        if not model_arns:
            self.failures[arn] = "the prompt router lists no model"
            return None
        self.failures.pop(arn, None)
        return ResolvedProfile(
            arn=arn,
            region=region,
            model_ids=tuple(a.rsplit("/", 1)[-1] for a in model_arns),
            model_regions=tuple(a.split(":")[3] or region for a in model_arns),
            status=str(got.get("status", "")),
            kind="prompt-router",
            model_arns=model_arns,
            fallback=str((got.get("fallbackModel") or {}).get("modelArn") or "") or None,
        )


def is_router_arn(model: str) -> bool:
    """A default or custom prompt-router ARN."""
    return model.startswith("arn:") and (":default-prompt-router/" in model or ":prompt-router/" in model)
