"""``bedrockctl keys create|list|revoke``: gateway keys, shown once and stored hashed."""

from __future__ import annotations

from typing import Any

import typer

from bedrockctl.cli.output import Col, current, emit, print_kv, print_table

keys_app = typer.Typer(help="Gateway keys (bound to a user, a team and an environment).", no_args_is_help=True)


def _duration(value: str | None) -> float | None:
    if not value:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if value[-1] in units and value[:-1].isdigit():
        return int(value[:-1]) * units[value[-1]]
    raise typer.BadParameter(f"{value!r} is not a duration such as 90d, 12h or 30m")


@keys_app.command("create")
def create(
    user: str = typer.Option(..., "--user", help="The person or service the key belongs to."),
    team: str = typer.Option(..., "--team", help="The team billed for it."),
    environment: str | None = typer.Option(None, "--env", help="Environment (default: gateway.default_environment)."),
    name: str = typer.Option("", "--name", help="A label."),
    models: list[str] = typer.Option([], "--model", help="Allowed model (repeat); default: the environment's."),
    expires: str | None = typer.Option(None, "--expires", help="Lifetime such as 90d, 12h."),
    rpm: int | None = typer.Option(None, "--rpm", help="Requests per minute."),
    rph: int | None = typer.Option(None, "--rph", help="Requests per hour."),
    rpd: int | None = typer.Option(None, "--rpd", help="Requests per day."),
    tpm: int | None = typer.Option(None, "--tpm", help="Tokens per minute."),
    tph: int | None = typer.Option(None, "--tph", help="Tokens per hour."),
    tpd: int | None = typer.Option(None, "--tpd", help="Tokens per day."),
    monthly: float | None = typer.Option(None, "--monthly-budget", help="Key budget per month, USD."),
    daily: float | None = typer.Option(None, "--daily-budget", help="Key budget per day, USD."),
    guardrail_id: str | None = typer.Option(
        None, "--guardrail-id", help="Guardrail applied to the key's requests (beats its user's, team's, env's)."
    ),
    guardrail_version: str | None = typer.Option(None, "--guardrail-version", help="Its version (default DRAFT)."),
    for_client: str | None = typer.Option(
        None, "--for", help="Also print a ready client configuration: claude-code (settings.json and env lines)."
    ),
    gateway_url: str = typer.Option(
        "http://127.0.0.1:8080", "--gateway-url", help="The gateway's URL as clients reach it (with --for)."
    ),
    max_output_tokens: int | None = typer.Option(
        None, "--max-output-tokens", help="CLAUDE_CODE_MAX_OUTPUT_TOKENS (default: the model's, at most 8192)."
    ),
    ca_file: str | None = typer.Option(
        None, "--ca-file", help="CA bundle clients must trust (serve --tls self-signed prints it)."
    ),
) -> None:
    """Create a key. The token and the secret access key are shown once and never stored.

    Example: bedrockctl keys create --user ana --team ml --env prod --model haiku --rpm 60 --expires 90d

    Example: TOKEN=$(bedrockctl keys create --user ci --team ml --query token --output text)

    Example: bedrockctl keys create --user ana --team ml --for claude-code --gateway-url https://gw.example:8443
    --model us.anthropic.claude-sonnet-4-5-20250929-v1:0 --model us.anthropic.claude-haiku-4-5-20251001-v1:0
    --query claude_code --output json > ~/.claude/settings.json
    """
    from bedrockctl.services import gateway_admin

    limits = {
        k: v
        for k, v in {
            "rpm": rpm,
            "rph": rph,
            "rpd": rpd,
            "tpm": tpm,
            "tph": tph,
            "tpd": tpd,
            "monthly_budget_usd": monthly,
            "daily_budget_usd": daily,
        }.items()
        if v is not None
    }
    client_settings = None
    if for_client is not None:
        if for_client != "claude-code":
            raise typer.BadParameter(f"{for_client!r}: the only client is claude-code", param_hint="--for")
        from bedrockctl.services import claude_code

        ctx = current().app()
        region = str(current().flags.get("aws.region") or ctx.sessions.region or "us-east-1")
        allowed = list(models) or gateway_admin.environment_models(ctx.settings, environment)

        def client_settings(token: str) -> dict[str, Any]:
            return claude_code.settings_for(
                token,
                gateway_url=gateway_url,
                region=region,
                allowed=allowed,
                max_tokens=max_output_tokens,
                ca_file=ca_file,
            )

        client_settings("")  # refuse before a key is created that Claude Code could not use
    created = gateway_admin.create_key(
        current().app().settings,
        user=user,
        team=team,
        environment=environment,
        name=name,
        allowed_models=list(models),
        limits=limits,
        expires_in=_duration(expires),
        guardrail_id=guardrail_id,
        guardrail_version=guardrail_version,
    )
    if client_settings is not None:
        from bedrockctl.services.claude_code import env_lines

        created["claude_code"] = client_settings(str(created["token"]))
        created["claude_code_env"] = env_lines(created["claude_code"])
    # output redacts secrets; this is the one place they must be shown (once)
    emit(created, table=_created_table, reveal=(*SHOWN_ONCE, "claude_code", "claude_code_env"))


