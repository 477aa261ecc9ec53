"""The layers hold (``lint-imports`` with the contracts in pyproject.toml) and the contracts bite: a copy of the package
with one import against the layers injected fails them. Only ``aws/`` handles botocore's exceptions."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bedrockctl

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(bedrockctl.__file__).resolve().parent
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:  # ahead of the installed (editable) package
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_package_keeps_its_layers() -> None:
    res = lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's Python files and the project's contracts in a directory of their own."""
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(SRC, root / "src" / "bedrockctl", ignore=shutil.ignore_patterns("__pycache__", "static", "data"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    res = lint(root, root / "src")
    assert res.returncode == 0, "the unchanged copy must keep the contracts: " + res.stdout
    return root


@pytest.mark.parametrize(
    "module,injected,broken",
    [
        (
            "services/budgets.py",
            "import bedrockctl.server.gateway.http",
            "bedrockctl.services is not allowed to import",
        ),
        ("store/keys.py", "import bedrockctl.services.users", "bedrockctl.store is not allowed to import"),
        ("aws/s3.py", "import bedrockctl.alerts", "bedrockctl.aws is not allowed to import"),
        ("alerts/model.py", "import bedrockctl.sandbox.core", "Product code never imports the sandbox"),
        ("sandbox/core.py", "import bedrockctl.errors", "The sandbox imports no product module"),
        ("server/app.py", "import bedrockctl.cli.output", "The server (gateway, console) never imports the CLI"),
    ],
)
def test_an_import_against_the_layers_fails_the_contracts(
    package_copy: Path, module: str, injected: str, broken: str
) -> None:
    path = package_copy / "src" / "bedrockctl" / module
    original = path.read_text()
    path.write_text(original + f"\n{injected}  # injected by the test\n")
    try:
        res = lint(package_copy, package_copy / "src")
    finally:
        path.write_text(original)
    assert res.returncode != 0, res.stdout
    assert broken in " ".join(res.stdout.split()), res.stdout  # rich wraps long lines


# -- botocore's exceptions stay in aws/ -------------------------------------------------------------------------
BOTOCORE_ERRORS = {"ClientError", "BotoCoreError"}
# Not ours to change in this package: runtime/ (its call core is being rewritten) and plugins/ (another package).
PENDING = ("runtime/", "plugins/base.py")


def _names(node: ast.AST) -> list[str]:
    """The modules an import names, or the name an expression uses."""
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    return [node.id] if isinstance(node, ast.Name) else []


def botocore_error_uses(source: str) -> list[int]:
    """Lines that import botocore's exceptions or name ClientError/BotoCoreError (``client.exceptions.X`` too)."""
    found = {
        node.lineno  # type: ignore[attr-defined]
        for node in ast.walk(ast.parse(source))
        if any(n.startswith("botocore.exceptions") or n in BOTOCORE_ERRORS for n in _names(node))
    }
    return sorted(found)


def test_the_scan_finds_botocore_error_handling() -> None:
    found = botocore_error_uses(
        "from botocore.exceptions import ClientError\ntry:\n    s3.get()\nexcept s3.exceptions.ClientError:\n    pass\n"
    )
    assert found == [1, 4]
    assert botocore_error_uses("from bedrockctl.aws.errors import aws_call\n") == []


def test_only_aws_handles_botocore_exceptions() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(("aws/", "sandbox/", *PENDING)):
            continue
        offenders += [f"{rel}:{line}" for line in botocore_error_uses(path.read_text(encoding="utf-8"))]
    assert offenders == [], "call AWS through bedrockctl.aws.errors (aws_call / aws_errors) and catch BedrockctlError"
