"""The state of one ``bedrockctl`` invocation: global flags, the output format, the AppContext and the consoles.

One ``CliContext`` is made per invocation (``LazyGroup.main`` passes it to click as ``ctx.obj``; the global and
per-command output options fill it in) and dropped when the command ends: nothing lives at module level.
``current()`` finds it from anywhere inside a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from bedrockctl.context import AppContext


class OutputFormat(StrEnum):
    """The choices of ``--output``."""

    table = "table"
    json = "json"
    yaml = "yaml"
    text = "text"
    csv = "csv"


FORMATS = tuple(f.value for f in OutputFormat)


@dataclass
class CliContext:
    flags: dict[str, Any] = field(default_factory=dict)
    config_path: str | None = None
    output: str = "table"
    query: str | None = None
    verbose: bool = False
    _app: AppContext | None = field(default=None, repr=False)
    _out: Console | None = field(default=None, repr=False)
    _err: Console | None = field(default=None, repr=False)

    @property
    def machine(self) -> bool:
        """The result data is what gets printed (any format but ``table``, or a ``--query``): no streaming of
        partial output, no progress or chatter on stdout."""
        return self.output != "table" or self.query is not None

    def app(self) -> AppContext:
        """The AppContext, built once per invocation (settings errors surface here)."""
        if self._app is None:
            from bedrockctl.context import AppContext, setup_logging

            self._app = AppContext.create(self.flags, config_path=self.config_path)
            setup_logging(self._app.settings.logging, self.verbose)
        return self._app

    @property
    def out(self) -> Console:
        """stdout for people (rich; never interprets markup in what it is given unless asked)."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True, markup=False)
        return self._out

    @property
    def err(self) -> Console:
        """stderr for people: progress, notes, warnings."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)
        return self._err


def of(ctx: Any) -> CliContext:
    """The CliContext of a click context (made on its root if the invocation did not bring one)."""
    found: CliContext | None = ctx.find_object(CliContext)
    return found if found is not None else ctx.find_root().ensure_object(CliContext)


def current() -> CliContext:
    """The CliContext of the running command (a fresh default one outside any invocation)."""
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return CliContext() if ctx is None else of(ctx)
