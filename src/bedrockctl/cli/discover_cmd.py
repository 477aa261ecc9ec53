"""``bedrockctl discover``: scan plugins x accounts x regions x asset types into the inventory store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from bedrockctl.cli.output import Col, current, emit, print_table

ASSET_CSV_COLUMNS = ("plugin", "account_id", "region", "asset_type", "asset_id", "name", "arn")


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on a TTY (stderr), nothing when piped or with --json."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=current().err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def open_store(ctx: Any) -> Any:
    from bedrockctl.paths import default_store_url
    from bedrockctl.store import Store
    from bedrockctl.store.gateway import store_schema

    return Store(default_store_url(ctx.settings), schema=store_schema(ctx.settings))


def register(app: typer.Typer) -> None:
    @app.command(
        "discover",
        epilog="Examples:\n\n  bedrockctl discover\n\n  bedrockctl discover --regions all --json\n\n"
        "  bedrockctl discover --accounts org --regions us-east-1,eu-west-1 --role-name OrganizationAccountAccessRole"
        " --external-id audit-123\n\n  bedrockctl discover --plugins aws_bedrock --asset-types model,guardrail --csv",
    )
    def discover(
        plugins: str = typer.Option("aws_bedrock,aws_sagemaker", "--plugins", help="Comma-separated plugin names."),
        regions: str | None = typer.Option(None, "--regions", help="r1,r2,... or 'all' (default: your region)."),
        accounts: str | None = typer.Option(None, "--accounts", help="ID,ID,... or 'org' (default: yours)."),
        role_name: str | None = typer.Option(None, "--role-name", help="Role to assume in each other account."),
        external_id: str | None = typer.Option(None, "--external-id", help="External id for that role."),
        asset_types: str | None = typer.Option(None, "--asset-types", help="Limit to these asset types."),
        log_group: str | None = typer.Option(None, "--log-group", help="Bedrock invocation log group (usage)."),
        max_workers: int = typer.Option(64, "--max-workers", min=1, max=256, help="Concurrent calls."),
        probe_timeout: float = typer.Option(5.0, "--probe-timeout", help="Seconds before a region counts as dead."),
        no_store: bool = typer.Option(False, "--no-store", help="Do not record the snapshot."),
    ) -> None:
        """Discover Bedrock and SageMaker assets across accounts and regions; record a snapshot.

        --output json includes every asset; --output text and csv print one asset per line."""
        from bedrockctl.plugins.registry import get_plugin_class
        from bedrockctl.services.inventory import discover as run_discover

        cli = current()
        ctx = cli.app()
        names = split(plugins) or []
        types = split(asset_types)
        per_plugin: dict[str, Sequence[str]] | None = None
        if types:
            per_plugin = {n: [t for t in types if t in get_plugin_class(n).asset_specs] for n in names}
            names = [n for n in names if per_plugin[n]]
        config = {"aws_bedrock": {"cloudwatch_log_group": log_group}} if log_group else None
        store = None if no_store else open_store(ctx)
        with progress_bar("discovering", not cli.machine) as progress:
            rep = run_discover(
                ctx.sessions,
                plugins=names,
                regions=regions,
                accounts=accounts,
                role_name=role_name,
                external_id=external_id,
                asset_types=per_plugin,
                plugin_config=config,
                store=store,
                max_workers=max_workers,
                probe_timeout=probe_timeout,
                progress=progress,
            )
        for region, reason in rep["skipped_regions"].items():
            cli.err.print(f"skipped region {region}: {reason} (BRC-REG-001)")
        emit(rep, table=render, records="assets", columns=ASSET_CSV_COLUMNS)
        if rep["targets_ok"] == 0 and (rep["targets"] or rep["skipped_regions"]):
            raise typer.Exit(1)


def render(rep: dict[str, Any]) -> None:
    out = current().out
    out.print(
        f"Scanned {len(rep['accounts'])} account(s) x {len(rep['regions'])} region(s): {rep['asset_count']} assets, "
        f"{rep['targets_ok']}/{rep['targets']} targets ok in {rep['duration_s']:.1f}s"
    )
    print_table("Assets by type", ["plugin:asset_type", "count"], sorted(rep["assets_by_type"].items()))
    snap = rep.get("snapshot")
    if snap:
        out.print(
            f"Snapshot #{snap['scan_id']} ({snap['status']}): +{snap['added']} added, -{snap['removed']} removed, "
            f"~{snap['changed']} changed, {snap['reappeared']} reappeared"
        )
    if rep["dead_regions"]:
        print_table("Unreachable regions (skipped)", ["region", "reason"], sorted(rep["dead_regions"].items()))
    errors = [e for e in rep["errors"] if e["error_code"] != "REGION_UNREACHABLE"]
    if errors:
        print_table(
            "Errors",
            ["account", "region", Col("plugin", drop=1), "asset_type", "code", "error"],
            [(e["account_id"], e["region"], e["plugin"], e["asset_type"], e["error_code"], e["error"]) for e in errors],
        )
