"""Inventory use cases: discover (scan + snapshot), idle capacity that bills by the hour, the region x model matrix.

Interfaces (CLI, console) call these with an ``AppContext``-provided ``SessionFactory`` and ``Store``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from bedrockctl.aws.errors import aws_errors
from bedrockctl.aws.regions import region_problem
from bedrockctl.aws.session import SessionFactory
from bedrockctl.catalog import load_catalog
from bedrockctl.catalog.lifecycle import today
from bedrockctl.errors import BedrockctlError, OrganizationNotInUse, ValidationFailed
from bedrockctl.plugins.aws_bedrock import AwsBedrockPlugin
from bedrockctl.plugins.aws_sagemaker import AwsSageMakerPlugin
from bedrockctl.plugins.scan import AccountTarget, Progress, Scanner, ScanResult, fewer_collections, scan_config
from bedrockctl.pricing import PriceBook
from bedrockctl.pricing.hourly import HourlyRate, InstancePrices, Unpriced, commitment_of, provisioned_rate

log = logging.getLogger("bedrockctl.inventory")

DEFAULT_PLUGINS = ("aws_bedrock", "aws_sagemaker")


# -- targets ------------------------------------------------------------------------------------------------
def resolve_regions(spec: str | Sequence[str] | None, default: str | None) -> list[str]:
    """``None`` -> the configured region; ``all`` -> every commercial Bedrock region of the catalog."""
    if spec is None or spec == "" or spec == []:
        return [default or "us-east-1"]
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [s.strip() for s in items if s.strip()]
    if items == ["all"]:
        return [r.region for r in load_catalog().regions if r.partition == "aws"]
    return list(dict.fromkeys(items))


def usable_regions(regions: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """``regions`` split by the one Region rule (``aws.regions``): those to scan, and the others with the reason
    each is skipped (unknown, or without Amazon Bedrock). Decided from botocore's data: no network call."""
    skipped = {r: problem for r in regions if (problem := region_problem(r)) is not None}
    return [r for r in regions if r not in skipped], skipped


def resolve_accounts(
    base: SessionFactory,
    spec: str | Sequence[str] | None,
    *,
    role_name: str | None = None,
    external_id: str | None = None,
    session_name: str = "bedrockctl-discover",
    max_workers: int = 16,
) -> list[AccountTarget]:
    """``None``: the caller's account. ``org``: every ACTIVE account of the AWS Organization. Else ids. Accounts
    other than the caller's are entered by assuming ``role_name`` (with ``external_id``) in each."""
    own = base.identity().account
    if spec is None or spec == "" or spec == []:
        return [AccountTarget(own, base)]
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    ids = [s.strip() for s in items if s.strip()]
    if ids == ["org"]:
        ids = organization_accounts(base)
    others = [i for i in ids if i != own]
    if others and not role_name:
        raise ValidationFailed(
            "Scanning other accounts needs --role-name (the role to assume in each account)",
            remediation="Pass --role-name OrganizationAccountAccessRole (or your audit role) and --external-id.",
        )
    partition = base.identity().arn.split(":")[1]
    parent = base.pinned()  # every account's AssumeRole comes from one resolved session

    def enter(account: str) -> AccountTarget:
        if account == own:
            return AccountTarget(account, base)
        factory = parent.for_role(
            f"arn:{partition}:iam::{account}:role/{role_name}", external_id=external_id, session_name=session_name
        )
        try:
            factory.session()  # assume now: a refused role is reported per account, not per call
        except BedrockctlError as exc:
            return AccountTarget(account, None, exc.code, exc.message)
        return AccountTarget(account, factory)

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        return list(pool.map(enter, list(dict.fromkeys(ids))))


