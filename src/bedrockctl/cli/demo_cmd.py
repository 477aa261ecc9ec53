"""``bedrockctl demo``: the whole product, offline, on the embedded sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from bedrockctl.cli.output import err, out, print_json, print_table, want_json


def register(app: typer.Typer) -> None:
    @app.command(
        "demo",
        epilog="Examples:\n\n  bedrockctl demo\n\n  bedrockctl demo --no-serve --json\n\n"
        "  bedrockctl demo --port 8080 --no-browser",
    )
    def demo(
        port: int = typer.Option(8765, "--port", help="Port of the gateway and console (0 = any free port)."),
        sandbox_port: int = typer.Option(0, "--sandbox-port", help="Port of the sandbox endpoint (0 = any free)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the demo keeps its store and ledger."),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving after the summary (Ctrl-C)."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
        json_out: bool = typer.Option(False, "--json", help="JSON summary on stdout (with --serve, then serve)."),
    ) -> None:
        """Start the sandbox with a demo estate, discover it, drive a workload, and show what bedrockctl sees."""
        from bedrockctl.extras import require

        require("all", feature="bedrockctl demo")
        from bedrockctl.services.demo import Demo

        quiet = want_json(json_out)
        runner = Demo(
            port=port,
            sandbox_port=sandbox_port,
            data_dir=data_dir,
            on_step=None if quiet else lambda n: err.print(f"· {n} …"),
        )
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
                _summary(run.summary)
                out.print(f"sandbox endpoint: {run.endpoint}    gateway: {run.console}    data: {run.data_dir}")
            failed = [s for s in run.steps if not s.ok]
            if serve and runner.server is not None:
                # the demo admin's password is shown on purpose (it only opens this local demo console)
                console = err if quiet else out
                console.print(
                    f"Console: {run.console}  user [bold]{run.login.get('user')}[/]  password "
                    f"[bold]{run.login.get('password')}[/]  (sandbox {run.endpoint}); Ctrl-C stops."
                )
                if not no_browser:
                    import webbrowser

                    webbrowser.open(run.console)
                runner.server.wait()
            if failed:
                raise typer.Exit(1)
        finally:
            runner.close()


def _summary(summary: dict[str, Any]) -> None:
    wl = summary.get("workload") or {}
    if wl:
        out.print(
            f"workload: {wl.get('calls')} calls through the gateway, {wl.get('refused_by_budget')} refused by the dev "
            f"budget, errors {wl.get('errors') or 'none'}; by protocol {wl.get('by_protocol')}"
        )
    if summary.get("top_users"):
        print_table(
            f"Top spenders (total ${summary.get('total_cost_usd')})",
            ["user", "invocations", "cost USD"],
            [(u["user"], u["invocations"], u["cost_usd"]) for u in summary["top_users"]],
        )
    if summary.get("teams"):
        print_table(
            "Teams",
            ["team", "invocations", "cost USD"],
            [(t["team"], t["invocations"], t["cost_usd"]) for t in summary["teams"]],
        )
    doc = summary.get("doctor")
    if doc:
        out.print(f"doctor: {doc['summary']}; not passing: {', '.join(doc['not_passing']) or 'none'}")


def _short(detail: dict[str, object]) -> str:
    text = ", ".join(f"{k}={v}" for k, v in detail.items())
    return text if len(text) < 160 else text[:157] + "…"
