"""``bedrockctl policy``: print a least-privilege IAM policy for the features you use."""

from __future__ import annotations

import sys
from typing import Any

import typer

from bedrockctl.cli.output import current, emit
from bedrockctl.cli.regions import region_option
from bedrockctl.services.policy import build_policy, parse_tags
from bedrockctl.services.policy_features import FEATURE_NAMES
from bedrockctl.services.policy_guards import InvokeGuards


def _account(account: str | None) -> str | None:
    if account:
        return account
    try:
        return current().app().sessions.identity().account
    except Exception:  # no credentials: the policy still prints, with '*' for the account
        return None


def register(app: typer.Typer) -> None:
    @app.command(
        "policy",
        epilog="Examples:\n\n  bedrockctl policy --features invoke,discover --model "
        "anthropic.claude-3-haiku-20240307-v1:0"
        "\n\n  bedrockctl policy --features invoke --model us.anthropic.claude-sonnet-4-5-20250929-v1:0 "
        "--source-cidr 10.0.0.0/8 --explain\n\n  bedrockctl policy --features usage,budgets --json > policy.json"
        "\n\n  bedrockctl policy --features invoke --query 'policy.Statement[].Sid' --output text"
        "\n\n  bedrockctl policy --features invoke --model us.amazon.nova-lite-v1:0 --require-guardrail "
        "arn:aws:bedrock:us-east-1:123456789012:guardrail/abc123def456:1 --bearer-token-type short-term "
        "--profile-region us-east-1",
    )
    def policy(
        features: str = typer.Option(
            "discover,invoke", "--features", help=f"Comma-separated: {','.join(FEATURE_NAMES)}."
        ),
        model: list[str] = typer.Option(
            [], "--model", help="Model id, inference profile id, ARN or alias (repeatable)."
        ),
        region: str | None = typer.Option(
            None, "--region", callback=region_option, help="Region of the ARNs (default: the configured one)."
        ),
        account: str | None = typer.Option(None, "--account", help="Account id of the ARNs (default: the caller's)."),
        agent_id: list[str] = typer.Option([], "--agent-id", help="Restrict agents to these agent ids (repeatable)."),
        require_tag: list[str] = typer.Option(
            [], "--require-tag", help="KEY=VALUE: require the principal tag (aws:PrincipalTag/KEY)."
        ),
        source_cidr: list[str] = typer.Option([], "--source-cidr", help="Require aws:SourceIp in this CIDR."),
        vpc_endpoint: list[str] = typer.Option([], "--vpc-endpoint", help="Require aws:SourceVpce (vpce-...)."),
        require_guardrail: str | None = typer.Option(
            None,
            "--require-guardrail",
            help="Guardrail ARN:VERSION every model call must apply (bedrock:GuardrailIdentifier; others denied).",
        ),
        bearer_token_type: list[str] = typer.Option(
            [],
            "--bearer-token-type",
            help="Allow Bedrock API keys of this type: short-term, long-term (repeatable), or none to deny them all "
            "(bedrock:bearerTokenType).",
        ),
        profile_region: list[str] = typer.Option(
            [],
            "--profile-region",
            help="Allow calls through inference profiles in this Region only (repeatable; InferenceProfileArn).",
        ),
        explain: bool = typer.Option(False, "--explain", help="Say why each statement and resource is there."),
    ) -> None:
        """Print a least-privilege IAM policy document (stdout) for the features asked for."""
        chosen_region = region or current().flags.get("aws.region") or _configured_region()
        result = build_policy(
            features,
            models=model,
            region=chosen_region,
            account_id=_account(account),
            agent_ids=agent_id,
            require_tags=parse_tags(require_tag),
            source_cidrs=source_cidr,
            vpc_endpoints=vpc_endpoint,
            guards=InvokeGuards.parse(require_guardrail, bearer_token_type, profile_region),
        )
        data = {"policy": result.document, "explain": result.explain(), "warnings": result.warnings}
        emit(data, table=lambda _: _render(result, explain))


def _render(result: Any, explain: bool) -> None:
    """The policy document itself on stdout (ready to paste); the explanation and warnings on stderr."""
    from rich.text import Text

    err = current().err
    sys.stdout.write(result.to_json() + "\n")
    if explain:
        for stmt in result.statements:
            err.print(Text.assemble((stmt.sid, "bold"), f": {stmt.reason}"))
            for arn, why in stmt.resource_reasons.items():
                err.print(f"  {arn}: {why}")
            if stmt.condition:
                err.print(f"  conditions: {stmt.condition}")
    for warning in result.warnings:
        err.print(Text.assemble(("warning", "yellow"), f" {warning}"))


def _configured_region() -> str | None:
    try:
        return current().app().sessions.region  # type: ignore[no-any-return]
    except Exception:
        return None
