"""Shared pytest configuration: the offline AWS sandbox fixtures, the sample records, and a summary of the
skipped tests with the command that would run them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.samples import SampleSet, write_samples

pytest_plugins = ["bedrockctl.sandbox.testing"]

# what a skip reason asks for -> the environment that provides it (the values ./scripts/test detects by itself)
_PROVIDES = (
    ("BEDROCKCTL_TEST_PG_URL", "BEDROCKCTL_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test"),
    ("BEDROCKCTL_TEST_REDIS_URL", "BEDROCKCTL_TEST_REDIS_URL=redis://127.0.0.1:6379/0"),
    ("chromium", "BEDROCKCTL_CHROMIUM=$(command -v chromium)"),
)


@pytest.fixture
def samples(tmp_path: Path) -> SampleSet:
    """The packaged sample records (``bedrockctl.samples``) written to a temporary folder, re-dated to end
    yesterday: expected dates come from ``samples.day("2026-11-21")``, ``samples.month`` and so on."""
    return write_samples(tmp_path / "samples")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for rep in terminalreporter.stats.get("skipped", []):
        if isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3:
            groups[str(rep.longrepr[2]).removeprefix("Skipped: ")].append(rep.nodeid)
    if not groups:
        return
    terminalreporter.section("skipped tests, and how to run them")
    for reason, nodeids in sorted(groups.items()):
        env = " ".join(value for needle, value in _PROVIDES if needle in reason)
        files = sorted({n.split("::")[0] for n in nodeids})
        terminalreporter.write_line(f"{len(nodeids)} skipped: {reason}")
        terminalreporter.write_line(f"    run them: {(env + ' ') if env else ''}./scripts/test {' '.join(files)}")
