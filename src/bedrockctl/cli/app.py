"""The ``bedrockctl`` command tree: global options, and the table of commands (each module is imported only when
its command runs or shows its help, so ``--help`` stays fast). The console script is ``main.py``."""

from __future__ import annotations

import typer

from bedrockctl import __version__
from bedrockctl.cli.lazy import Lazy, lazy_group
from bedrockctl.cli.regions import region_option

COMMANDS: dict[str, Lazy] = {
    "demo": Lazy("demo_cmd", "Start the sandbox with a demo estate, discover it, drive a workload through the ..."),
    "whoami": Lazy("whoami", "Show who you are to AWS: account, ARN, which credential source won, region and ..."),
    "doctor": Lazy("doctor_cmd", "Check credentials, region, network, permissions, models, agent, guardrail, ..."),
    "policy": Lazy("policy_cmd", "Print a least-privilege IAM policy document (stdout) for the features asked for."),
    "discover": Lazy("discover_cmd", "Discover Bedrock and SageMaker assets across accounts and regions; record a ..."),
    "inventory": Lazy("inventory_cmd", "The recorded inventory: list, show, diff, scans, idle capacity."),
    "models": Lazy("models_cmd", "Foundation models and inference profiles per region: on-demand (OD), ..."),
    "invoke": Lazy("invoke_cmd", "Call a model once through Converse (failover, guardrails, cache, usage record ..."),
    "chat": Lazy("invoke_cmd", "Interactive chat with history; /model switches model, /usage shows tokens and ..."),
    "agent": Lazy("invoke_cmd", "Invoke a Bedrock agent: streamed answer, session id (to continue), optional traces."),
    "usage": Lazy("usage_cmd", "Usage analytics: ingest logs and CloudTrail, report by model, user, day, tag."),
    "cost": Lazy("cost_cmd", "Estimated cost from ingested usage and the price catalog."),
    "budget": Lazy("budget_cmd", "Environment budgets: month-to-date status and AWS Budgets sync."),
    "pricing": Lazy("pricing_cmd", "The Bedrock price catalog (per 1,000 tokens, USD)."),
    "serve": Lazy("serve_cmd", "Run the gateway: Bedrock-native and OpenAI-compatible routes with keys, budgets, ..."),
    "audit": Lazy("serve_cmd", "The gateway's audit trail: one append-only record per request."),
    "jobs": Lazy("jobs_cmd", "The scheduled jobs of serve (discovery, ingest, budgets): schedule, runs (start, ..."),
    "keys": Lazy("keys_cmd", "Gateway keys (bound to a user, a team and an environment)."),
    "users": Lazy("users_cmd", "Web console users (local accounts; roles admin and member)."),
    "config": Lazy("config_cmd", "Inspect the effective configuration."),
    "sandbox": Lazy("sandbox_cmd", "Run the offline Bedrock sandbox: an AWS-compatible endpoint for development, ..."),
}

app = typer.Typer(
    name="bedrockctl",
    cls=lazy_group(COMMANDS),
    help="The control plane around Amazon Bedrock: access, inventory, usage, cost and budgets.\n\n"
    "Example: bedrockctl --region us-east-1 --output table whoami\n\n"
    "Every command takes --output table|json|yaml|text|csv and --query (JMESPath); exit codes in docs/cli.md.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # the root help is plain text: no rich import for --help
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bedrockctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    profile: str | None = typer.Option(None, "--profile", help="AWS profile to use (overrides AWS_PROFILE)."),
    region: str | None = typer.Option(
        None, "--region", callback=region_option, help="AWS region (overrides AWS_REGION)."
    ),
    config: str | None = typer.Option(None, "--config", help="Path to a bedrockctl.toml config file."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logs and tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options apply to every command."""
    from bedrockctl.cli.context import CliContext

    cli = ctx.ensure_object(CliContext)
    cli.flags = {"aws.profile": profile, "aws.region": region}
    cli.config_path = config
    cli.verbose = verbose
