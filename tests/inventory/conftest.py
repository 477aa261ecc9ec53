from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run ``bedrockctl <args>`` in-process."""
    from bedrockctl.cli.app import app

    runner = CliRunner()

    def run(*args: str, ok: bool = True, parse: bool = True) -> Any:
        res = runner.invoke(app, list(args), catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return orjson.loads(res.stdout) if parse else res

    return run


def _pg_url() -> str | None:
    return os.environ.get("BEDROCKCTL_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[str]:
    """A fresh store per test: a SQLite file, or a unique PostgreSQL schema (BEDROCKCTL_TEST_PG_URL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
        monkeypatch.setenv("BEDROCKCTL_STORE_URL", url)
        yield url
        return
    base = _pg_url()
    if not base:
        pytest.skip(
            "PostgreSQL store test: set BEDROCKCTL_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
        )
    from sqlalchemy import text

    from bedrockctl.store import Store

    schema = f"t_{uuid.uuid4().hex[:12]}"
    Store(base, schema=schema).close()  # creates the schema
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    monkeypatch.setenv("BEDROCKCTL_STORE_URL", url)
    yield url
    from bedrockctl.store.engine import create_store_engine

    engine = create_store_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
