"""Scanning at scale: plugins x accounts x regions x asset types, concurrently with bounded concurrency.

- one ``SessionFactory`` per account (so one client per account, region and service, shared by threads);
- every region is probed first with a short deadline and a single attempt: a dead or slow region is reported
  and skipped for every account, never hangs the scan; a region that fails mid-scan with a network error or a
  5xx trips a breaker so its remaining work is skipped too;
- throttling is absorbed by botocore's standard retry mode (the factory's ``Config``);
- the result is partial by design: assets of every target that answered, plus one error row per failed target.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from bedrockctl.aws.session import SessionFactory
from bedrockctl.plugins.base import Plugin
from bedrockctl.plugins.registry import get_plugin_class

# error codes that say "this region/service is not answering", not "this call is not allowed"
# (BRC-MOD-002 is how a read timeout translates; on a control-plane list call it means a slow region)
NETWORK_CODES = frozenset({"BRC-NET-001", "BRC-NET-002", "BRC-CAP-003", "BRC-MOD-002"})

Progress = Callable[[int, int], None]


# Allocations between two collections of the youngest generation while a scan runs (Python's default: 700). A scan
# builds about a thousand botocore clients (each tens of thousands of small objects) and keeps them: at the default
# the collector ran ~3,000 times during a 50 x 17 scan, about as much CPU as building the clients themselves
# (bench/RESULTS.md, "inventory").
SCAN_GC_THRESHOLD = 20_000


@contextmanager
def fewer_collections(threshold: int = SCAN_GC_THRESHOLD) -> Iterator[None]:
    """Raise the collector's first threshold for the duration of a scan, then put it back. Left alone when it
    is already at least ``threshold`` (set by the application, or by a scan running at the same time)."""
    old = gc.get_threshold()
    if old[0] >= threshold or old[0] == 0:  # 0: collection turned off by the application
        yield
        return
    gc.freeze()  # what exists before the scan is not traversed again by the collections it triggers
    gc.set_threshold(threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def scan_config(read_timeout: float = 10.0, connect_timeout: float = 3.0, attempts: int = 4) -> Config:
    """Short timeouts for discovery; standard retries absorb throttling."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": attempts},
        max_pool_connections=64,
    )


@dataclass
class AccountTarget:
    account_id: str
    sessions: SessionFactory | None  # None: the account could not be entered (see error)
    error_code: str | None = None
    error: str | None = None


@dataclass
class TargetResult:
    plugin: str
    account_id: str
    region: str
    asset_type: str
    ok: bool
    assets: list[dict[str, Any]] = field(default_factory=list)
    error_code: str | None = None
    error: str | None = None
    duration_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "account_id": self.account_id,
            "region": self.region,
            "asset_type": self.asset_type,
            "ok": self.ok,
            "asset_count": len(self.assets),
            "error_code": self.error_code,
            "error": self.error,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class ScanResult:
    results: list[TargetResult]
    dead_regions: dict[str, str]
    duration_s: float
    calls: int = 0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r.summary() for r in self.results if not r.ok]

    def assets(self) -> list[dict[str, Any]]:
        """Flattened asset records (the store's input)."""
        out = []
        for r in self.results:
            for a in r.assets:
                out.append(
                    {
                        "plugin": r.plugin,
                        "account_id": r.account_id,
                        "region": r.region,
                        "asset_type": r.asset_type,
                        "asset_id": str(a.get("id")),
                        "name": a.get("name"),
                        "arn": a.get("arn"),
                        "data": a,
                    }
                )
        return out


def _err(exc: BaseException) -> tuple[str, str]:
    return str(getattr(exc, "code", type(exc).__name__)), str(getattr(exc, "message", None) or exc)


