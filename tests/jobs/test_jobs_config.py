"""[jobs] and the backstop settings: defaults, coercion from the environment-style strings, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bedrockctl.config import load_settings
from bedrockctl.errors import ConfigError
from bedrockctl.settings import Settings


def _load(tmp_path: Path, text: str) -> Settings:
    cfg = tmp_path / "bedrockctl.toml"
    cfg.write_text(text)
    return load_settings(config_path=cfg, env={}, cwd=tmp_path, home=tmp_path)


def test_defaults_and_values(tmp_path: Path) -> None:
    s = _load(tmp_path, "")
    assert (s.jobs.discovery_interval, s.jobs.ingest_interval, s.jobs.budgets_interval) == (None, None, None)
    s = _load(
        tmp_path,
        '[jobs]\ningest_interval = "900"\ningest_sources = "cloudwatch:/g, lookup"\nlease_seconds = 30\n'
        '[environments.batch]\nbackstop_action = "deny"\nprincipals = ["arn:aws:iam::123456789012:user/*"]\n',
    )
    assert s.jobs.ingest_interval == 900 and s.jobs.ingest_sources == ["cloudwatch:/g", "lookup"]
    assert s.jobs.lease_seconds == 30 and s.jobs.poll_seconds == 1.0
    env = s.environments["batch"]
    assert env.backstop_action == "deny" and env.principals == ["arn:aws:iam::123456789012:user/*"]
    assert s.sources["jobs.ingest_interval"].startswith("file:")


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[jobs]\nbudgets_interval = 0\n", "jobs.budgets_interval", "at least 1"),
        ("[jobs]\npoll_seconds = 0\n", "jobs.poll_seconds", "between 0 and 60"),
        ("[jobs]\ningest_interval = 60\n", "jobs.ingest_sources", "at least one source"),
        ("[jobs]\nwhen = 1\n", "jobs.when", "one of the keys"),
        ('[environments.x]\nbackstop_action = "nuke"\n', "environments.x.backstop_action", "alert or deny"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.details["key"] == key and expected in info.value.message
