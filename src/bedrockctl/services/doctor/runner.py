"""``run(...) -> Report``: the credential phase first, then every independent check concurrently (thread pool),
with an overall deadline so a hanging endpoint can never hang the doctor."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

from bedrockctl.aws.session import SessionFactory
from bedrockctl.catalog import bedrock_regions
from bedrockctl.runtime.resolve import canonical_model_id
from bedrockctl.services.doctor import (
    access,
    credentials,
    enabled,
    models,
    network,
    network_dns,
    permissions,
    quotas,
    region,
    resources,
)
from bedrockctl.services.doctor.model import Check, DoctorOptions, Facts, Report, Resolver, Timer, system_resolver
from bedrockctl.settings import AwsSettings

Task = tuple[str, Callable[[], list[Check]]]


def doctor_config(options: DoctorOptions) -> Config:
    """Short timeouts and a single retry: the doctor reports, it does not insist."""
    return Config(
        connect_timeout=options.network_timeout,
        read_timeout=max(10.0, options.network_timeout * 3),
        retries={"mode": "standard", "total_max_attempts": 2},
    )


def make_sessions(
    options: DoctorOptions, settings: AwsSettings | None = None, env: Mapping[str, str] | None = None
) -> SessionFactory:
    base = dataclasses.replace(settings) if settings is not None else AwsSettings()
    if options.region:
        base.region = options.region
    base.connect_timeout = options.network_timeout
    base.read_timeout = max(10.0, options.network_timeout * 3)
    base.retry_attempts = 2
    return SessionFactory(base, config=doctor_config(options), env=dict(env) if env is not None else None)


def run(
    options: DoctorOptions | None = None,
    *,
    sessions: SessionFactory | None = None,
    settings: AwsSettings | None = None,
    resolver: Resolver | None = None,
    env: Mapping[str, str] | None = None,
    configured_models: Sequence[str] = (),
    configured_refs: Sequence[tuple[str, str]] = (),
    sources: Mapping[str, str] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Report:
    """Run the doctor. ``sessions`` (else one built from ``settings`` with short timeouts), ``resolver`` (DNS,
    injectable for tests), ``configured_models`` (what ``--model all`` adds to the catalog models enabled in the
    account), ``configured_refs`` ((where, model) pairs from the configuration, checked for end of life),
    ``sources`` (where each setting came from: ``Settings.sources``), ``now`` (the clock the age checks read)."""
    options = options or DoctorOptions()
    started_at = datetime.now(UTC)
    timer = Timer()
    sessions = sessions or make_sessions(options, settings, env)
    try:
        chosen_region = options.region or sessions.region
    except Exception:
        chosen_region = options.region
    facts = Facts(
        sessions=sessions,
        options=options,
        region=chosen_region,
        resolver=resolver or system_resolver,
        env=env if env is not None else os.environ,
        sources=dict(sources or {}),
        now=now or (lambda: datetime.now(UTC)),
    )
    checks = credentials.credential_phase(facts)
    checks.append(region.region_set_check(facts))
    checks.extend(_run_concurrently(_tasks(facts, list(configured_models)), options))
    checks.extend(models.end_of_life_checks(configured_refs, region=facts.region))
    identity = None
    if facts.identity is not None:
        identity = {
            "account": facts.identity.account,
            "arn": facts.identity.arn,
            "principal_type": facts.identity.principal_type,
        }
    return Report(checks=checks, region=facts.region, started_at=started_at, duration_ms=timer.ms(), identity=identity)


def _tasks(facts: Facts, configured_models: list[str]) -> list[Task]:
    opts = facts.options
    tasks: list[Task] = [
        ("region.bedrock", lambda: [region.region_bedrock_check(facts)]),
        ("region.sts", lambda: [region.region_sts_check(facts)]),
        ("network.endpoint", lambda: [network.endpoint_check(facts)]),
        ("network.proxy", lambda: [network.proxy_check(facts)]),
        ("network.dns", lambda: network_dns.dns_checks(facts)),
    ]
    for service in network.services(facts):
        tasks.append((f"network.reach[{service}]", functools.partial(_one, network.reach_check, facts, service)))
    tasks.append(("permissions", lambda: permissions.permission_checks(facts)))
    tasks.append(("access", lambda: access.access_checks(facts)))
    wanted = [canonical_model_id(m) for m in opts.models if m != "all"]  # aliases: the one resolver
    if "all" in opts.models:
        found, how = enabled.models_enabled(facts)
        tasks.append(("models.all", lambda: [how]))
        wanted = list(dict.fromkeys([*wanted, *map(canonical_model_id, configured_models), *found]))
    regions = list(bedrock_regions()) if opts.all_regions else [facts.region]
    for reg in regions:
        rfacts = facts if reg == facts.region else dataclasses.replace(facts, region=reg)
        if reg != facts.region:
            tasks.append((f"region.bedrock[{reg}]", functools.partial(_one, region.region_bedrock_check, rfacts)))
        for m in wanted:
            tasks.append((f"models[{m}@{reg}]", functools.partial(models.model_checks, rfacts, m)))
    for m in wanted:
        tasks.append((f"quotas[{m}]", functools.partial(_one, quotas.quota_check, facts, m)))
    if opts.agent_id:
        tasks.append(("agent", lambda: resources.agent_checks(facts)))
    if opts.guardrail_id:
        tasks.append(("guardrail", lambda: [resources.guardrail_check(facts)]))
    tasks.append(("observability", lambda: resources.observability_checks(facts)))
    return tasks


def _one(fn: Callable[..., Check], *args: Any) -> list[Check]:
    return [fn(*args)]


def _timed(fn: Callable[[], list[Check]]) -> list[Check]:
    timer = Timer()
    checks = fn()
    elapsed = timer.ms()
    for check in checks:
        check.duration_ms = check.duration_ms or elapsed
    return checks


def _run_concurrently(tasks: list[Task], options: DoctorOptions) -> list[Check]:
    pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="doctor")
    futures: list[tuple[str, Future[list[Check]]]] = [(name, pool.submit(_timed, fn)) for name, fn in tasks]
    done, _ = wait([f for _, f in futures], timeout=options.deadline)
    out: list[Check] = []
    for name, fut in futures:
        base_id = name.split("[", 1)[0]
        target = name.split("[", 1)[1].rstrip("]") if "[" in name else None
        if fut not in done:
            fut.cancel()
            out.append(
                Check(
                    base_id,
                    "Check did not finish",
                    "high",
                    "fail",
                    f"No result within the {options.deadline:.0f}s deadline.",
                    "Check network reachability (network.reach) and retry with --timeout.",
                    target=target,
                )
            )
            continue
        exc = fut.exception()
        if exc is not None:
            out.append(
                Check(
                    base_id,
                    "Check crashed",
                    "medium",
                    "fail",
                    f"{type(exc).__name__}: {exc}",
                    "Re-run with --verbose and report it.",
                    target=target,
                )
            )
            continue
        out.extend(fut.result())
    pool.shutdown(wait=False, cancel_futures=True)
    return out
