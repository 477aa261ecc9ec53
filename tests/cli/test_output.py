"""The renderer: formats, --query, tables that never cut an id, text that is never read as markup, and no state
left behind between invocations."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from rich.console import Console

from bedrockctl.cli.render import plain, render, search
from bedrockctl.cli.tables import Col, print_kv, print_table

from .conftest import Workspace

HOSTILE = ["[bold]anthropic.claude[/]", "[/]", "[link=https://evil.example]click[/link]", "[red]x"]
ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1/a35dk7nzam7n"


def _console(width: int = 80) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, highlight=False, markup=False, soft_wrap=True), buf


def test_plain_data_keeps_amounts_exact_as_strings() -> None:
    data = plain({"cost_usd": Decimal("0.00186320"), "n": 3, "tiny": Decimal("1.2E-7"), 4: None})
    assert data == {"cost_usd": "0.0018632", "n": 3, "tiny": "0.00000012", "4": None}


def test_yaml_is_pyyaml() -> None:
    data = plain({"a": [1, {"b": "x: y"}], "s": "line\nbreak", "e": None, "q": "'quoted'", "u": "naïve"})
    assert yaml.safe_load(render("yaml", data)) == data


def test_text_is_one_record_per_line() -> None:
    rows = [{"id": "a\tb", "note": "two\nlines", "cost_usd": "0.0018632", "n": None, "tags": {"k": "v"}}]
    assert render("text", rows) == 'a\\tb\ttwo\\nlines\t0.001863\tNone\t{"k":"v"}\n'
    assert render("text", ["x", "y"]) == "x\ny\n"
    assert render("text", [["x", 1], ["y", 2]]) == "x\t1\ny\t2\n"
    assert render("text", "multi\nline answer") == "multi\nline answer\n"  # one string is printed as it is
    assert render("text", {"b": 1, "a": True}) == "1\tTrue\n"
    column = render("text", [{"m": "a", "cost_usd": "0.0512"}, {"m": "b", "cost_usd": "0.0022"}, {"m": "c"}])
    assert column == "a\t0.051200\nb\t0.002200\nc\tNone\n"  # one number of decimals per column


def test_csv_has_a_header_and_full_amounts() -> None:
    out = render("csv", [{"model": "m,1", "cost_usd": "0.0018632"}, {"model": "m2", "extra": [1]}])
    assert list(csv.reader(io.StringIO(out))) == [
        ["model", "cost_usd", "extra"],
        ["m,1", "0.0018632", ""],
        ["m2", "", "[1]"],
    ]
    assert list(csv.reader(io.StringIO(render("csv", ["a", "b"])))) == [["value"], ["a"], ["b"]]


def test_query_is_jmespath() -> None:
    data = {"rows": [{"model": "a", "cost_usd": "1"}, {"model": "b", "cost_usd": "2"}]}
    assert search("rows[?cost_usd=='2'].model", data) == ["b"]
    assert search("length(rows)", data) == 2


@pytest.mark.parametrize("width", [80, 120])
def test_a_table_never_cuts_an_id(width: int) -> None:
    ids = ["anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", ARN]
    rows = [[i, "123456789012", "us-east-1", "2026-11-22T10:00:00+00:00", "a long name that can wrap"] for i in ids]
    console, buf = _console(width)
    cols = [Col("asset_id"), Col("account_id"), Col("region"), Col("first_seen", drop=1), Col("name")]
    print_table("Inventory", cols, rows, console=console)
    out = buf.getvalue()
    assert "…" not in out
    for line in out.splitlines():  # a table fits; a row block's long value runs on (the terminal soft-wraps it)
        assert len(line) <= width or line.split()[-1] in ids
    for i in ids:
        assert i in out  # on one line, whole
    assert "a long name that can wrap" in " ".join(out.split()).replace("│ ", "").replace(" │", "")


def test_optional_columns_go_first_and_are_named() -> None:
    console, buf = _console(80)
    cols = [Col("model"), Col("provider", drop=2), Col("profiles", drop=1), Col("cost", money=True)]
    rows = [["anthropic.claude-3-5-haiku-20241022-v1:0", "Anthropic-Provider", "us.haiku", 1]]
    print_table("Models", cols, rows, console=console)
    out = buf.getvalue()
    assert "anthropic.claude-3-5-haiku-20241022-v1:0" in out and "1.00" in out
    assert "provider" not in out and "Anthropic-Provider" not in out  # dropped first (highest drop)
    assert "profiles" in out


def test_money_column_in_a_table_has_one_format() -> None:
    console, buf = _console(80)
    amounts = [Decimal("0.005289"), Decimal("0.00186320"), Decimal("0.0014075")]
    print_table(
        "Cost", ["model", Col("cost USD", money=True)], [[f"m{i}", a] for i, a in enumerate(amounts)], console=console
    )
    out = buf.getvalue()
    assert all(s in out for s in ("0.005289", "0.001863", "0.001408")) and "0.00186320" not in out


@pytest.mark.parametrize("text", HOSTILE)
def test_data_is_never_read_as_markup(text: str) -> None:
    console, buf = _console(120)
    print_table(f"title {text}", ["model", "n"], [[text, 1]], console=console)
    print_kv(f"kv {text}", {text: text}, console=console)
    out = buf.getvalue()
    assert out.count(text) == 5  # the title, the cell, the kv title, key and value
    assert f"kv {text}" in out and f"title {text}" in out


def test_error_text_is_never_read_as_markup(workspace: Workspace) -> None:
    """The issue: `unknown section ; expected one of …` (the section name in brackets vanished)."""
    workspace.config.write_text('["[bold]x[/]"]\nk = 1\n')
    res = workspace.run("config", "show")
    assert res.exit_code == 3 and "unknown section [[bold]x[/]]" in res.stderr
    res = workspace.run("policy", "--features", "[link=https://evil.example]x[/link]")
    assert res.exit_code == 2 and "[link=https://evil.example]x[/link]" in res.stderr


def test_model_ids_from_data_are_not_markup(workspace: Workspace) -> None:
    res = workspace.run("pricing", "show", "--model", "[bold]nope[/]")
    assert res.exit_code == 0 and "[bold]nope[/] is not in the price list" in res.stdout


def test_tables_at_80_columns_show_whole_ids(workspace: Workspace) -> None:
    """`models` (the issue: `anthropic.claude-3-5-haiku-20241022-v…` at 120 columns) and `inventory list`
    (`aws_b… │ 12345… │ us-ea…` at 80) show every id whole, piped, at 80 columns."""
    models = workspace.ok("models")["models"]
    table = workspace.run("models").stdout
    assert "…" not in table and all(m["model_id"] in table for m in models)
    longest = max((m["model_id"] for m in models), key=len)
    assert len(longest) > 40 and workspace.run("models", env={"COLUMNS": "120"}).stdout.count(longest) == 1


def test_text_pipes_one_record_per_line(workspace: Workspace) -> None:
    assets = workspace.ok("models")["models"]
    lines = workspace.run("models", "--output", "text").stdout.splitlines()
    assert len(lines) == len(assets)
    assert [line.split("\t")[0] for line in lines] == [m["model_id"] for m in assets]
    ids = workspace.run("models", "--output", "text", "--query", "models[].model_id").stdout.splitlines()
    assert ids == [m["model_id"] for m in assets]


def test_no_state_leaks_between_invocations(workspace: Workspace) -> None:
    """Flags live on the invocation (CliContext), not on a module: a --json run leaves the next run a table."""
    assert json.loads(workspace.run("--json", "--region", "eu-west-1", "config", "show").stdout)
    res = workspace.run("config", "show")
    assert res.exit_code == 0 and res.stdout.startswith("Effective configuration")
    assert "eu-west-1" not in res.stdout
    from bedrockctl.cli import output

    assert not hasattr(output, "STATE") and not hasattr(output, "out") and not hasattr(output, "err")


def test_a_secret_shown_once_is_shown_and_others_redacted(workspace: Workspace) -> None:
    created: dict[str, Any] = workspace.ok("keys", "create", "--user", "ana", "--team", "ml", "--env", "dev")
    assert created["token"].startswith("bgk.") and "****" not in created["aws_secret_access_key"]
    token = workspace.run("keys", "create", "--user", "bo", "--team", "ml", "--query", "token", "--output", "text")
    assert token.stdout.startswith("bgk.") and len(token.stdout.splitlines()) == 1
    listed = workspace.run("keys", "list", "--output", "yaml").stdout
    assert created["token"] not in listed and created["aws_secret_access_key"] not in listed
