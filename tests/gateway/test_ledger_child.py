"""The ledger's child process (one per batch) starts light: neither SQLAlchemy nor the gateway's modules load in
it, only the record and the analytics store (what it costs per batch: docs/gateway.md, bench/RESULTS.md); the
columns it builds from the records directly are those of the records' invocation logs through the log parser."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bedrockctl.analytics.record_columns import INV_COLUMNS
from bedrockctl.analytics.records import Columns, add_invocation
from bedrockctl.analytics.store import UsageStore
from bedrockctl.services.gateway_ledger import gateway_columns, stored_layout
from bedrockctl.store.audit_record import FIELDS, AuditRecord, _values

CHILD = """
import json, sys
from bedrockctl.services.gateway_ledger import ledger_child, gateway_columns
import bedrockctl.analytics.records, bedrockctl.analytics.store
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic")
                        or m.startswith("bedrockctl.server"))))
"""


def test_the_ledger_child_imports_no_database_layer_nor_the_gateway() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(out.stdout) == []


def parsed(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]] | str:
    """The ledger's columns through the records' invocation logs and the log parser (or the error it raises)."""
    cols = Columns()
    try:
        for row in rows:
            rec = AuditRecord(*row)
            if (
                rec.operation
                in ("Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "Embeddings")
                and rec.http_status < 500
            ):
                add_invocation(cols, rec.invocation_log(), source="gateway")
    except (KeyError, TypeError, ValueError) as exc:
        return type(exc).__name__
    return cols.inv


def direct(rows: list[tuple[Any, ...]]) -> dict[str, list[Any]] | str:
    try:
        return gateway_columns(rows).inv  # type: ignore[no-any-return]
    except (KeyError, TypeError, ValueError) as exc:
        return type(exc).__name__


NOW = time.time()
text = st.one_of(
    st.none(), st.sampled_from(["", "ml", "alice", "prod", "k-1", "openai", "bedrock"]), st.text(max_size=8)
)
models = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "anthropic.claude-3-haiku-20240307-v1:0",
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1",
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc",
            "not a model",
        ]
    ),
)


def rows(odd: bool) -> st.SearchStrategy[tuple[Any, ...]]:
    """Records as the gateway writes them (sanitized: text or None, whole numbers, a float time), or with ``odd``
    values of other types and out of range as well (which the direct path leaves to the parser)."""
    counts = st.integers(0, 10**6)
    stamps = st.floats(NOW - 10**8, NOW + 10**6)
    ids = st.text(min_size=1, max_size=12)
    if odd:
        counts = st.one_of(counts, st.sampled_from([-1, 2**63 - 1, 2**63, True]), st.floats(0, 10))
        stamps = st.one_of(stamps, st.sampled_from([0.0, 0.9995, 1e12, -1.5]), st.integers(0, 2**31))
        ids = st.one_of(ids, st.just(""), st.integers())
    operations = ["Converse", "ConverseStream", "InvokeModel", "InvokeModelWithResponseStream", "Embeddings"]
    statuses = ["ok", "guardrail_intervened", "incomplete", "ThrottlingException", "rate_limited"]
    return st.tuples(
        stamps,
        ids,
        *(text,) * 4,  # key, user, team, environment
        st.sampled_from(["bedrock", "openai", "anthropic"]),
        st.sampled_from([*operations, "CountTokens", "ListModels"]),
        models,
        models,
        st.one_of(st.none(), st.sampled_from(["us-east-1", "eu-west-1"])),
        counts,
        counts,
        st.integers(0, 10**6),  # cost
        st.sampled_from(statuses),
        st.sampled_from([200, 400, 429, 499, 500, 502]),
        counts,  # latency
        st.integers(0, 3),
        text,
        text,
        st.integers(0, 100),
    )


TYPICAL = (
    NOW,
    "req-1",
    "k-1",
    "alice",
    "ml",
    "prod",
    "openai",
    "Converse",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "us-east-1",
    100,
    20,
    1234,
    "ok",
    200,
    3,
    1,
    "curl",
    "r-1",
    0,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(rows(odd=False), max_size=12))
@example([TYPICAL, (*TYPICAL[:1], "req-2", *TYPICAL[2:14], "ThrottlingException", 429, *TYPICAL[16:])])
def test_the_direct_columns_are_those_of_the_invocation_logs(batch: list[tuple[Any, ...]]) -> None:
    assert len(FIELDS) == len(TYPICAL)
    got = direct(batch)
    assert isinstance(got, dict)
    assert got == parsed(batch)


@settings(max_examples=300, deadline=None)
@given(st.lists(rows(odd=True), max_size=3))
@example([TYPICAL, (*TYPICAL[:11], -5, *TYPICAL[12:])])  # a negative count: the parser's error, not a row
def test_odd_records_give_the_parsers_columns_or_its_error(batch: list[tuple[Any, ...]]) -> None:
    assert direct(batch) == parsed(batch)


def test_the_direct_columns_fill_every_column_for_a_whole_batch() -> None:
    rows = (
        [(*TYPICAL[:1], f"req-{i}", *TYPICAL[2:]) for i in range(3)]
        + [
            _values(AuditRecord(*(*TYPICAL[:1], "req-x", *TYPICAL[2:11], True, *TYPICAL[12:])))  # parser's path
        ]
        + [(*TYPICAL[:1], "req-last", *TYPICAL[2:])]
    )
    cols = gateway_columns(rows)
    assert {len(v) for v in cols.inv.values()} == {5}
    assert set(cols.inv) == {n for n, _ in INV_COLUMNS}
    assert cols.inv["request_id"] == ["req-0", "req-1", "req-2", "req-x", "req-last"]
    assert cols.inv == parsed(rows)


def test_the_stored_layout_is_what_the_store_makes_of_the_columns(tmp_path: Path) -> None:
    """The child writes the partitions itself (``stored_layout``, one Parquet write): the store holds the same rows,
    columns and types as when it partitions the staged columns itself; records of three days, one of them twice
    (kept once)."""
    day = 86_400.0
    rows = [(*TYPICAL[:1], f"req-{i}", *TYPICAL[2:]) for i in range(5)] + [
        (NOW - day + 0.5, "req-y", *TYPICAL[2:14], "ThrottlingException", 429, *TYPICAL[16:]),
        (NOW - 2 * day + 0.0015, "req-z", *TYPICAL[2:]),
        (NOW + 0.25, "req-0", *TYPICAL[2:]),  # a duplicate request id on the same day
    ]
    seen = []
    for name in ("parsed", "direct"):
        store = UsageStore(tmp_path / name)
        staging = store.new_staging()
        odd: list[int] = []
        cols = gateway_columns(rows, odd)
        assert odd == []
        if name == "parsed":
            store.stage(cols, staging)
            store.commit(staging)
        else:
            store.commit(staging, fast_inv=[stored_layout(cols, staging)])
        con = store.connect()
        try:
            described = con.execute("DESCRIBE SELECT * FROM inv").fetchall()
            stored = con.execute("SELECT * FROM invocations ORDER BY request_id, day").fetchall()
        finally:
            con.close()
        seen.append((described, stored))
    assert seen[0] == seen[1]
    assert len(seen[1][1]) == 7 and len({r[0] for r in seen[1][1]}) == 7
