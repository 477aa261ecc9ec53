"""``bedrockctl demo``: the whole product, offline, on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path

import typer

from bedrockctl.cli.output import STATE, err, out, print_json, print_table, want_json


def register(app: typer.Typer) -> None:
    @app.command(
        "demo",
        epilog="Examples:\n\n  bedrockctl demo\n\n  bedrockctl demo --no-serve --json\n\n"
        "  bedrockctl demo --port 8080 --no-browser",
    )
    def demo(
        port: int = typer.Option(0, "--port", help="Port of the sandbox endpoint (0 = any free port)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the demo keeps its store and ledger."),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving after the summary (Ctrl-C)."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
        json_out: bool = typer.Option(False, "--json", help="JSON summary."),
    ) -> None:
        """Start the sandbox with a demo estate, discover it, drive a workload, and show what bedrockctl sees."""
        from bedrockctl.services.demo import Demo

        quiet = want_json(json_out)
        runner = Demo(port=port, data_dir=data_dir, on_step=None if quiet else lambda n: err.print(f"· {n} …"))
        try:
            run = runner.run_all()
            if quiet:
                print_json(run.to_dict())
            else:
                print_table(
                    "bedrockctl demo",
                    ["step", "ok", "seconds", "detail"],
                    [
                        (s.name, "yes" if s.ok else "NO", f"{s.seconds:.1f}", s.error or _short(s.detail))
                        for s in run.steps
                    ],
                )
                out.print(f"sandbox endpoint: {run.endpoint}    data: {run.data_dir}")
            failed = [s for s in run.steps if not s.ok]
            if serve and runner.sandbox is not None and not STATE.json and not json_out:
                out.print(f"Serving the sandbox at {run.endpoint} — Ctrl-C to stop.")
                runner.sandbox.run_forever()
            if failed:
                raise typer.Exit(1)
        finally:
            runner.close()


def _short(detail: dict[str, object]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in detail.items())
    return text if len(text) < 160 else text[:157] + "…"
