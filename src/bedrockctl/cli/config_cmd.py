"""``bedrockctl config``: show the effective configuration and where each value came from."""

from __future__ import annotations

import typer

from bedrockctl.cli.output import STATE, print_json, print_table, want_json

config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@config_app.command("show", epilog="Examples:\n\n  bedrockctl config show\n\n  bedrockctl config show --json")
def show(json_out: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """Every setting, its value (secrets masked) and its source (flag, env, file, ssm, default)."""
    from bedrockctl.config import describe_sources

    ctx = STATE.context()
    rows = describe_sources(ctx.settings)
    if want_json(json_out):
        print_json(
            {
                "config_file": str(ctx.settings.config_file) if ctx.settings.config_file else None,
                "settings": rows,
            }
        )
    else:
        print_table(
            "Effective configuration",
            ["key", "value", "source"],
            [(k, v["value"], v["source"]) for k, v in rows.items()],
        )


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
