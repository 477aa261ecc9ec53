"""OpenCITE's documented programmatic examples (seed document 000, copied verbatim into
data/opencite_aws_examples.txt) run unchanged against the sandbox over HTTP.

The only thing the test supplies is the module OpenCITE's first line imports: ``open_cite.plugins.registry`` is
bedrockctl's registry (``sys.modules`` aliases for the test's duration). Their printed lines are checked against
the seeded estate, so the examples must not only run but tell the truth.
"""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.plugins import registry
from inventory.estate import HAIKU
from plugins.opencite_estate import (
    EXAMPLE_ENDPOINT,
    EXAMPLE_INVOCATIONS,
    OpenCiteEstate,
    seed_opencite_estate,
    write_profile,
)

EXAMPLES = Path(__file__).parent / "data" / "opencite_aws_examples.txt"
MOTO_USER = "arn:aws:iam::123456789012:user/moto"


def example_blocks() -> dict[str, str]:
    """``{"aws_bedrock": code, "aws_sagemaker": code}`` from the fixture's ``## <plugin>`` sections."""
    text = EXAMPLES.read_text(encoding="utf-8")
    found = dict(re.findall(r"^## (\w+)\n\n```python\n(.*?)^```", text, flags=re.S | re.M))
    assert set(found) == {"aws_bedrock", "aws_sagemaker"}
    return found


@pytest.fixture
def open_cite_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import open_cite.plugins.registry`` gives bedrockctl's registry."""
    root, plugins = types.ModuleType("open_cite"), types.ModuleType("open_cite.plugins")
    root.plugins = plugins  # type: ignore[attr-defined]
    plugins.registry = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "open_cite", root)
    monkeypatch.setitem(sys.modules, "open_cite.plugins", plugins)
    monkeypatch.setitem(sys.modules, "open_cite.plugins.registry", registry)


@pytest.fixture
def seeded(sandbox_env: Any, open_cite_alias: None) -> OpenCiteEstate:
    write_profile(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
    return seed_opencite_estate(sandbox_env.endpoint_url)


def run_example(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], list[str]]:
    namespace: dict[str, Any] = {"__name__": f"opencite_example_{name}"}
    exec(compile(example_blocks()[name], str(EXAMPLES), "exec"), namespace)  # noqa: S102 - our own fixture
    return namespace, capsys.readouterr().out.splitlines()


def test_fixture_holds_the_documented_blocks_unchanged() -> None:
    blocks = example_blocks()
    for name, code in blocks.items():
        assert code.startswith("from open_cite.plugins.registry import create_plugin_instance\n")
        assert f'plugin = create_plugin_instance("{name}", {{' in code
    assert 'plugin.get_endpoint_invocation_metrics("my-endpoint", days=7)' in blocks["aws_sagemaker"]
    assert '"profile": "my-profile",' in blocks["aws_bedrock"]


def test_bedrock_example_runs_unchanged(seeded: OpenCiteEstate, capsys: pytest.CaptureFixture[str]) -> None:
    ns, lines = run_example("aws_bedrock", capsys)
    plugin, status, models = ns["plugin"], ns["status"], ns["models"]
    assert plugin.config["profile"] == "my-profile"
    assert status["credential_source"] == "shared-credentials-file"  # the example's profile, not the environment
    text_models = sum("TEXT" in m["output_modalities"] for m in models)
    assert lines[0] == f"Models available: {text_models}" and text_models > 10
    haiku = next(m for m in models if m["id"] == HAIKU)
    assert f"{haiku['provider']}/{haiku['name']} — streaming: True" == "Anthropic/Claude 3 Haiku — streaming: True"
    assert "Anthropic/Claude 3 Haiku — streaming: True" in lines
    assert [c["name"] for c in ns["custom"]] == [seeded.estate.custom_model_name]
    assert [t["id"] for t in ns["throughput"]] == [seeded.estate.pt_arn]
    assert sorted(i["event_name"] for i in ns["invocations"]) == sorted(
        ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream"]
    )
    assert lines[-1] == f"{HAIKU}: 4 calls, 1 users"
    assert ns["usage_by_user"][MOTO_USER]["models_used"] == [HAIKU]


def test_sagemaker_example_runs_unchanged(seeded: OpenCiteEstate, capsys: pytest.CaptureFixture[str]) -> None:
    ns, lines = run_example("aws_sagemaker", capsys)
    est = seeded.estate
    assert sorted(lines[:3]) == sorted(
        [
            f"{EXAMPLE_ENDPOINT}: InService (ml.c5.xlarge)",
            f"{est.endpoint}: InService (ml.g4dn.xlarge)",
            f"{est.idle_endpoint}: InService (ml.m5.large)",
        ]
    )
    assert sorted(m["name"] for m in ns["models"]) == sorted(est.sm_models)
    assert len(ns["packages"]) == 3 and [j["name"] for j in ns["jobs"]] == [est.training_job]
    assert lines[3] == f"Invocations: {EXAMPLE_INVOCATIONS}, Latency: 25.0ms"
    assert ns["all_metrics"][0]["endpoint_name"] == EXAMPLE_ENDPOINT  # most invoked first
    assert lines[4:] == ["Active endpoints: 1", f"Total invocations: {EXAMPLE_INVOCATIONS}"]
