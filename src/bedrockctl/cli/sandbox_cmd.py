"""``bedrockctl sandbox``: run the offline AWS-compatible endpoint."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command(
        "sandbox",
        epilog="Examples:\n\n  bedrockctl sandbox --seed demo\n\n"
        "  AWS_ENDPOINT_URL=http://127.0.0.1:4566 aws bedrock list-foundation-models",
    )
    def sandbox(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(4566, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
        seed: str = typer.Option("demo", "--seed", help="Initial estate: demo or empty."),
    ) -> None:
        """Run the offline Bedrock sandbox: an AWS-compatible endpoint for development, tests and the demo."""
        if seed not in ("demo", "empty"):
            raise typer.BadParameter("expected demo or empty", param_hint="--seed")
        from bedrockctl.extras import require

        require("sandbox", feature="bedrockctl sandbox")
        from bedrockctl.cli.ports import check_port

        check_port(host, port)
        from bedrockctl.sandbox.server import serve_cli

        serve_cli(host=host, port=port, seed=seed)
