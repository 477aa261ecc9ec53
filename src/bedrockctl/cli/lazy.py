"""The root command group: loads a command module only when that command runs or shows its help, gives every
command the same output options, and turns every failure into one error in the chosen format.

``bedrockctl --version`` and ``bedrockctl --help`` import no command module (so no services, boto3, rich tables or
catalog): the root help lists the commands from ``COMMANDS`` in ``app.py``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from bedrockctl.cli.context import FORMATS, CliContext, OutputFormat, of

PANEL = "Output"


@dataclass(frozen=True)
class Lazy:
    """A command that lives in ``bedrockctl.cli.<module>`` (its ``register(app)`` adds it) with its short help."""

    module: str
    help: str


def _set_output(ctx: typer.Context, value: OutputFormat | None) -> None:
    if value is not None:
        of(ctx).output = value.value


def _shorthand(fmt: str) -> Any:
    def set_format(ctx: typer.Context, value: bool) -> None:
        if value:
            of(ctx).output = fmt

    return set_format


def _set_query(ctx: typer.Context, value: str | None) -> None:
    if value is None:
        return
    from jmespath.exceptions import JMESPathError

    from bedrockctl.cli.render import compile_query

    try:
        compile_query(value)
    except JMESPathError as exc:
        raise typer.BadParameter(f"{value!r} is not a JMESPath expression ({exc})", param_hint="--query") from exc
    of(ctx).query = value


def output_params() -> list[Any]:
    """Fresh ``--output``, ``--json``, ``--csv`` and ``--query`` options (eager: read before any other option, so
    an error in another option is already reported in the chosen format)."""
    template = typer.Typer(add_completion=False)

    def option(default: Any, name: str, help: str, callback: Any) -> Any:
        return typer.Option(
            default, name, help=help, callback=callback, is_eager=True, expose_value=False, rich_help_panel=PANEL
        )

    @template.command()
    def _options(
        output: OutputFormat | None = option(
            None,
            "--output",
            "Output format: table (default), json, yaml, text (one record per line, tab-separated) or csv.",
            _set_output,
        ),
        json_out: bool = option(False, "--json", "Shorthand for --output json.", _shorthand("json")),
        csv_out: bool = option(False, "--csv", "Shorthand for --output csv.", _shorthand("csv")),
        query: str | None = option(
            None,
            "--query",
            "JMESPath expression applied to the result (the data --output json shows), as in the AWS CLI.",
            _set_query,
        ),
    ) -> None:
        """Not a command: the template of the output options."""

    return list(typer.main.get_command(template).params)


def add_output_params(cmd: Any) -> Any:
    """Give ``cmd`` and every command under it the output options (skipping a name the command already has)."""
    taken = {opt for p in cmd.params for opt in getattr(p, "opts", ())}
    cmd.params.extend(p for p in output_params() if not taken.intersection(p.opts))
    for sub in getattr(cmd, "commands", {}).values():
        add_output_params(sub)
    return cmd


def load(name: str, spec: Lazy) -> Any:
    """The click command ``name`` built from its module's ``register``."""
    module = importlib.import_module(f"bedrockctl.cli.{spec.module}")
    app = typer.Typer(rich_markup_mode=None, add_completion=False)  # help is plain text: no markup
    module.register(app)
    return add_output_params(typer.main.get_group(app).commands[name])


class LazyCommands(MutableMapping[str, Any]):
    """The root's commands: registered ones, and lazy ones built on first lookup."""

    def __init__(self, eager: Mapping[str, Any], specs: Mapping[str, Lazy]) -> None:
        self.loaded: dict[str, Any] = dict(eager)
        self.specs = specs

    def __getitem__(self, name: str) -> Any:
        if name not in self.loaded:
            if name not in self.specs:
                raise KeyError(name)
            self.loaded[name] = load(name, self.specs[name])
        return self.loaded[name]

    def __setitem__(self, name: str, cmd: Any) -> None:
        self.loaded[name] = cmd

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self.specs, *self.loaded]))

    def __len__(self) -> int:
        return len(set(self.specs) | set(self.loaded))


class LazyGroup(TyperGroup):
    """The ``bedrockctl`` group. ``main`` owns the per-invocation ``CliContext`` and the error handling, so the
    console script and ``typer.testing.CliRunner`` behave the same."""

    specs: Mapping[str, Lazy] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.specs)
        self.params.extend(output_params())

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)  # names only: listing loads nothing

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        loaded = self.commands.loaded if isinstance(self.commands, LazyCommands) else self.commands
        rows = []
        for name in self.list_commands(ctx):
            cmd = loaded.get(name)
            if cmd is not None and cmd.hidden:
                continue
            rows.append((name, cmd.get_short_help_str(formatter.width) if cmd is not None else self.specs[name].help))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        cli = extra.get("obj")
        if not isinstance(cli, CliContext):
            cli = extra["obj"] = CliContext()
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name or "bedrockctl", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
        except SystemExit:
            raise
        except NoArgsIsHelpError as exc:
            code = _no_args(exc, cli, argv)
        except BaseException as exc:  # every failure becomes one error in the chosen format
            code = _fail(exc, cli, argv)
        if standalone_mode:
            sys.exit(code)
        return code


def _no_args(exc: NoArgsIsHelpError, cli: CliContext, argv: list[str]) -> int:
    """A group without a command shows its help (exit 0); for programs it is a usage error."""
    _output_from_argv(cli, argv)
    if cli.machine:
        from bedrockctl.cli.errors import CommandLineError

        where = exc.ctx.command_path if exc.ctx is not None else "bedrockctl"
        return _fail(CommandLineError(f"missing command: {where} needs one (see `{where} --help`)"), cli, argv)
    sys.stdout.write(exc.format_message() + "\n")
    return 0


def _fail(exc: BaseException, cli: CliContext, argv: list[str]) -> int:
    from typer._click.exceptions import UsageError

    from bedrockctl.cli.output import report_error
    from bedrockctl.errors import UnsupportedRegion

    if isinstance(exc, UsageError | UnsupportedRegion):
        _output_from_argv(cli, argv)  # the parser stopped (a --region) before the output options were read
    return report_error(exc, cli)


def _output_from_argv(cli: CliContext, argv: list[str]) -> None:
    """The last ``--output X`` / ``--output=X`` / ``--json`` / ``--csv`` of the command line, when valid."""
    for i, arg in enumerate(argv):
        value = {"--json": "json", "--csv": "csv"}.get(arg)
        if arg == "--output" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--output="):
            value = arg.partition("=")[2]
        if value in FORMATS:
            cli.output = value


def lazy_group(specs: Mapping[str, Lazy]) -> type[LazyGroup]:
    """A ``LazyGroup`` class that loads ``specs`` (for ``typer.Typer(cls=...)``)."""
    return type("BedrockctlGroup", (LazyGroup,), {"specs": dict(specs)})
