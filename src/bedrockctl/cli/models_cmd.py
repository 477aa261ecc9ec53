"""``bedrockctl models``: the region x model matrix (on-demand vs profile-only, lifecycle)."""

from __future__ import annotations

from typing import Any

import typer

from bedrockctl.cli.output import Col, current, emit, print_table
from bedrockctl.cli.regions import region_option

SHORT = {"on_demand": "OD", "profile_only": "PROFILE", "provisioned_only": "PT", "listed": "listed"}
MATRIX_REGIONS = 3  # up to this many regions, one column each


def register(app: typer.Typer) -> None:
    @app.command(
        "models",
        epilog="Examples:\n\n  bedrockctl models\n\n  bedrockctl models --region eu-west-1 --provider Anthropic\n\n"
        "  bedrockctl models --all-regions --json\n\n  bedrockctl models --query 'models[].model_id' --output text",
    )
    def models(
        region: str | None = typer.Option(
            None, "--region", callback=region_option, help="One region (default: your region)."
        ),
        all_regions: bool = typer.Option(False, "--all-regions", help="Every commercial Bedrock region."),
        provider: str | None = typer.Option(None, "--provider", help="Only this provider (e.g. Anthropic)."),
    ) -> None:
        """Foundation models and inference profiles per region: on-demand (OD), profile-only, lifecycle."""
        from bedrockctl.services.inventory import models_matrix, offline_matrix, resolve_regions

        if region and all_regions:
            raise typer.BadParameter("use --region or --all-regions, not both")
        try:
            base = current().app().sessions
            default_region = region or base.region
        except Exception:  # settings/credentials unusable: still show the catalog
            base, default_region = None, region
        regions = resolve_regions("all" if all_regions else None, default_region)
        matrix = models_matrix(base, regions, provider) if base is not None else offline_matrix(regions, provider)
        emit(matrix, table=lambda m: _render(m, regions), records="models")


def _render(matrix: dict[str, Any], regions: list[str]) -> None:
    from rich.text import Text

    err = current().err
    if matrix["source"] != "live":
        err.print(Text.assemble((str(matrix["notice"]), "bold yellow"), f" (catalog as of {matrix['catalog_as_of']})"))
    title = "Models x regions" + (" (OFFLINE catalog)" if matrix["source"] != "live" else "")
    optional = [Col("provider", drop=3), Col("model"), Col("lifecycle", drop=1)]
    rows = []
    for m in matrix["models"]:
        profiles = ", ".join(sorted({p for v in m["profiles"].values() for p in v}))
        if len(regions) <= MATRIX_REGIONS:
            cells = [SHORT.get(m["availability"].get(r, ""), "-") for r in regions]
        else:  # one column per kind of availability, listing its regions (17 region columns never fit)
            cells = [", ".join(r for r in regions if m["availability"].get(r) == kind) or "-" for kind in SHORT]
        rows.append([m["provider"], m["model_id"], m["lifecycle"], *cells, profiles])
    kinds = regions if len(regions) <= MATRIX_REGIONS else [f"{short} in" for short in SHORT.values()]
    print_table(title, [*optional, *kinds, Col("profiles", drop=2)], rows)
    current().out.print("OD = on-demand, PROFILE = only through an inference profile, PT = provisioned throughput only")
    for r, e in matrix.get("errors", {}).items():
        err.print(Text(f"{r}: {e}", style="yellow"))
