"""``bedrockctl demo``: the whole product, offline, on the embedded sandbox."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from bedrockctl.cli.money import money
from bedrockctl.cli.output import Col, current, emit, print_table


def register(app: typer.Typer) -> None:
    @app.command(
        "demo",
        epilog="Examples:\n\n  bedrockctl demo\n\n  bedrockctl demo --no-serve --json\n\n"
        "  bedrockctl demo --port 8080 --tls-port 8443 --no-browser\n\n"
        "  bedrockctl demo --port 0 --data-dir ./demo-data\n\n"
        "  bedrockctl demo --no-serve --output text --query 'steps[].[name,ok]'",
    )
    def demo(
        port: int = typer.Option(
            8765, "--port", min=0, max=65535, help="Console port, plain HTTP on 127.0.0.1 (0 = any free port)."
        ),
        tls_port: int | None = typer.Option(
            None,
            "--tls-port",
            min=0,
            max=65535,
            help="Gateway port for clients, HTTPS with the demo's own CA (default: --port + 1; any free port when "
            "--port is 0).",
        ),
        sandbox_port: int = typer.Option(
            0, "--sandbox-port", min=0, max=65535, help="Port of the sandbox endpoint (0 = any free)."
        ),
        data_dir: Path | None = typer.Option(
            None,
            "--data-dir",
            help="Where the demo keeps its store, ledger and CA; emptied at the start of every run (a directory the "
            "demo did not make must be empty).",
        ),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Keep serving after the summary (Ctrl-C)."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    ) -> None:
        """Start the sandbox with a demo estate, discover it, drive a workload through the gateway over HTTPS, and
        show what bedrockctl sees. Each run starts from an empty demo data directory.

        With --output json (yaml, text, csv) the summary is printed in that format, then (with --serve) it serves."""
        from bedrockctl.extras import require

        require("all", feature="bedrockctl demo")
        from bedrockctl.demo.runner import Demo

        cli = current()
        err, quiet = cli.err, cli.machine
        runner = Demo(
            port=port,
            tls_port=tls_port,
            sandbox_port=sandbox_port,
            data_dir=data_dir,
            # progress on stderr; with --json only on a terminal (piped output stays pure JSON and silent)
            say=None if quiet and not err.is_terminal else lambda line: err.print(f"· {line}"),
        )
        try:
            run = runner.run_all()  # an error is reported in the chosen --output, like the result would be
            emit(run.to_dict(), table=lambda _: _render(run), records="steps")
            if serve and runner.server is not None:
                from rich.text import Text

                # the demo admin's password is shown on purpose (it only opens this local demo console)
                console = err if quiet else cli.out
                console.print(
                    Text.assemble(
                        f"Console: {run.console}  user ",
                        (str(run.login.get("user")), "bold"),
                        "  password ",
                        (str(run.login.get("password")), "bold"),
                        f"  (sandbox {run.endpoint}); Ctrl-C stops.",
                    )
                )
                if not no_browser:
                    import webbrowser

                    webbrowser.open(run.console)
                runner.server.wait()
            if any(not s.ok for s in run.steps):
                raise typer.Exit(1)
        finally:
            runner.close()


def _render(run: Any) -> None:
    out = current().out
    print_table(
        "bedrockctl demo",
        ["step", "ok", "seconds", "what happened"],
        [
            (s.name, "skipped" if s.skipped else ("yes" if s.ok else "NO"), f"{s.seconds:.1f}", s.error or _what(s))
            for s in run.steps
        ],
    )
    summary = run.summary
    wl = summary.get("workload")
    if wl:
        rows: list[tuple[str, Any]] = [("calls answered", wl["calls"])]
        rows += [(f"  via {p}", n) for p, n in sorted(wl["by_protocol"].items())]
        rows += [(f"expected: {code}", n) for code, n in sorted(wl["expected"].items())]
        rows += [("failed over to another Region", wl.get("failed_over", 0))]
        rows += [(f"UNEXPECTED: {code}", n) for code, n in sorted(wl["errors"].items())] or [("unexpected errors", 0)]
        print_table("Workload through the gateway (HTTPS)", ["figure", Col("count", right=True)], rows)
    if summary.get("users"):
        print_table(
            f"Spend by user (total ${money(summary.get('total_cost_usd'))})",
            ["user", Col("invocations", right=True), Col("cost USD", money=True)],
            [(u["user"], u["invocations"], u["cost_usd"]) for u in summary["users"]],
        )
        if any(Decimal(str(u["cost_usd"])) == 0 for u in summary["users"]):
            out.print(
                "  $0 rows: calls CloudTrail saw without an invocation-log record (here the throttled attempts of "
                "the gateway's own sandbox identity, which it failed over)."
            )
    if summary.get("teams"):
        print_table(
            "Spend by team",
            ["team", Col("invocations", right=True), Col("cost USD", money=True)],
            [(t["team"] or "(no team tag)", t["invocations"], t["cost_usd"]) for t in summary["teams"]],
        )
    doc = summary.get("doctor")
    if doc:
        rows = [(k, v) for k, v in doc["summary"].items()] + [("not passing", n) for n in doc["not_passing"]]
        print_table("Doctor (us-east-1)", ["result", "checks"], rows)
    out.print(f"sandbox:  {run.endpoint}")
    out.print(f"console:  {run.console}   gateway: {run.gateway}")
    out.print(f"data:     {run.data_dir} (emptied at the start of this run)")
    if run.ca_cert:
        out.print(f"CA:       export AWS_CA_BUNDLE={run.ca_cert}   (clients of {run.gateway} trust it)")
    from bedrockctl.demo.runner import scan_args

    out.print(
        f"scan:     AWS_ENDPOINT_URL={run.endpoint} AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 bedrockctl {' '.join(scan_args())}"
    )


def _what(step: Any) -> str:
    """One readable line of figures per step (the full detail is in --json)."""
    d = step.detail
    lines = {
        "sandbox": lambda: f"{d['endpoint']}, ready in {d['ready_seconds']} s",
        "gateway": lambda: f"console {d['console']}, gateway {d['gateway']} (HTTPS, local CA)",
        "discover": lambda: (
            f"{len(d['accounts'])} accounts, {d['targets']} targets, {d['assets']} assets, {d['errors']} errors"
        ),
        "workload": lambda: (
            f"{d['calls']} calls answered, {d['refused_by_budget']} refused by the dev budget (expected), "
            f"{d.get('failed_over', 0)} failed over, {sum(d['errors'].values())} unexpected errors"
        ),
        "ingest": lambda: (
            f"{d['records']} records, {d['new_invocations']} new invocations, {d['trail_events']} CloudTrail events, "
            f"{d['bad']} bad"
        ),
        "report": lambda: f"{d['users']} users, {d['teams']} teams, total ${money(d['total_cost_usd'])}",
        "doctor": lambda: ", ".join(f"{k} {v}" for k, v in d.items()),
    }
    return lines[step.name]() if step.name in lines else ""
