"""``bedrockctl inventory list|show|diff|scans|idle``: the recorded inventory, its history and idle capacity."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import typer

from bedrockctl.cli.discover_cmd import open_store, split
from bedrockctl.cli.money import money
from bedrockctl.cli.output import Col, current, emit, print_kv, print_table
from bedrockctl.cli.regions import region_option, regions_option
from bedrockctl.errors import ResourceNotFound, ValidationFailed

LIST_COLUMNS = (
    "plugin",
    "account_id",
    "region",
    "asset_type",
    "asset_id",
    "name",
    "first_seen",
    "last_seen",
    "removed_at",
)
DIFF_COLUMNS = ("change", "at", "plugin", "account_id", "region", "asset_type", "asset_id", "name")
IDLE_COLUMNS = (
    "kind",
    "account_id",
    "region",
    "name",
    "status",
    "invocations",
    "last_invocation",
    "idle",
    "units",
    "hourly_cost_usd",
    "unpriced_reason",
)

# what a table at 80 columns keeps: ids, names and money stay (drop 0); the rest goes, highest ``drop`` first
LIST_TABLE = [
    Col("plugin", drop=5),
    Col("account_id"),
    Col("region"),
    Col("asset_type"),
    Col("asset_id"),
    Col("name"),
    Col("first_seen", drop=3),
    Col("last_seen", drop=2),
    Col("removed_at", drop=4),
]
DIFF_TABLE: list[str | Col] = [Col("change"), Col("at", drop=2), Col("plugin", drop=3), *DIFF_COLUMNS[3:]]
IDLE_TABLE = [
    Col("kind"),
    Col("account_id"),
    Col("region"),
    Col("name"),
    Col("status", drop=3),
    Col("invocations", right=True),
    Col("last_invocation", drop=2),
    Col("idle"),
    Col("units", drop=4, right=True),
    Col("hourly_cost_usd", money=True),
    Col("unpriced_reason", drop=1),
]


def _changes(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The diff as one row per change (``change`` = added, removed, changed or reappeared)."""
    return [{"change": kind, **r} for kind in ("added", "removed", "changed", "reappeared") for r in result[kind]]


