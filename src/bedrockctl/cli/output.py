"""Rendering shared by every command: JSON, tables, errors (always redacted)."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from bedrockctl.errors import BedrockctlError
from bedrockctl.redact import redact, redact_text


@dataclass
class CliState:
    flags: dict[str, Any] = field(default_factory=dict)
    config_path: str | None = None
    json: bool = False
    verbose: bool = False
    _ctx: Any = None

    def context(self) -> Any:
        """The AppContext, built once per invocation (settings errors surface here)."""
        if self._ctx is None:
            from bedrockctl.context import AppContext, setup_logging

            self._ctx = AppContext.create(self.flags, config_path=self.config_path)
            setup_logging(self._ctx.settings.logging, self.verbose)
        return self._ctx


STATE = CliState()
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def want_json(local: bool) -> bool:
    return local or STATE.json


def print_json(data: Any) -> None:
    sys.stdout.write(
        orjson.dumps(redact(data), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode() + "\n"
    )
    sys.stdout.flush()


def print_kv(title: str, rows: Mapping[str, Any]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for k, v in redact(dict(rows)).items():
        table.add_row(k, "" if v is None else str(v))
    out.print(table)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*["" if v is None else redact_text(str(v)) for v in row])
    out.print(table)


def report_error(exc: BaseException) -> int:
    """Print ``exc`` as one line (or a JSON object) and return the exit code."""
    from bedrockctl.extras import from_import_error

    known = from_import_error(exc) or exc
    if isinstance(known, BedrockctlError):
        code, payload = known.exit_code, known.to_dict()
    else:
        wrapped = BedrockctlError(f"{type(exc).__name__}: {exc}")
        code, payload = wrapped.exit_code, wrapped.to_dict()
    if STATE.verbose:
        err.print(redact_text("".join(traceback.format_exception(exc))), markup=False)
    if STATE.json:
        print_json({"error": payload})
    else:
        err.print(f"[bold red]error[/] {payload['code']}: {payload['message']}", markup=True)
        err.print(f"  fix: {payload['remediation']}", markup=False)
    return code
