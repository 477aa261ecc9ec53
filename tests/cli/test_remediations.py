"""Every command a remediation tells people to run exists: each backticked ``bedrockctl ...`` in the remediation of
every error class (and in docs/errors.md, generated from them), and each one written in the source (doctor's checks
build their remediations there), parses through the command line's own parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from bedrockctl.errors import all_error_classes

from .conftest import Workspace

ROOT = Path(__file__).resolve().parents[2]
ERRORS_MD = ROOT / "docs" / "errors.md"
NOT_A_COMMAND_LINE = re.compile(r"[{}|\"]|\.\.\.")  # a template or a list of choices, not one command line
COMMAND = re.compile(r"(?<!`)`(bedrockctl(?: [^`]*)?)`(?!`)")  # `code`, not ``rst``


def _commands() -> dict[str, str]:
    """Each command line named, with where it was found."""
    found: dict[str, str] = {}
    for cls in all_error_classes():
        for line in COMMAND.findall(cls.default_remediation):
            found.setdefault(line, cls.code)
    for line in COMMAND.findall(ERRORS_MD.read_text()):
        found.setdefault(line, "docs/errors.md")
    for path in sorted((ROOT / "src" / "bedrockctl").rglob("*.py")):
        for text in path.read_text().splitlines():
            code = text.split("#", 1)[0] if "#" in text.split("`", 1)[0] else text  # a comment tells no one
            for line in COMMAND.findall(code):
                if not NOT_A_COMMAND_LINE.search(line):
                    found.setdefault(line, str(path.relative_to(ROOT)))
    return found


COMMANDS = _commands()


def parse(line: str) -> Any:
    """Parse ``line`` the way ``bedrockctl`` does, down to the last subcommand, without running it; the click
    context of that command (typer vendors click; a group keeps its subcommand in ``_protected_args``). Raises
    click's usage errors for an unknown command or option or a bad value."""
    from bedrockctl.cli.app import app
    from bedrockctl.cli.context import CliContext

    args = shlex.split(line)[1:]
    cmd: Any = typer.main.get_command(app)
    ctx = cmd.make_context("bedrockctl", args, obj=CliContext())
    while getattr(cmd, "commands", None) is not None and (ctx._protected_args or ctx.args):
        name, cmd, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        ctx = cmd.make_context(name, rest, parent=ctx)
    return ctx


def test_remediations_name_commands() -> None:
    assert len(COMMANDS) >= 5, COMMANDS  # the scan finds them: this test is not vacuous


@pytest.mark.parametrize("line", sorted(COMMANDS))
def test_remediation_command_parses(line: str) -> None:
    ctx = parse(line)
    assert ctx.command_path.startswith("bedrockctl"), (line, COMMANDS[line])


@pytest.mark.parametrize("line", ["bedrockctl teleport", "bedrockctl models --colour red", "bedrockctl usage"])
def test_parse_rejects_what_does_not_exist(line: str) -> None:
    from typer._click.exceptions import UsageError

    with pytest.raises(UsageError):
        parse(line)


def test_doctor_remediations_parse(workspace: Workspace, boto_client: Any, sandbox_admin: Any) -> None:
    """doctor builds remediations from what it finds: those of a run against the sandbox parse too (as an IAM user
    without permissions under the sandbox's IAM enforcement, so the permission checks name their commands)."""
    import json

    iam = boto_client("iam")
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    sandbox_admin.set_faults({"iam_enforcement": True})
    env = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    res = workspace.run(
        "doctor", "--model", "anthropic.claude-3-haiku-20240307-v1:0", "--model", "anthropic.claude-nope-v1:0",
        "--invoke", "--timeout", "1", "--features", "discover,invoke,agents,usage,budgets,sagemaker",
        "--output", "json", env=env,
    )  # fmt: skip
    assert res.exit_code in (0, 1, 2), res.output
    lines = {line for check in json.loads(res.stdout)["checks"] for line in COMMAND.findall(check["remediation"] or "")}
    assert lines, "doctor named no command to run"
    for line in lines:
        if not NOT_A_COMMAND_LINE.search(line):
            parse(line)
