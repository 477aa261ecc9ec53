"""``bedrockctl whoami``: identity, credential source, region, expiry."""

from __future__ import annotations

import typer

from bedrockctl.cli.output import current, emit, print_kv


def register(app: typer.Typer) -> None:
    @app.command(
        "whoami",
        epilog="Examples:\n\n  bedrockctl whoami\n\n  bedrockctl --profile dev whoami --json\n\n"
        "  bedrockctl whoami --query account --output text",
    )
    def whoami() -> None:
        """Show who you are to AWS: account, ARN, which credential source won, region and expiry."""
        info = current().app().sessions.whoami()
        emit(info, table=lambda data: print_kv("AWS identity", data))