def organization_accounts(base: SessionFactory) -> list[str]:
    """The ACTIVE accounts of the caller's AWS Organization; ``OrganizationNotInUse`` (BRC-RES-003) when the account
    belongs to none (AWS says so on DescribeOrganization; an organization always lists at least its management
    account, so an empty list means the same)."""
    client = base.client("organizations")
    with aws_errors(service="organizations", operation="DescribeOrganization"):
        client.describe_organization()
    ids: list[str] = []
    with aws_errors(service="organizations", operation="ListAccounts"):
        for page in client.get_paginator("list_accounts").paginate():
            ids.extend(a["Id"] for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    if not ids:
        raise OrganizationNotInUse("the AWS Organization lists no active account (--accounts org)")
    return ids


def scan_factory(base: SessionFactory, *, read_timeout: float = 10.0) -> SessionFactory:
    """A factory with the base credentials and discovery's short timeouts."""
    return base.with_config(scan_config(read_timeout))


# -- discover -----------------------------------------------------------------------------------------------
def discover(
    base: SessionFactory,
    *,
    plugins: Sequence[str] = DEFAULT_PLUGINS,
    regions: str | Sequence[str] | None = None,
    accounts: str | Sequence[str] | None = None,
    role_name: str | None = None,
    external_id: str | None = None,
    asset_types: dict[str, Sequence[str]] | None = None,
    plugin_config: dict[str, dict[str, Any]] | None = None,
    store: Any = None,
    max_workers: int = 64,  # measured: bench/RESULTS.md, "inventory"
    probe_timeout: float = 5.0,
    read_timeout: float = 10.0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Scan, then (with a ``Store``) record the snapshot. Returns the report (assets, errors, dead regions)."""
    factory = scan_factory(base, read_timeout=read_timeout)
    region_list, skipped = usable_regions(resolve_regions(regions, base.region))
    with fewer_collections():
        targets = resolve_accounts(
            factory, accounts, role_name=role_name, external_id=external_id, max_workers=min(16, max_workers)
        )
        scanner = Scanner(
            targets,
            region_list,
            plugins,
            asset_types=asset_types,
            plugin_config=plugin_config,
            max_workers=max_workers,
            probe_timeout=probe_timeout,
            progress=progress,
        )
        result = scanner.run()
    return {**report(result, targets, region_list, list(plugins), store), "skipped_regions": skipped}


def report(
    result: ScanResult, targets: Sequence[AccountTarget], regions: list[str], plugins: list[str], store: Any
) -> dict[str, Any]:
    assets = result.assets()
    by_type: dict[str, int] = {}
    for a in assets:
        k = f"{a['plugin']}:{a['asset_type']}"
        by_type[k] = by_type.get(k, 0) + 1
    out: dict[str, Any] = {
        "accounts": [t.account_id for t in targets],
        "regions": regions,
        "plugins": plugins,
        "targets": len(result.results),
        "targets_ok": sum(1 for r in result.results if r.ok),
        "asset_count": len(assets),
        "assets_by_type": dict(sorted(by_type.items())),
        "dead_regions": result.dead_regions,
        "errors": result.errors,
        "duration_s": round(result.duration_s, 3),
        "assets": assets,
    }
    if store is not None:
        repo = store.inventory
        scan_id = repo.begin_scan(plugins, regions, out["accounts"])
        out["snapshot"] = repo.finish_scan(
            scan_id, assets, [r.summary() for r in result.results], duration_s=result.duration_s
        )
    return out


# -- idle capacity --------------------------------------------------------------------------------------------
def _priced(rate: HourlyRate | Unpriced, units: int) -> dict[str, Any]:
    """The price columns of one idle-capacity row: exact cost per hour with its source, or why it is unpriced."""
    if isinstance(rate, Unpriced):
        return {
            "hourly_cost_usd": None,
            "usd_per_unit_hour": None,
            "price_source": None,
            "unpriced_reason": rate.reason,
        }
    return {
        "hourly_cost_usd": str(rate.times(units)),
        "usd_per_unit_hour": str(rate.usd_per_hour),
        "price_source": f"{rate.source} (as of {rate.as_of.isoformat()})",
        "unpriced_reason": None,
    }


def _endpoint_rate(instances: InstancePrices, variants: Sequence[dict[str, Any]], region: str) -> dict[str, Any]:
    """Sum of the variants' instance-hours; unpriced as a whole when any variant has no rate."""
    if not variants:
        return _priced(Unpriced("the endpoint has no production variants"), 0)
    total = Decimal(0)
    sources: set[str] = set()
    for v in variants:
        rate = instances.rate(None if v.get("serverless") else v.get("instance_type"), region)
        if isinstance(rate, Unpriced):
            return _priced(rate, 0)
        total += rate.times(int(v.get("instance_count") or 0))
        sources.add(f"{rate.source} (as of {rate.as_of.isoformat()})")
    return {
        "hourly_cost_usd": str(total),
        "usd_per_unit_hour": None,
        "price_source": "; ".join(sorted(sources)),
        "unpriced_reason": None,
    }


def find_idle(
    targets: Sequence[AccountTarget],
    regions: Sequence[str],
    days: int = 7,
    *,
    prices: PriceBook | None = None,
    instances: InstancePrices | None = None,
) -> list[dict[str, Any]]:
    """Provisioned throughput and InService SageMaker endpoints with no invocations in ``days`` days, each with
    its exact hourly cost from the price book (or ``unpriced_reason``)."""
    book = prices if prices is not None else PriceBook.load()
    hosting = instances if instances is not None else InstancePrices.load()

    def scan(target: AccountTarget, region: str) -> list[dict[str, Any]]:
        if target.sessions is None:
            return []
        rows: list[dict[str, Any]] = []
        br = AwsBedrockPlugin({"region": region}, sessions=target.sessions)
        for pt in br.list_assets("provisioned_throughput"):
            count, last = br.get_invocation_metric([pt["arn"], pt["name"], pt["id"]], days)
            units = int(pt["model_units"] or 0)
            rate = provisioned_rate(
                book, pt.get("foundation_model_arn") or pt.get("model_arn"), pt.get("commitment_duration")
            )
            rows.append(
                {
                    "kind": "provisioned_throughput",
                    "account_id": target.account_id,
                    "region": region,
                    "id": pt["arn"],
                    "name": pt["name"],
                    "status": pt["status"],
                    "invocations": int(count),
                    "last_invocation": last,
                    "idle": count == 0 and pt["status"] == "InService",
                    "units": units,
                    "commitment": commitment_of(pt.get("commitment_duration")) or pt.get("commitment_duration"),
                    **_priced(rate, units),
                }
            )
        sm = AwsSageMakerPlugin({"region": region}, sessions=target.sessions)
        for ep in sm.list_assets("endpoint"):
            metrics = sm.get_endpoint_invocation_metrics(ep["name"], days, variants=[v["name"] for v in ep["variants"]])
            rows.append(
                {
                    "kind": "sagemaker_endpoint",
                    "account_id": target.account_id,
                    "region": region,
                    "id": ep["arn"],
                    "name": ep["name"],
                    "status": ep["status"],
                    "invocations": metrics["invocations"],
                    "last_invocation": metrics["last_invocation"],
                    "idle": metrics["invocations"] == 0 and ep["status"] == "InService",
                    "units": ep["instance_count"],
                    "commitment": None,
                    **_endpoint_rate(hosting, ep["variants"], region),
                }
            )
        return rows

    jobs = [(t, r) for t in targets for r in regions]
    out: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        for rows in pool.map(lambda j: _safe(scan, *j), jobs):
            out.extend(rows)
    return out


def _safe(fn: Any, target: AccountTarget, region: str) -> list[dict[str, Any]]:
    try:
        return list(fn(target, region))
    except Exception as exc:
        code = getattr(exc, "code", type(exc).__name__)
        return [{"kind": "error", "account_id": target.account_id, "region": region, "error": f"{code}: {exc}"}]


# -- models: the region x model matrix ------------------------------------------------------------------------
def _availability(types: Sequence[str]) -> str:
    if "ON_DEMAND" in types:
        return "on_demand"
    if "INFERENCE_PROFILE" in types:
        return "profile_only"
    return "provisioned_only" if "PROVISIONED" in types else "listed"


def models_matrix(base: SessionFactory, regions: Sequence[str], provider: str | None = None) -> dict[str, Any]:
    """Foundation models x regions (on_demand / profile_only / provisioned_only) with lifecycle and the inference
    profiles callable per region. Falls back to the packaged catalog (marked ``offline_catalog``) when no
    credentials work."""
    from bedrockctl.errors import CredentialsError, EndpointUnreachable

    factory = scan_factory(base, read_timeout=15.0)

    def live(region: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]], str | None]:
        try:
            plugin = AwsBedrockPlugin({"region": region}, sessions=factory)
            models = plugin.list_assets("model")
            profiles = [p for p in plugin.list_assets("inference_profile") if p["profile_type"] == "SYSTEM_DEFINED"]
            return region, models, profiles, None
        except (CredentialsError, EndpointUnreachable) as exc:
            return region, [], [], f"offline:{exc.code}: {exc.message}"
        except BedrockctlError as exc:
            return region, [], [], f"{exc.code}: {exc.message}"

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(regions)))) as pool:
        answers = list(pool.map(live, regions))
    if all(err and err.startswith("offline:") for _, _, _, err in answers):
        out = offline_matrix(regions, provider)
        out["reason"] = answers[0][3][len("offline:") :] if answers and answers[0][3] else "no credentials"
        return out
    rows: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for region, models, profiles, err in answers:
        if err:
            errors[region] = err
            continue
        for m in models:
            if provider and (m["provider"] or "").lower() != provider.lower():
                continue
            row = rows.setdefault(
                m["id"],
                {
                    "model_id": m["id"],
                    "name": m["name"],
                    "provider": m["provider"],
                    "lifecycle": m["lifecycle_status"],
                    "streaming": m["streaming_supported"],
                    "availability": {},
                    "profiles": {},
                },
            )
            row["availability"][region] = _availability(m["inference_types"])
        for p in profiles:
            for arn in p["models"]:
                model_id = arn.rsplit("/", 1)[-1]
                if model_id in rows:
                    rows[model_id]["profiles"].setdefault(region, [])
                    if p["id"] not in rows[model_id]["profiles"][region]:
                        rows[model_id]["profiles"][region].append(p["id"])
    return {"source": "live", "regions": list(regions), "errors": errors, "models": sorted(rows.values(), key=_order)}


