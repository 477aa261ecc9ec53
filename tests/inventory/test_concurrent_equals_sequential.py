"""`discover` with a pool of workers finds exactly what a one-worker (sequential) scan finds, on the sandbox: an
organization of 4 accounts x 5 Regions with assets in several of them; and the scan's clients share connections."""

from __future__ import annotations

import gc
from typing import Any

from botocore.config import Config

from bedrockctl.aws.session import SessionFactory
from bedrockctl.plugins.scan import fewer_collections
from bedrockctl.services.inventory import discover
from bedrockctl.settings import AwsSettings
from inventory.estate import seed_bedrock
from inventory.test_discover import EXTERNAL_ID, ROLE, _org

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
TYPES = {"aws_bedrock": ["guardrail", "provisioned_throughput", "custom_model", "model"]}


def _scan(workers: int) -> dict[str, Any]:
    org = {"accounts": "org", "role_name": ROLE, "external_id": EXTERNAL_ID}
    base = SessionFactory(AwsSettings(region="us-east-1"))
    rep = discover(base, plugins=["aws_bedrock"], regions=REGIONS, asset_types=TYPES, max_workers=workers, **org)
    rep.pop("duration_s")
    return rep


def test_concurrent_scan_equals_sequential(sandbox_env):
    members = _org(sandbox_env.endpoint_url, 3)
    seed_bedrock(sandbox_env.endpoint_url, logging=False)
    sequential = _scan(1)
    concurrent = _scan(32)
    assert sequential["targets"] == 4 * len(REGIONS) * len(TYPES["aws_bedrock"])
    assert sequential["targets_ok"] == sequential["targets"] and sequential["errors"] == []
    assert len(sequential["accounts"]) == 4 and set(members) <= set(sequential["accounts"])
    assert sequential["assets_by_type"]["aws_bedrock:guardrail"] >= 6  # 2 per member + the estate's
    assert concurrent == sequential  # every asset, in the same order, field for field


def test_a_family_of_factories_shares_one_pool_per_endpoint(sandbox_env):
    base = SessionFactory(AwsSettings(region="us-east-1"))
    other = base.pinned()
    clients = [f.client("bedrock", r) for f in (base, other) for r in REGIONS]
    assert len({id(c._endpoint.http_session) for c in clients}) == 1  # one endpoint (the sandbox)
    assert base.client("bedrock", "us-east-1") is clients[0]  # built once, then reused
    for c in clients:
        assert c.list_guardrails()["guardrails"] == []  # each signs with its own credentials, same connections
    probe = base.with_config(Config(read_timeout=3))
    assert probe.client("bedrock")._endpoint.http_session is not clients[0]._endpoint.http_session  # other timeouts


def test_fewer_collections_restores_the_threshold():
    before = gc.get_threshold()
    with fewer_collections(before[0] + 1_000):
        assert gc.get_threshold()[0] == before[0] + 1_000
        with fewer_collections(before[0] + 500):  # already raised: left alone
            assert gc.get_threshold()[0] == before[0] + 1_000
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
