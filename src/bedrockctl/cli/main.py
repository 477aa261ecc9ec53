"""The ``bedrockctl`` console script. ``bedrockctl --version`` is answered here, before the command tree (typer)
is built; everything else runs through the tree in ``app.py``, which imports a command's module only when that
command runs or shows its help (docs/cli.md, "Start-up")."""

from __future__ import annotations

import sys
from typing import Any

from bedrockctl import __version__


def main(argv: list[str] | None = None) -> None:
    """Run one command and exit with its code (docs/cli.md lists them)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args == ["--version"]:
        sys.stdout.write(f"bedrockctl {__version__}\n")
        sys.exit(0)
    import typer

    from bedrockctl.cli.app import app

    typer.main.get_command(app).main(args=args, prog_name="bedrockctl")


def __getattr__(name: str) -> Any:
    """``from bedrockctl.cli.main import app`` (tests, embedders) still works; the tree is built on first use."""
    if name in ("app", "main_callback", "COMMANDS"):
        from bedrockctl.cli import app as tree

        return getattr(tree, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
