"""1-hour cache writes end to end: the sandbox reports the TTL split (Converse ``usage.cacheDetails``, Anthropic
``usage.cache_creation``, the invocation log's ``input.cacheDetails``); the runtime prices each write at its TTL's
rate in ``CallMeta.cost_usd``; ``usage report`` prices the ingested logs the same way (both ingest paths), and a
usage store written before the 1-hour column existed still reads (its writes as 5-minute ones)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bedrockctl.analytics.ingest import ingest
from bedrockctl.analytics.reports import duckdb_runner, run_report
from bedrockctl.analytics.store import UsageStore
from bedrockctl.runtime import Runtime

SONNET_45_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
# Claude Sonnet 4.5 through a US geographic profile bills the source Region's (us-east-1) on-demand rates, USD per
# 1,000 tokens, from the AWS pricing page (written out here, not read from the code under test).
INPUT, OUTPUT, WRITE_5M, WRITE_1H = Decimal("0.0033"), Decimal("0.0165"), Decimal("0.004125"), Decimal("0.0066")


def _by_hand(inp: int, out: int, five: int, hour: int) -> Decimal:
    return (inp * INPUT + out * OUTPUT + five * WRITE_5M + hour * WRITE_1H) / 1000


def _calls(rt: Runtime) -> list[Any]:
    """A Converse call writing a 1-hour and a 5-minute prefix, then an Anthropic InvokeModel writing a 1-hour one."""
    one, two = f"Policy handbook {uuid.uuid4()}. " * 30, f"Style guide {uuid.uuid4()}. " * 20
    system = [
        {"text": one},
        {"cachePoint": {"type": "default", "ttl": "1h"}},
        {"text": two},
        {"cachePoint": {"type": "default", "ttl": "5m"}},
    ]
    conv = rt.converse(SONNET_45_US, prompt="hello", system=system, max_tokens=40, use_cache=False)
    doc = f"Reference manual {uuid.uuid4()}. " * 40
    question = [{"role": "user", "content": [{"type": "text", "text": "summarise"}]}]
    body: dict[str, Any] = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 40, "messages": question}
    body["system"] = [{"type": "text", "text": doc, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    inv = rt.invoke_model(SONNET_45_US, body, use_cache=False)
    return [conv.meta, inv.meta]


def test_runtime_prices_each_cache_write_at_its_ttl_rate(rt: Runtime, invocation_log_reader: Callable[[], Any]) -> None:
    conv, inv = _calls(rt)
    records = invocation_log_reader()
    logged_conv, logged_inv = (r["input"] for r in records)
    hour = next(d["inputTokens"] for d in logged_conv["cacheDetails"] if d["ttl"] == "1h")
    five = next(d["inputTokens"] for d in logged_conv["cacheDetails"] if d["ttl"] == "5m")
    assert hour > 0 and five > 0
    assert (conv.usage.cache_write_1h_tokens, conv.usage.cache_write_tokens) == (hour, five)
    assert conv.cost_usd == _by_hand(conv.usage.input_tokens, conv.usage.output_tokens, five, hour)
    written = logged_inv["cacheWriteInputTokenCount"]
    assert written > 0 and logged_inv["cacheDetails"] == [{"ttl": "1h", "inputTokens": written}]
    assert (inv.usage.cache_write_1h_tokens, inv.usage.cache_write_tokens) == (written, 0)
    assert inv.cost_usd == _by_hand(inv.usage.input_tokens, inv.usage.output_tokens, 0, written)
    # the 1-hour rate is what moved the price: at the 5-minute rate it would be less
    assert inv.cost_usd > _by_hand(inv.usage.input_tokens, inv.usage.output_tokens, written, 0)


def _report(store: UsageStore) -> Any:
    con = store.connect()
    try:
        return run_report(duckdb_runner(con), "model")
    finally:
        con.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "python-parser"])
def test_usage_report_prices_ingested_1h_writes_like_the_runtime(
    rt: Runtime, invocation_log_reader: Callable[[], Any], tmp_path: Path, fast: bool
) -> None:
    metas = _calls(rt)
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in invocation_log_reader()))
    store = UsageStore(tmp_path / "usage")
    done = ingest(store, [str(logs)], fast=fast, progress=False)
    assert done.fast_records == (2 if fast else 0)  # the DuckDB scan read them, not a fallback
    report = _report(store)
    (row,) = report.rows
    assert row["model"] == SONNET_45_US and row["invocations"] == 2
    assert row["cost_usd"] == sum(m.cost_usd for m in metas)
    expected = sum(
        _by_hand(m.usage.input_tokens, m.usage.output_tokens, m.usage.cache_write_tokens, m.usage.cache_write_1h_tokens)
        for m in metas
    )
    assert row["cost_usd"] == expected
    assert row["cache_write_tokens"] == sum(m.usage.cache_write_tokens + m.usage.cache_write_1h_tokens for m in metas)


def test_store_written_before_the_1h_column_still_reads(
    rt: Runtime, invocation_log_reader: Callable[[], Any], tmp_path: Path
) -> None:
    metas = _calls(rt)
    logs = tmp_path / "logs.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in invocation_log_reader()))
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(logs)], fast=False, progress=False)
    files = sorted((tmp_path / "usage").rglob("*.parquet"))
    assert files
    for path in files:  # what an older bedrockctl wrote: no cache_write_1h_tokens column
        table = pq.read_table(path)
        if "cache_write_1h_tokens" in table.column_names:
            pq.write_table(table.drop(["cache_write_1h_tokens"]), path)
    report = _report(store)
    (row,) = report.rows
    # without the split every write prices at the 5-minute rate, as the old store did
    old = sum(
        _by_hand(
            m.usage.input_tokens,
            m.usage.output_tokens,
            m.usage.cache_write_tokens + m.usage.cache_write_1h_tokens,
            0,
        )
        for m in metas
    )
    assert row["cost_usd"] == old