SHOWN_ONCE = ("token", "aws_secret_access_key")


def _created_table(created: dict[str, Any]) -> None:
    out = current().out
    hidden = (*SHOWN_ONCE, "claude_code", "claude_code_env")
    print_kv(f"Gateway key {created['key_id']}", {k: v for k, v in created.items() if k not in hidden})
    out.print("Shown once, store them now:")
    out.print(f"  token (Bearer / OpenAI api_key / AWS_BEARER_TOKEN_BEDROCK): {created['token']}")
    out.print(f"  aws_access_key_id:     {created['aws_access_key_id']}")
    out.print(f"  aws_secret_access_key: {created['aws_secret_access_key']}")
    if "claude_code" in created:
        from rich.text import Text

        from bedrockctl.services.claude_code import settings_json

        out.print("Claude Code: save as ~/.claude/settings.json (or .claude/settings.json in a project):")
        out.print(Text(settings_json(created["claude_code"])))
        out.print("or set in the shell:")
        for line in created["claude_code_env"]:
            out.print(Text(line))


@keys_app.command("list")
def list_keys(
    all_keys: bool = typer.Option(False, "--all", help="Include revoked and expired keys."),
) -> None:
    """List keys (never their secrets). Example: bedrockctl keys list --all --json"""
    from bedrockctl.services import gateway_admin

    recs = [r.public() for r in gateway_admin.list_keys(current().app().settings, include_inactive=all_keys)]
    emit(recs, table=_list_table)


def _list_table(recs: list[dict[str, Any]]) -> None:
    print_table(
        "Gateway keys",
        [
            "key id",
            "name",
            "user",
            "team",
            "env",
            Col("models", drop=3),
            Col("limits", drop=2),
            Col("expires", drop=1),
            "state",
        ],
        [
            (
                r["key_id"],
                r["name"],
                r["user"],
                r["team"],
                r["environment"],
                ",".join(r["allowed_models"]) or "*",
                ",".join(f"{k}={v:g}" for k, v in r["limits"].items()) or "-",
                r["expires_at"] or "never",
                r["state"],
            )
            for r in recs
        ],
    )


@keys_app.command("revoke", epilog="Example:\n\n  bedrockctl keys revoke BGKABCDEFGHIJKLMNOPQ")
def revoke(
    key_id: str = typer.Argument(..., help="The key id (BGK...)."),
) -> None:
    """Revoke a key; every gateway worker refuses it within gateway.key_cache_ttl seconds."""
    from bedrockctl.services import gateway_admin

    rec = gateway_admin.revoke_key(current().app().settings, key_id).public()
    line = f"revoked {rec['key_id']} ({rec['user']}, team {rec['team']}) at {rec['revoked_at']}"
    emit(rec, line=line)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
