"""``bedrockctl models``: the region x model matrix (on-demand vs profile-only, lifecycle)."""

from __future__ import annotations

import typer

from bedrockctl.cli.output import STATE, err, out, print_json, print_table, want_json

SHORT = {"on_demand": "OD", "profile_only": "PROFILE", "provisioned_only": "PT", "listed": "listed"}


def register(app: typer.Typer) -> None:
    @app.command(
        "models",
        epilog="Examples:\n\n  bedrockctl models\n\n  bedrockctl models --region eu-west-1 --provider Anthropic\n\n"
        "  bedrockctl models --all-regions --json",
    )
    def models(
        region: str | None = typer.Option(None, "--region", help="One region (default: your region)."),
        all_regions: bool = typer.Option(False, "--all-regions", help="Every commercial Bedrock region."),
        provider: str | None = typer.Option(None, "--provider", help="Only this provider (e.g. Anthropic)."),
        json_out: bool = typer.Option(False, "--json", help="JSON output."),
    ) -> None:
        """Foundation models and inference profiles per region: on-demand (OD), profile-only, lifecycle."""
        from bedrockctl.services.inventory import models_matrix, offline_matrix, resolve_regions

        if region and all_regions:
            raise typer.BadParameter("use --region or --all-regions, not both")
        try:
            ctx = STATE.context()
            base = ctx.sessions
            default_region = region or base.region
        except Exception:  # settings/credentials unusable: still show the catalog
            base, default_region = None, region
        regions = resolve_regions("all" if all_regions else None, default_region)
        matrix = models_matrix(base, regions, provider) if base is not None else offline_matrix(regions, provider)
        if want_json(json_out):
            print_json(matrix)
            return
        if matrix["source"] != "live":
            err.print(f"[bold yellow]{matrix['notice']}[/] (catalog as of {matrix['catalog_as_of']})")
        rows = []
        for m in matrix["models"]:
            cells = [SHORT.get(m["availability"].get(r, ""), "-") for r in regions]
            profiles = sorted({p for v in m["profiles"].values() for p in v})
            rows.append([m["provider"], m["model_id"], m["lifecycle"], *cells, ", ".join(profiles)])
        title = "Models x regions" + (" (OFFLINE catalog)" if matrix["source"] != "live" else "")
        print_table(title, ["provider", "model", "lifecycle", *regions, "profiles"], rows)
        out.print("OD = on-demand, PROFILE = only through an inference profile, PT = provisioned throughput only")
        for r, e in matrix.get("errors", {}).items():
            err.print(f"[yellow]{r}: {e}[/]")
