"""``bedrockctl doctor``: check the whole path to Bedrock and print the fix for each failure."""

from __future__ import annotations

import os

import typer

from bedrockctl.cli.output import STATE, out, print_json, want_json
from bedrockctl.services.policy import parse_features

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def register(app: typer.Typer) -> None:
    @app.command(
        "doctor",
        epilog="Examples:\n\n  bedrockctl doctor\n\n  bedrockctl doctor --model anthropic.claude-3-haiku-20240307-v1:0 "
        "--invoke\n\n  bedrockctl doctor --model all --invoke --json\n\n  bedrockctl doctor --agent-id A1B2C3D4E5 "
        "--agent-alias-id TSTALIASID\n\nExit codes: 0 all checks pass, 1 warnings, 2 failures.",
    )
    def doctor(
        profile: str | None = typer.Option(None, "--profile", help="AWS profile (overrides the global one)."),
        region: str | None = typer.Option(None, "--region", help="Region to check (overrides the global one)."),
        all_regions: bool = typer.Option(False, "--all-regions", help="Check the models in every Bedrock region."),
        model: list[str] = typer.Option(
            [], "--model", help="Model id / profile id / ARN (repeatable); 'all' = every model you use."
        ),
        agent_id: str | None = typer.Option(None, "--agent-id", help="Agent to check."),
        agent_alias_id: str | None = typer.Option(None, "--agent-alias-id", help="Agent alias to check."),
        guardrail_id: str | None = typer.Option(None, "--guardrail-id", help="Guardrail to check."),
        guardrail_version: str | None = typer.Option(None, "--guardrail-version", help="Guardrail version."),
        invoke: bool = typer.Option(False, "--invoke", help="Call each model with a 1-token Converse."),
        features: str = typer.Option(
            "discover,invoke",
            "--features",
            help="Permissions to check: discover,invoke,agents,usage,budgets,sagemaker.",
        ),
        timeout: float = typer.Option(3.0, "--timeout", help="Network timeout per connection (seconds)."),
        json_out: bool = typer.Option(False, "--json", help="JSON output (schema in docs/doctor.md)."),
    ) -> None:
        """Check credentials, region, network, permissions, models, agent, guardrail, logging and quotas."""
        from bedrockctl.services.doctor import DoctorOptions, run
        from bedrockctl.services.doctor.models import configured_model_refs

        if profile:
            STATE.flags["aws.profile"] = profile
        if region:
            STATE.flags["aws.region"] = region
        ctx = STATE.context()
        feats = parse_features(features)
        options = DoctorOptions(
            region=region or ctx.settings.aws.region,
            all_regions=all_regions,
            models=list(model) or ([ctx.settings.defaults.model] if ctx.settings.defaults.model else []),
            agent_id=agent_id or (ctx.settings.defaults.agent_id if agent_alias_id else None),
            agent_alias_id=agent_alias_id,
            guardrail_id=guardrail_id,
            guardrail_version=guardrail_version,
            invoke=invoke,
            features=feats,
            sagemaker="sagemaker" in feats,
            network_timeout=timeout,
            deadline=max(30.0, timeout * 10),
        )
        configured = [
            m
            for env in ctx.settings.environments.values()
            for m in [*env.allowed_models, *([env.default_model] if env.default_model else [])]
        ]
        if ctx.settings.defaults.model:
            configured.insert(0, ctx.settings.defaults.model)
        refs = configured_model_refs(ctx.settings, os.environ)
        report = run(options, settings=ctx.settings.aws, configured_models=configured, configured_refs=refs)
        if want_json(json_out):
            print_json(report.to_dict())
        else:
            _render(report)
        raise typer.Exit(report.exit_code)


def _render(report: object) -> None:
    from rich.markup import escape
    from rich.table import Table

    from bedrockctl.redact import redact_text
    from bedrockctl.services.doctor import Report

    assert isinstance(report, Report)
    table = Table(title=f"bedrockctl doctor — region {report.region}", title_justify="left", show_lines=False)
    for col in ("status", "check", "target", "evidence"):
        table.add_column(col, overflow="fold")
    for c in report.checks:
        table.add_row(
            f"[{_STYLE[c.status]}]{c.status.upper()}[/]", c.id, escape(c.target or ""), escape(redact_text(c.evidence))
        )
    out.print(table)
    for c in report.checks:
        if c.status in ("fail", "warn") and c.remediation:
            out.print(
                f"[{_STYLE[c.status]}]{c.status.upper()}[/] {c.id}{' ' + escape(c.target) if c.target else ''}: "
                f"fix: {escape(redact_text(c.remediation))}",
                markup=True,
                highlight=False,
            )
    s = report.summary
    out.print(
        f"{s['pass']} passed, {s['warn']} warnings, {s['fail']} failed, {s['skip']} skipped in {report.duration_ms} ms"
    )
