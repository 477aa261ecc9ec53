"""``bedrockctl whoami``: identity, credential source, region, expiry."""

from __future__ import annotations

import typer

from bedrockctl.cli.output import STATE, print_json, print_kv, want_json


def register(app: typer.Typer) -> None:
    @app.command(
        "whoami",
        epilog="Examples:\n\n  bedrockctl whoami\n\n  bedrockctl --profile dev whoami --json",
    )
    def whoami(json_out: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
        """Show who you are to AWS: account, ARN, which credential source won, region and expiry."""
        ctx = STATE.context()
        info = ctx.sessions.whoami()
        if want_json(json_out):
            print_json(info)
        else:
            print_kv("AWS identity", info)
