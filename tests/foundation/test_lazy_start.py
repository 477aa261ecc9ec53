"""`bedrockctl --version` and `--help` start fast: no command module, service, boto3, rich table or catalog is
imported (checked in a fresh interpreter); a command's module loads only when that command runs or shows help."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "rich.table", "bedrockctl.catalog", "bedrockctl.services", "bedrockctl.context")
PROBE = """
import json, sys
args = sys.argv[1:]
if args == ["import"]:
    import bedrockctl.cli.main
elif args == ["import app"]:
    import bedrockctl.cli.app
else:
    from bedrockctl.cli.main import main
    try:
        main(args)
    except SystemExit:
        pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules(*args: str) -> tuple[set[str], str]:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    line = res.stderr.rsplit("MODULES ", 1)[1]
    return set(json.loads(line)), res.stdout


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


STARTS = {"import": ["import"], "app": ["import app"], "version": ["--version"], "help": ["--help"], "bare": []}


@pytest.mark.parametrize("args", list(STARTS.values()), ids=list(STARTS))
def test_start_imports_nothing_heavy(args: list[str]) -> None:
    modules, stdout = _modules(*args)
    assert _loaded(modules, HEAVY) == []
    assert [m for m in modules if m.startswith("bedrockctl.cli.") and m.endswith(("_cmd", "whoami"))] == []
    if args in (["import"], ["--version"]):  # answered before the command tree (typer) is built
        assert "typer" not in modules and "rich" not in modules
    if args == ["--version"]:
        assert stdout.startswith("bedrockctl ")
    if args == ["--help"]:
        assert "whoami" in stdout and "--output" in stdout and "--query" in stdout


def test_a_command_loads_its_own_module_only() -> None:
    modules, stdout = _modules("cost", "--help")
    assert "bedrockctl.cli.cost_cmd" in modules and "Examples:" in stdout
    assert "bedrockctl.cli.doctor_cmd" not in modules and _loaded(modules, ("bedrockctl.services", "rich.table")) == []


def test_the_root_help_matches_each_command() -> None:
    """The root help lists commands from a table (nothing imported); each entry is the start of the command's help."""
    from bedrockctl.cli.app import COMMANDS
    from bedrockctl.cli.lazy import load

    for name, spec in COMMANDS.items():
        full = " ".join((load(name, spec).help or "").split())
        assert full.startswith(spec.help.removesuffix("...").rstrip(", ")), name
