"""``bedrockctl users``: the first admin is created from the CLI; passwords never echo."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bedrockctl.cli import app as cli_app
from bedrockctl.paths import default_store_url
from bedrockctl.services.users import UserService
from bedrockctl.store import Store


@pytest.fixture
def cli(tmp_path, monkeypatch, migrated_db):
    import shutil

    shutil.copyfile(migrated_db, tmp_path / "bedrockctl.db")
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BEDROCKCTL_STORE_URL", raising=False)
    monkeypatch.delenv("BEDROCKCTL_USER_PASSWORD", raising=False)
    return cli_app.app


def test_create_admin_then_sign_in(cli, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        cli,
        ["users", "create", "ana", "--admin", "--team", "platform", "--password-stdin"],
        input="a long enough password\n",
    )
    assert res.exit_code == 0, res.output
    assert "a long enough password" not in res.output and "admin ana" in res.output
    svc = UserService(Store(default_store_url(), migrate=False).engine)
    actor = svc.authenticate("ana", "a long enough password")
    assert actor.is_admin and actor.team == "platform"
    res = runner.invoke(cli, ["users", "list", "--json"])
    assert [u["username"] for u in json.loads(res.stdout)] == ["ana"]
    assert "password" not in res.stdout.replace("has_password", "")


def test_prompt_short_password_and_duplicates(cli, monkeypatch):
    runner = CliRunner()
    res = runner.invoke(cli, ["users", "create", "bo"], input="short\nshort\n")
    assert res.exit_code == 2 and "too short" in res.stderr
    monkeypatch.setenv("BEDROCKCTL_USER_PASSWORD", "from the environment")
    assert runner.invoke(cli, ["users", "create", "bo"]).exit_code == 0
    res = runner.invoke(cli, ["users", "create", "bo"])
    assert res.exit_code != 0 and "already exists" in res.stderr
    assert runner.invoke(cli, ["users", "set", "bo", "--role", "admin", "--disabled"]).exit_code == 0
    res = runner.invoke(cli, ["users", "list", "--json"])
    assert json.loads(res.stdout)[0]["disabled"] is True
    assert runner.invoke(cli, ["users", "delete", "bo", "--yes"]).exit_code == 0
    assert runner.invoke(cli, ["users", "passwd", "bo"]).exit_code != 0
