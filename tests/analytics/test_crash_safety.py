"""``kill -9`` of a real ``bedrockctl usage ingest`` at named points (``BEDROCKCTL_CRASH_AT``, see
``bedrockctl.files.crash_point``): the store stays readable in between, and the next run recovers by itself to
exactly what one clean ingest of the same input gives (count, tokens, cost), with checkpoints that match the
manifest and no leftovers.

The killed run is a re-ingest whose new files duplicate stored records, so it goes through the de-duplicating
copy for both tables (the path that used to leave a truncated Parquet file in the store).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bedrockctl.analytics.manifest import MANIFEST, TABLES

pytestmark = pytest.mark.slow

MODELS = ("anthropic.claude-3-haiku-20240307-v1:0", "us.anthropic.claude-3-7-sonnet-20250219-v1:0")
ARN = "arn:aws:sts::111122223333:assumed-role/dev/{}"


def _today_at_noon() -> dt.datetime:
    """Noon UTC today: the records lie between 1 and 3 hours before it on each day, so at any time of day the same
    days (and so the same number of day files, which the ``commit.renamed:N`` crash points count) are written; with
    ``now`` itself, a run in the first hours after midnight put them on other days and changed that number."""
    return dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _ts(now: dt.datetime, days_ago: int, n: int) -> str:
    return (now - dt.timedelta(days=days_ago, hours=1, minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record(now: dt.datetime, n: int, days_ago: int) -> str:
    return json.dumps(
        {
            "schemaType": "ModelInvocationLog",
            "schemaVersion": "1.0",
            "timestamp": _ts(now, days_ago, n),
            "accountId": "111122223333",
            "identity": {"arn": ARN.format(("alice", "bob", "carol")[n % 3])},
            "region": "us-east-1",
            "requestId": f"req-{n:05d}",
            "operation": "Converse",
            "modelId": MODELS[n % 2],
            "input": {"inputTokenCount": 100 + 7 * n, "cacheReadInputTokenCount": 64 * (n % 4)},
            "output": {"outputTokenCount": 10 + 3 * n},
            "requestMetadata": {"team": f"t{n % 2}"},
        }
    )


def _events(now: dt.datetime, ids: range, linked: int, days_ago: int) -> list[dict[str, Any]]:
    """CloudTrail runtime events ``e-<i>``; the first ``linked`` carry the request id of invocation ``i``."""
    return [
        {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "arn": ARN.format("alice"), "accountId": "111122223333"},
            "eventTime": _ts(now, days_ago, i),
            "eventSource": "bedrock.amazonaws.com",
            "eventName": "Converse",
            "awsRegion": "us-east-1",
            "sourceIPAddress": f"203.0.113.{i}",
            "userAgent": "crash-test",
            "requestParameters": {"modelId": MODELS[i % 2]},
            "requestID": f"req-{i:05d}" if k < linked else f"trail-only-{i}",
            "eventID": f"e-{i}",
            "recipientAccountId": "111122223333",
        }
        for k, i in enumerate(ids)
    ]


def _first_batch(src: Path, now: dt.datetime) -> None:
    (src / "inv").mkdir(parents=True)
    (src / "trail").mkdir()
    (src / "inv" / "a.jsonl").write_text("\n".join(_record(now, n, 3) for n in range(40)) + "\n")
    (src / "inv" / "b.jsonl").write_text("\n".join(_record(now, n, 2) for n in range(40, 80)) + "\n")
    (src / "trail" / "t1.json").write_text(json.dumps({"Records": _events(now, range(10), 5, 3)}))


def _second_batch(src: Path, now: dt.datetime) -> None:
    """New records on two days, and records already stored (de-duplicating copy for both tables)."""
    new = [_record(now, n, 2 if n < 95 else 1) for n in range(80, 110)]
    again = (src / "inv" / "a.jsonl").read_text().splitlines()[:15]
    (src / "inv" / "c.jsonl").write_text("\n".join(new + again) + "\n")
    events = _events(now, range(80, 90), 6, 1) + _events(now, range(5), 5, 3)
    (src / "trail" / "t2.json").write_text(json.dumps({"Records": events}))


def _bedrockctl(data: Path, src: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BEDROCKCTL_DATA_DIR": str(data), "HOME": str(data.parent)}
    env.pop("BEDROCKCTL_CRASH_AT", None)
    if crash:
        env["BEDROCKCTL_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, "-m", "bedrockctl.cli.main", *args],
        env=env,
        cwd=data.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _ingest(data: Path, src: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    return _bedrockctl(
        data, src, "usage", "ingest", "--invocation-logs", str(src / "inv"), "--cloudtrail", str(src / "trail"),
        "--json", crash=crash,
    )  # fmt: skip


def _manifest(data: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((data / "usage" / MANIFEST).read_text())
    return doc


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sources, a store holding the first batch (copied for every crash), and one clean ingest of it all."""
    root = tmp_path_factory.mktemp("crash")
    now = _today_at_noon()
    src = root / "src"
    _first_batch(src, now)
    baseline = root / "baseline" / "data"
    baseline.parent.mkdir()
    assert _ingest(baseline, src).returncode == 0
    _second_batch(src, now)
    clean = root / "clean" / "data"
    clean.parent.mkdir()
    res = _ingest(clean, src)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["duplicates"] == 20  # in-run duplicates of the clean ingest: 15 + 5
    return {"src": src, "baseline": baseline, "clean": clean}