def parse_since(value: str) -> datetime:
    """``7d`` / ``12h`` / ``30m`` ago, or an ISO 8601 timestamp."""
    m = re.fullmatch(r"(\d+)([dhm])", value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
        return datetime.now(UTC) - delta
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(f"--since {value!r} is neither a duration (7d, 12h) nor an ISO timestamp") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    inv = typer.Typer(help="The recorded inventory: list, show, diff, scans, idle capacity.", no_args_is_help=True)
    app.add_typer(inv, name="inventory")

    @inv.command(
        "list",
        epilog="Examples:\n\n  bedrockctl inventory list\n\n  bedrockctl inventory list --type endpoint --csv\n\n"
        "  bedrockctl inventory list --all --region eu-west-1 --json\n\n"
        "  bedrockctl inventory list --output text --query 'assets[].[asset_id,name]'",
    )
    def list_(
        asset_type: str | None = typer.Option(None, "--type", help="Only this asset type."),
        plugin: str | None = typer.Option(None, "--plugin", help="Only this plugin."),
        account: str | None = typer.Option(None, "--account", help="Only this account id."),
        region: str | None = typer.Option(None, "--region", callback=region_option, help="Only this region."),
        include_removed: bool = typer.Option(False, "--all", help="Include removed assets."),
    ) -> None:
        """List the assets of the inventory (current ones unless --all); --output json adds each asset's data."""
        cli = current()
        repo = open_store(cli.app()).inventory
        rows = repo.list_assets(
            include_removed=include_removed,
            asset_type=asset_type,
            plugin=plugin,
            account_id=account,
            region=region,
            with_data=cli.machine,
        )

        def table(_: Any) -> None:
            print_table(f"Inventory ({len(rows)} assets)", LIST_TABLE, [[r[c] for c in LIST_COLUMNS] for r in rows])

        emit({"count": len(rows), "assets": rows}, table=table, records="assets", columns=LIST_COLUMNS)

    @inv.command(
        "show",
        epilog="Examples:\n\n  bedrockctl inventory show my-endpoint\n\n  bedrockctl inventory show 4a3fe8fa --json",
    )
    def show(
        ident: str = typer.Argument(..., help="Asset id, ARN, name or key prefix."),
    ) -> None:
        """Show one asset (every match across accounts/regions) with its history."""
        rows = open_store(current().app()).inventory.get_asset(ident)
        if not rows:
            raise ResourceNotFound(f"No inventory asset matches {ident!r}")

        def table(assets: list[dict[str, Any]]) -> None:
            for r in assets:
                fields = {k: v for k, v in r.items() if k not in ("history", "data")}
                history = ", ".join(f"{h['kind']}@scan{h['scan_id']}" for h in r["history"])
                print_kv(f"{r['asset_type']} {r['asset_id']}", {**fields, "history": history})
                print_kv("data", r["data"])

        emit(rows, table=table)

    @inv.command(
        "diff",
        epilog="Examples:\n\n  bedrockctl inventory diff\n\n  bedrockctl inventory diff --since 7d --csv\n\n"
        "  bedrockctl inventory diff --since 2025-01-01T00:00:00Z --json",
    )
    def diff(
        since: str | None = typer.Option(None, "--since", help="Duration (7d, 12h) or ISO time; default: last scan."),
    ) -> None:
        """What was added, removed, changed or reappeared (in the last scan, or since a time)."""
        result = open_store(current().app()).inventory.diff(parse_since(since) if since else None)

        def table(_: Any) -> None:
            scope = f"since {result['since']}" if "since" in result else f"scan #{result.get('scan_id')}"
            rows = _changes(result)
            print_table(f"Inventory changes ({scope})", DIFF_TABLE, [[r[c] for c in DIFF_COLUMNS] for r in rows])

        emit(result, table=table, records=_changes, columns=DIFF_COLUMNS)

    @inv.command("scans", epilog="Examples:\n\n  bedrockctl inventory scans\n\n  bedrockctl inventory scans --json")
    def scans(
        limit: int = typer.Option(20, "--limit", help="How many recent scans."),
    ) -> None:
        """Recent scans with their status and per-target error counts (--output json adds each scan's errors)."""
        repo = open_store(current().app()).inventory
        rows = [{**r, "errors": repo.scan_errors(r["id"])} for r in repo.scans(limit)]
        cols = ["id", "started_at", "status", "target_count", "asset_count", "error_count", "duration_s"]
        emit(rows, table=lambda _: print_table("Scans", cols, [[r[c] for c in cols] for r in rows]), columns=cols)

    @inv.command(
        "idle",
        epilog="Examples:\n\n  bedrockctl inventory idle --days 14\n\n"
        "  bedrockctl inventory idle --regions all --accounts org --role-name Audit --external-id x --csv",
    )
    def idle(
        days: int = typer.Option(7, "--days", min=1, max=455, help="No invocations in this many days = idle."),
        regions: str | None = typer.Option(None, "--regions", callback=regions_option, help="r1,r2,... or 'all'."),
        accounts: str | None = typer.Option(None, "--accounts", help="ID,ID,... or 'org'."),
        role_name: str | None = typer.Option(None, "--role-name", help="Role to assume in other accounts."),
        external_id: str | None = typer.Option(None, "--external-id", help="External id for that role."),
        show_all: bool = typer.Option(False, "--all", help="Also list busy capacity."),
    ) -> None:
        """Provisioned throughput and SageMaker endpoints with no invocations in N days, with hourly cost."""
        from bedrockctl.services.inventory import find_idle, resolve_accounts, resolve_regions, scan_factory

        ctx = current().app()
        factory = scan_factory(ctx.sessions)
        targets = resolve_accounts(factory, split(accounts), role_name=role_name, external_id=external_id)
        rows = find_idle(targets, resolve_regions(regions, ctx.sessions.region), days)
        shown = [r for r in rows if show_all or r.get("idle") or r["kind"] == "error"]
        idle_rows = [r for r in rows if r.get("idle")]
        wasted = sum((Decimal(r["hourly_cost_usd"]) for r in idle_rows if r.get("hourly_cost_usd")), Decimal(0))
        unpriced = [r["name"] for r in idle_rows if r.get("hourly_cost_usd") is None]

        def table(_: Any) -> None:
            print_table(
                f"Idle capacity (no invocations in {days} days)",
                IDLE_TABLE,
                [[r.get(c, r.get("error")) for c in IDLE_COLUMNS] for r in shown],
            )
            line = f"Idle capacity bills ${money(wasted)} per hour"
            current().out.print(
                line + (f", plus {len(unpriced)} unpriced: {', '.join(unpriced)}." if unpriced else ".")
            )

        data = {"days": days, "idle_hourly_cost_usd": wasted, "unpriced": unpriced, "resources": shown}
        emit(data, table=table, records="resources", columns=IDLE_COLUMNS)
