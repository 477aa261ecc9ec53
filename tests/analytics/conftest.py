"""Fixtures for the analytics tests: an isolated data directory and the CLI with our command groups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(d))
    return d


@pytest.fixture
def cli() -> Callable[..., Any]:
    """Run ``bedrockctl`` in-process; our command groups are added when main.py does not register them yet."""
    from typer.testing import CliRunner

    from bedrockctl.cli import cost_cmd, pricing_cmd, usage_cmd
    from bedrockctl.cli.main import app

    names = {g.name for g in app.registered_groups}
    for mod, name in ((usage_cmd, "usage"), (cost_cmd, "cost"), (pricing_cmd, "pricing")):
        if name not in names:
            mod.register(app)

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return result

    return run