class Scanner:
    def __init__(
        self,
        accounts: Sequence[AccountTarget],
        regions: Sequence[str],
        plugins: Sequence[str],
        *,
        asset_types: dict[str, Sequence[str]] | None = None,
        plugin_config: dict[str, dict[str, Any]] | None = None,
        max_workers: int = 32,
        probe_timeout: float = 5.0,
        probe_sessions: SessionFactory | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.accounts = list(accounts)
        self.regions = list(dict.fromkeys(regions))
        self.plugin_classes = {name: get_plugin_class(name) for name in plugins}
        self.asset_types = {
            name: list((asset_types or {}).get(name) or cls.default_asset_types or cls.asset_types())
            for name, cls in self.plugin_classes.items()
        }
        self.plugin_config = plugin_config or {}
        self.max_workers = max(1, max_workers)
        self.probe_timeout = probe_timeout
        self.probe_sessions = probe_sessions
        self.progress = progress
        self._dead: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- region probe ----------------------------------------------------------------------------------------
    def _probe_factory(self) -> SessionFactory | None:
        if self.probe_sessions is not None:
            return self.probe_sessions
        live = next((a.sessions for a in self.accounts if a.sessions is not None), None)
        if live is None:
            return None
        cfg = Config(
            connect_timeout=min(self.probe_timeout, 3.0),
            read_timeout=self.probe_timeout,
            retries={"mode": "standard", "max_attempts": 1},
        )
        return live.with_config(cfg)

    def _warm(self, factory: SessionFactory) -> None:
        """Build one client per service before the workers start: the process-wide data loader (SessionFactory)
        then holds the parsed models, instead of every worker parsing them at once on its first call."""
        try:
            for pname, cls in self.plugin_classes.items():
                for service in dict.fromkeys(cls.asset_specs[t].service for t in self.asset_types[pname]):
                    factory.client(service, self.regions[0])
        except Exception:  # noqa: S110 - a failure here shows up, per target, in the probe or the scan
            pass

    def probe_regions(self) -> dict[str, str]:
        """Regions that did not answer a cheap list call within ``probe_timeout`` (region -> reason)."""
        factory = self._probe_factory()
        if factory is None or not self.regions:
            return {}
        self._warm(factory)
        first = next(iter(self.plugin_classes.values()))
        spec = first.asset_specs[self.asset_types[first.name][0]]

        def probe(region: str) -> tuple[str, str | None]:
            client = factory.client(spec.service, region)
            try:
                getattr(client, spec.operation)(**_probe_params(client, spec.operation))
            except Exception as exc:
                from bedrockctl.aws.errors import translate

                code, message = _err(translate(exc, service=spec.service, region=region))
                if code in NETWORK_CODES:
                    return region, f"{code}: {message}"
            return region, None

        dead: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=min(len(self.regions), self.max_workers)) as pool:
            for region, reason in pool.map(probe, self.regions):
                if reason:
                    dead[region] = reason
        return dead

    # -- the scan --------------------------------------------------------------------------------------------
    def run(self) -> ScanResult:
        started = time.perf_counter()
        self._dead = self.probe_regions()
        results: list[TargetResult] = []
        tasks: list[tuple[AccountTarget, str, str, str]] = []
        for region in self.regions:  # region-major so one slow region does not occupy every worker at once
            for acct in self.accounts:
                for pname, types in self.asset_types.items():
                    for atype in types:
                        tasks.append((acct, region, pname, atype))
        total, done = len(tasks), 0
        plugins: dict[tuple[str, str, str], Plugin] = {}
        plugin_lock = threading.Lock()

        def plugin_for(acct: AccountTarget, region: str, pname: str) -> Plugin:
            key = (acct.account_id, region, pname)
            with plugin_lock:
                if key not in plugins:
                    cfg = {**self.plugin_config.get(pname, {}), "region": region}
                    plugins[key] = self.plugin_classes[pname](cfg, sessions=acct.sessions)
                return plugins[key]

        def run_one(acct: AccountTarget, region: str, pname: str, atype: str) -> TargetResult:
            t0 = time.perf_counter()
            res = TargetResult(pname, acct.account_id, region, atype, ok=False)
            if acct.sessions is None:
                res.error_code, res.error = acct.error_code or "BRC-CRED-006", acct.error or "account not reachable"
                return res
            with self._lock:
                dead = self._dead.get(region)
            if dead:
                res.error_code, res.error = "REGION_UNREACHABLE", f"skipped: region {region} unreachable ({dead})"
                return res
            try:
                res.assets = plugin_for(acct, region, pname).list_assets(atype)
                res.ok = True
            except Exception as exc:
                res.error_code, res.error = _err(exc)
                if res.error_code in NETWORK_CODES:
                    with self._lock:
                        self._dead.setdefault(region, f"{res.error_code}: {res.error}")
            res.duration_s = time.perf_counter() - t0
            return res

        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="discover") as pool:
            futures = [pool.submit(run_one, *t) for t in tasks]
            for fut in as_completed(futures):
                results.append(fut.result())
                done += 1
                if self.progress:
                    self.progress(done, total)
        results.sort(key=lambda r: (r.plugin, r.account_id, r.region, r.asset_type))
        return ScanResult(results=results, dead_regions=dict(self._dead), duration_s=time.perf_counter() - started)


def _probe_params(client: Any, operation: str) -> dict[str, Any]:
    """A page size of 1 when the operation takes one (keeps the probe cheap)."""
    shape = client.meta.service_model.operation_model(
        client.meta.method_to_api_mapping.get(operation, operation)
    ).input_shape
    members = shape.members if shape is not None else {}
    for name in ("maxResults", "MaxResults"):
        if name in members:
            return {name: 1}
    return {}
