"""``bedrockctl doctor``: check the whole path to Bedrock and print the fix for each failure."""

from __future__ import annotations

import os

import typer

from bedrockctl.cli.output import Col, current, emit, print_table
from bedrockctl.cli.regions import region_option
from bedrockctl.redact import redact_text
from bedrockctl.services.policy_features import parse_features

_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def register(app: typer.Typer) -> None:
    @app.command(
        "doctor",
        epilog="Examples:\n\n  bedrockctl doctor\n\n  bedrockctl doctor --model anthropic.claude-3-haiku-20240307-v1:0 "
        "--invoke\n\n  bedrockctl doctor --model all --invoke --json\n\n  bedrockctl doctor --agent-id A1B2C3D4E5 "
        "--agent-alias-id TSTALIASID\n\n  bedrockctl doctor --query \"checks[?status=='fail'].id\" --output text\n\n"
        "Exit codes: 0 all checks pass, 1 warnings, 2 failures.",
    )
    def doctor(
        profile: str | None = typer.Option(None, "--profile", help="AWS profile (overrides the global one)."),
        region: str | None = typer.Option(
            None, "--region", callback=region_option, help="Region to check (overrides the global one)."
        ),
        all_regions: bool = typer.Option(False, "--all-regions", help="Check the models in every Bedrock region."),
        model: list[str] = typer.Option(
            [],
            "--model",
            help="Model id / profile id / ARN / alias (repeatable); 'all' = the catalog models enabled in the account.",
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
    ) -> None:
        """Check credentials, region, network, permissions, models, agent, guardrail, logging and quotas."""
        from bedrockctl.services.doctor import DoctorOptions, run
        from bedrockctl.services.doctor.models import configured_model_refs

        cli = current()
        if profile:
            cli.flags["aws.profile"] = profile
        if region:
            cli.flags["aws.region"] = region
        ctx = cli.app()
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
        report = run(
            options,
            settings=ctx.settings.aws,
            configured_models=configured,
            configured_refs=refs,
            sources=ctx.settings.sources,
        )
        emit(report.to_dict(), table=lambda _: _render(report), records="checks")  # JSON schema: docs/doctor.md
        raise typer.Exit(report.exit_code)


def _render(report: object) -> None:
    from rich.text import Text

    from bedrockctl.services.doctor import Report

    assert isinstance(report, Report)
    out = current().out
    print_table(
        f"bedrockctl doctor — region {report.region}",
        [Col("status"), Col("check / target"), Col("evidence", prose=True)],
        [
            (Text(c.status.upper(), style=_STYLE[c.status]), c.id + (f"\n{c.target}" if c.target else ""), c.evidence)
            for c in report.checks
        ],
    )
    for c in report.checks:
        if c.status in ("fail", "warn") and c.remediation:
            out.print(
                Text.assemble(
                    (c.status.upper(), _STYLE[c.status]),
                    f" {c.id}{' ' + c.target if c.target else ''}: fix: {redact_text(c.remediation)}",
                )
            )
    s = report.summary
    out.print(
        f"{s['pass']} passed, {s['warn']} warnings, {s['fail']} failed, {s['skip']} skipped in {report.duration_ms} ms"
    )
