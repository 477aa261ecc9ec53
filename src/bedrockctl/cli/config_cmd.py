"""``bedrockctl config``: show the effective configuration and where each value came from."""

from __future__ import annotations

from typing import Any

import typer

from bedrockctl.cli.output import current, emit, print_table

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@config_app.command(
    "show",
    epilog="Examples:\n\n  bedrockctl config show\n\n  bedrockctl config show --json\n\n"
    "  bedrockctl config show --query 'settings.\"aws.region\".source' --output text",
)
def show() -> None:
    """Every setting, its value (secrets masked) and its source (flag, env, file, ssm, default)."""
    from bedrockctl.config import describe_sources

    ctx = current().app()
    rows = describe_sources(ctx.settings)
    data = {"config_file": str(ctx.settings.config_file) if ctx.settings.config_file else None, "settings": rows}

    def table(_: Any) -> None:
        print_table(
            "Effective configuration",
            ["key", "value", "source"],
            [(k, v["value"], v["source"]) for k, v in rows.items()],
        )

    emit(data, table=table, records=lambda d: [{"key": k, **v} for k, v in d["settings"].items()])


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
