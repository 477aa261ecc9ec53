"""The one renderer of every command: a command hands its result data to ``emit`` and this module prints it in
the chosen ``--output`` (``table`` through the command's own table function; ``json``, ``yaml``, ``text``, ``csv``
the same way for every command), after ``--query``. Errors go through ``report_error`` in the same format.
Everything printed is redacted.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Collection, Sequence
from typing import Any

from bedrockctl.cli.context import CliContext, current
from bedrockctl.cli.render import plain, render, search
from bedrockctl.cli.tables import Col, print_any, print_kv, print_table
from bedrockctl.errors import BedrockctlError
from bedrockctl.redact import redact, redact_text

__all__ = ["CliContext", "Col", "current", "emit", "print_kv", "print_table", "report_error", "to_error"]


Records = str | Callable[[Any], Any] | None


def _records(data: Any, path: Records) -> Any:
    if callable(path):
        return path(data)
    for key in path.split(".") if path else ():
        if not isinstance(data, dict) or key not in data:
            return data
        data = data[key]
    return data


def emit(
    data: Any,
    *,
    table: Callable[[Any], None] | None = None,
    records: Records = None,
    columns: Sequence[str] | None = None,
    reveal: Collection[str] = (),
    line: str | None = None,
) -> None:
    """Print a command's result ``data`` (what ``--output json`` shows) in the chosen format.

    ``table(data)`` draws it for people (default: a generic table). ``records`` names the list inside ``data``
    (a dotted path, or a function of the plain data) that ``text`` and ``csv`` print one line per item (with
    ``columns``, in that order) when no ``--query`` is given. ``reveal`` lists top-level keys shown unredacted
    (a secret shown once, on purpose). ``line`` is what people see instead of a table, for a one-sentence
    result."""
    cli = current()
    clean = plain(data)
    shown = redact(clean)
    if isinstance(shown, dict):
        shown.update({k: clean[k] for k in reveal if k in clean})
    if cli.query:
        shown, records, columns = search(cli.query, shown), None, None
    if cli.output == "table":
        if cli.query:
            print_any(shown)
        elif table is not None:
            table(data)
        elif line is not None:
            cli.out.print(redact_text(line))
        else:
            print_any(shown)
        return
    if cli.output in ("text", "csv"):
        shown = _records(shown, records)
    else:
        columns = None
    _write(render(cli.output, shown, columns))


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def to_error(exc: BaseException) -> BedrockctlError:
    """Any exception as a BedrockctlError (click usage errors -> BRC-CLI-001, a missing extra -> BRC-INS-001)."""
    from typer import Abort
    from typer._click.exceptions import ClickException, UsageError

    from bedrockctl.cli.errors import CommandLineError, Interrupted
    from bedrockctl.extras import from_import_error

    if isinstance(exc, BedrockctlError):
        return exc
    known = from_import_error(exc)
    if known is not None:
        return known
    if isinstance(exc, Abort | KeyboardInterrupt):
        return Interrupted("interrupted before the command finished")
    if isinstance(exc, ClickException):
        where = exc.ctx.command_path if isinstance(exc, UsageError) and exc.ctx is not None else "bedrockctl"
        return CommandLineError(
            exc.format_message(), remediation=f"Run `{where} --help` for the options and examples (docs/cli.md)."
        )
    return BedrockctlError(f"{type(exc).__name__}: {exc}")


ERROR_FIELDS = ("code", "title", "message", "remediation")


def report_error(exc: BaseException, cli: CliContext | None = None) -> int:
    """Print ``exc`` in the chosen format and return the exit code: for people two lines on stderr (code and
    message, then the fix); for programs ``{"error": {...}}`` on stdout in the chosen format."""
    cli = cli or current()
    error = to_error(exc)
    if cli.verbose:
        cli.err.print(redact_text("".join(traceback.format_exception(exc))))
    payload = error.to_dict()
    if cli.output == "table":
        from rich.text import Text

        cli.err.print(Text.assemble(("error", "bold red"), f" {payload['code']}: {payload['message']}"))
        cli.err.print(f"  fix: {payload['remediation']}")
    elif cli.output == "text":
        _write(render("text", [["ERROR", *(payload[k] for k in ERROR_FIELDS)]]))
    elif cli.output == "csv":
        _write(render("csv", payload, ERROR_FIELDS))
    else:
        _write(render(cli.output, {"error": payload}))
    return error.exit_code
