"""The ``bedrockctl`` command line."""

from __future__ import annotations

import sys

import click
import typer

from bedrockctl import __version__
from bedrockctl.cli.output import STATE, report_error

app = typer.Typer(
    name="bedrockctl",
    help="The control plane around Amazon Bedrock: access, inventory, usage, cost and budgets.\n\n"
    "Example: bedrockctl --region us-east-1 whoami --json",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bedrockctl {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    profile: str | None = typer.Option(None, "--profile", help="AWS profile to use (overrides AWS_PROFILE)."),
    region: str | None = typer.Option(None, "--region", help="AWS region (overrides AWS_REGION)."),
    config: str | None = typer.Option(None, "--config", help="Path to a bedrockctl.toml config file."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logs and tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Global options apply to every command."""
    STATE.flags = {"aws.profile": profile, "aws.region": region}
    STATE.config_path = config
    STATE.json = json_out
    STATE.verbose = verbose
    STATE._ctx = None


def _register() -> None:
    from bedrockctl.cli import (
        budget_cmd,
        config_cmd,
        cost_cmd,
        demo_cmd,
        discover_cmd,
        doctor_cmd,
        inventory_cmd,
        invoke_cmd,
        keys_cmd,
        models_cmd,
        policy_cmd,
        pricing_cmd,
        sandbox_cmd,
        serve_cmd,
        usage_cmd,
        users_cmd,
        whoami,
    )

    demo_cmd.register(app)
    whoami.register(app)
    doctor_cmd.register(app)
    policy_cmd.register(app)
    discover_cmd.register(app)
    inventory_cmd.register(app)
    models_cmd.register(app)
    usage_cmd.register(app)
    cost_cmd.register(app)
    budget_cmd.register(app)
    pricing_cmd.register(app)
    serve_cmd.register(app)
    keys_cmd.register(app)
    users_cmd.register(app)
    config_cmd.register(app)
    invoke_cmd.register(app)
    sandbox_cmd.register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        rv = command.main(
            args=argv if argv is not None else sys.argv[1:], prog_name="bedrockctl", standalone_mode=False
        )
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        sys.exit(report_error(exc))
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
