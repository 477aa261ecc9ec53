"""``bedrockctl sandbox``: run the offline AWS-compatible endpoint."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command(
        "sandbox",
        epilog="Examples:\n\n  bedrockctl sandbox --seed demo\n\n"
        "  AWS_ENDPOINT_URL=http://127.0.0.1:4566 aws bedrock list-foundation-models\n\n"
        "  bedrockctl sandbox --tls self-signed --port 4567",
    )
    def sandbox(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(4566, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
        seed: str = typer.Option("demo", "--seed", help="Initial estate: demo or empty."),
        tls: str | None = typer.Option(
            None,
            "--tls",
            help="self-signed: serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN) with a certificate from the local CA that "
            "bedrockctl serve --tls self-signed uses; prints the export AWS_CA_BUNDLE line.",
        ),
    ) -> None:
        """Run the offline Bedrock sandbox: an AWS-compatible endpoint for development, tests and the demo."""
        if seed not in ("demo", "empty"):
            raise typer.BadParameter("expected demo or empty", param_hint="--seed")
        if tls not in (None, "self-signed"):
            raise typer.BadParameter("the only value is self-signed", param_hint="--tls")
        from bedrockctl.extras import require

        require("sandbox", feature="bedrockctl sandbox")
        from bedrockctl.cli.ports import check_port

        check_port(host, port)
        files = None
        if tls:
            from bedrockctl.cli.output import current
            from bedrockctl.cli.serve_cmd import _self_signed  # one local CA for the gateway and the sandbox

            files = _self_signed(current().app().settings, host)
        from bedrockctl.sandbox.server import serve_cli

        serve_cli(host=host, port=port, seed=seed, tls=files)
