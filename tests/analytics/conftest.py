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
    """Run ``bedrockctl`` in-process."""
    from typer.testing import CliRunner

    from bedrockctl.cli.app import app

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        return result

    return run