def offline_matrix(regions: Sequence[str], provider: str | None = None) -> dict[str, Any]:
    cat = load_catalog()
    rows = []
    for m in cat.models:
        if provider and m.provider.lower() != provider.lower():
            continue
        if not m.offered_on(today()) and not m.end_of_life_exempt_regions:
            continue  # past end-of-life everywhere: not offered for new calls
        offered = [r for r in regions if m.available_in(r) and m.offered_on(today(), r)]
        avail = {r: _availability(m.inference_types_in(r)) for r in offered}
        profiles = {r: [p.profile_id for p in cat.profiles_for(m.model_id) if r in p.regions] for r in regions}
        rows.append(
            {
                "model_id": m.model_id,
                "name": m.model_name,
                "provider": m.provider,
                "lifecycle": m.lifecycle,
                "streaming": m.response_streaming,
                "availability": avail,
                "profiles": {r: v for r, v in profiles.items() if v},
            }
        )
    return {
        "source": "offline_catalog",
        "offline": True,
        "notice": "OFFLINE FALLBACK: no AWS credentials worked; this is the packaged catalog, not your account.",
        "catalog_as_of": cat.as_of.isoformat(),
        "catalog_source": list(cat.source),
        "regions": list(regions),
        "errors": {},
        "models": sorted(rows, key=_order),
    }


def _order(row: dict[str, Any]) -> tuple[str, str]:
    return (str(row["provider"]).lower(), str(row["model_id"]))