def _report(cli: Callable[..., Any], data: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``usage report --json`` over ``data`` (in-process CLI)."""
    monkeypatch.setenv("BEDROCKCTL_DATA_DIR", str(data))
    res = cli("usage", "report", "--by", "model,user", "--json")
    assert res.exit_code == 0, res.output
    doc: dict[str, Any] = json.loads(res.output)
    return {"totals": doc["totals"], "rows": doc["rows"]}


def _assert_no_leftovers(data: Path) -> None:
    usage = data / "usage"
    live = _manifest(data)["tables"]
    for table in TABLES:
        on_disk = sorted(f"{p.parent.name}/{p.name}" for p in (usage / table).rglob("*") if p.is_file())
        assert on_disk == sorted(live[table])
    assert sorted(p.name for p in usage.iterdir() if p.is_file()) == [".lock", MANIFEST]
    assert not list((usage / "_staging").iterdir())


# (crash points of consecutive killed runs, whether the last killed run's records were published)
CASES = [
    (["ingest.fast-scanned"], False),  # fast-path Parquet in the staging directory
    (["ingest.staged"], False),  # every chunk staged, commit not started
    (["commit.partitioned"], False),  # under the store lock, staged chunks split by day
    (["commit.dedup-copy"], False),  # the de-duplicating copy cut in half (what a kill mid-write leaves)
    (["commit.renamed:1"], False),  # one file moved into a day directory, the others not
    (["commit.renamed:2"], False),  # two moved (a second run writes three day files)
    (["commit.renamed-all"], False),  # all files in the day directories, manifest not written
    (["manifest.temp-partial"], False),  # half a manifest in its temp file
    (["manifest.temp-written"], False),  # complete temp manifest, not renamed
    (["manifest.renamed"], True),  # manifest replaced, directory not synced yet
    (["commit.published"], True),  # published, staging directory not removed
    (["commit.renamed-all", "recover.removed"], False),  # the next run killed while removing the first's files
]


@pytest.mark.parametrize(("points", "published"), CASES, ids=["+".join(c[0]) for c in CASES])
def test_kill_9_anywhere_then_the_next_run_gives_exact_totals(
    runs: dict[str, Any],
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    points: list[str],
    published: bool,
) -> None:
    src, data = runs["src"], tmp_path / "data"
    shutil.copytree(runs["baseline"], data)
    before = _report(cli, data, monkeypatch)
    expected = _report(cli, runs["clean"], monkeypatch)
    assert before["totals"]["invocations"] < expected["totals"]["invocations"]
    print(f"\n{'+'.join(points)}: before {before['totals']}\nexpected {expected['totals']}")

    for point in points:
        killed = _ingest(data, src, crash=point)
        assert killed.returncode == -signal.SIGKILL, f"{point} not reached: {killed.stderr[-2000:]}"
        # readable in between: the previous state, or the new one once its manifest is in place
        assert _report(cli, data, monkeypatch) == (expected if published else before)
        checkpoints = _manifest(data)["checkpoints"]
        assert (str(src / "inv" / "c.jsonl") in " ".join(checkpoints)) == published

    again = _ingest(data, src)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["units_read"] == (0 if published else 2)  # the checkpoints matched what was published
    assert _report(cli, data, monkeypatch) == expected
    assert _manifest(data)["checkpoints"] == _manifest(runs["clean"])["checkpoints"]
    _assert_no_leftovers(data)
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    assert ingest(UsageStore(data / "usage"), [str(src / "inv"), str(src / "trail")]).units_skipped == 5  # all read


# -- stores a kill cannot produce any more: from before manifests, a damaged manifest, a file removed by hand -----
def _in_process_store(tmp_path: Path) -> tuple[Any, Path, dict[str, Any]]:
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    now = _today_at_noon()
    src = tmp_path / "src"
    _first_batch(src, now)
    store = UsageStore(tmp_path / "usage")
    ingest(store, [str(src / "inv"), str(src / "trail")])
    return store, src, _totals(store)


def _totals(store: Any) -> dict[str, Any]:
    con = store.connect()
    try:
        row = con.execute(
            "SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens) FROM invocations"
        ).fetchone()
    finally:
        con.close()
    return {"invocations": row[0], "input": row[1], "output": row[2], "cache_read": row[3]}


def _reingest_is_exact(store: Any, src: Path, totals: dict[str, Any]) -> None:
    from bedrockctl.analytics.ingest import ingest

    rep = ingest(store, [str(src / "inv"), str(src / "trail")])
    assert (rep.units_read, rep.new_invocations, rep.new_trail_events) == (3, 0, 0)  # re-read, all duplicates
    assert _totals(store) == totals


def test_a_store_from_before_manifests_is_adopted_and_its_truncated_file_dropped(tmp_path: Path) -> None:
    store, src, totals = _in_process_store(tmp_path)
    live = json.loads((store.root / MANIFEST).read_text())
    (store.root / MANIFEST).unlink()
    (store.root / "checkpoints.json").write_text(json.dumps(live["checkpoints"]))
    good = store.root / "invocations" / live["tables"]["invocations"][0]
    cut = good.with_name("part-killed-mid-copy.parquet")  # what the old de-duplicating copy left after kill -9
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])

    assert _totals(store) == totals  # a reader adopts the complete files
    adopted = json.loads((store.root / MANIFEST).read_text())
    assert sorted(adopted["tables"]["invocations"]) == sorted(live["tables"]["invocations"])
    assert not cut.exists() and not (store.root / "checkpoints.json").exists()
    assert adopted["checkpoints"] == {}  # a file was incomplete: its sources are read again
    _reingest_is_exact(store, src, totals)


def test_a_legacy_store_keeps_its_checkpoints(tmp_path: Path) -> None:
    store, _, totals = _in_process_store(tmp_path)
    live = json.loads((store.root / MANIFEST).read_text())
    (store.root / MANIFEST).unlink()
    (store.root / "checkpoints.json").write_text(json.dumps(live["checkpoints"]))
    assert _totals(store) == totals
    assert json.loads((store.root / MANIFEST).read_text())["checkpoints"] == live["checkpoints"]


DAMAGED = [
    b"",
    b'{"format": 1, "generation": 3, "tables": {"invo',  # cut short
    b'{"format": 1, "generation": 3, "tables": {"invocations": ["../../x.parquet"]}, "checkpoints": {}}',
    b"\0" * 64,
]


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_manifest_is_rebuilt_from_the_files(tmp_path: Path, damage: bytes) -> None:
    store, src, totals = _in_process_store(tmp_path)
    (store.root / MANIFEST).write_bytes(damage)
    assert _totals(store) == totals
    assert json.loads((store.root / MANIFEST).read_text())["checkpoints"] == {}
    _reingest_is_exact(store, src, totals)


def test_a_file_removed_by_hand_is_read_again(tmp_path: Path) -> None:
    store, src, totals = _in_process_store(tmp_path)
    live = json.loads((store.root / MANIFEST).read_text())
    (store.root / "invocations" / live["tables"]["invocations"][0]).unlink()
    assert _totals(store)["invocations"] < totals["invocations"]  # readable, without the file
    from bedrockctl.analytics.ingest import ingest

    ingest(store, [str(src / "inv"), str(src / "trail")])  # checkpoints were reset: the sources are read again
    assert _totals(store) == totals


def test_a_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    from bedrockctl.analytics.errors import UsageStoreBusy
    from bedrockctl.analytics.store import UsageStore

    store, other = UsageStore(tmp_path / "usage"), UsageStore(tmp_path / "usage")
    with store.writing(), pytest.raises(UsageStoreBusy) as err, other.writing(timeout=0.2):
        pass
    assert err.value.code == "BRC-USG-007"
