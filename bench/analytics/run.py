"""Analytics benchmark: ingest + report of N metadata-only invocation-log records, beside two baselines.

    .venv/bin/python bench/analytics/run.py --records 200000
    .venv/bin/python bench/analytics/run.py --records 10000000 --write-results
    .venv/bin/python bench/analytics/run.py --records 10000000 --data /tmp/brc-10m   # generate once, reuse

Generates N records across many ``.json.gz`` files (S3 delivery layout, one JSON line per record) plus a CloudTrail
set (trail files for 1% of the calls) into a temporary directory (deleted afterwards, never committed), then
measures in one run:
  1. plain orjson loop   -- decompress + orjson.loads every line + sum the token fields (one process)
  2. DuckDB raw          -- read_json over the same files (schema auto-detected), sum the token fields
  3. DuckDB raw, typed   -- the same with the explicit column schema the fast path uses
  4. bedrockctl          -- `usage ingest` (parse, dedupe, Parquet by day) + `usage report --by model` (with cost)
Every path must produce the generator's exact totals, or the run fails. ``--data DIR`` keeps the generated set in
DIR (with its expected totals) and reuses it on the next run. Wall and CPU seconds (this process and its children)
are printed for each path, with the load average before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import orjson

MODELS = [
    "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.nova-lite-v1:0",
    "meta.llama3-1-70b-instruct-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.amazon.nova-pro-v1:0",
]
ARNS = [
    "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Developer_0a1b2c3d4e5f6a7b/user{}@example.com",
    "arn:aws:iam::111122223333:user/svc{}",
    "arn:aws:sts::111122223333:assumed-role/ci-runner/build-{}",
]
TEMPLATE = (
    '{{"schemaType":"ModelInvocationLog","schemaVersion":"1.0","timestamp":"{ts}","accountId":"111122223333",'
    '"identity":{{"arn":"{arn}"}},"region":"us-east-1","requestId":"{rid}","operation":"Converse",'
    '"modelId":"{model}","input":{{"inputContentType":"application/json","inputTokenCount":{i},'
    '"cacheReadInputTokenCount":{cr},"cacheWriteInputTokenCount":{cw}}},"output":{{"outputContentType":'
    '"application/json","outputTokenCount":{o}}},"requestMetadata":{{"team":"t{team}","workflow":"w{wf}"}},'
    '"metrics":{{"latencyMs":{lat}}}}}'
)
TRAIL = (
    '{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","arn":"{arn}","accountId":"111122223333"}},'
    '"eventTime":"{ts}","eventSource":"bedrock.amazonaws.com","eventName":"Converse","awsRegion":"us-east-1",'
    '"sourceIPAddress":"203.0.113.{ip}","userAgent":"bench","requestParameters":{{"modelId":"{model}"}},'
    '"responseElements":null,"requestID":"{rid}","eventID":"e-{rid}","readOnly":true,"eventType":"AwsApiCall",'
    '"managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"}}'
)


LINE = (
    TEMPLATE.replace("{{", "{")
    .replace("}}", "}")
    .replace("%", "%%")
    .replace("{ts}", "%s")
    .replace("{arn}", "%s")
    .replace("{rid}", "%08x-0000-4000-8000-%012x")
    .replace("{model}", "%s")
    .replace("{i}", "%d")
    .replace("{cr}", "%d")
    .replace("{cw}", "%d")
    .replace("{o}", "%d")
    .replace("{team}", "%d")
    .replace("{wf}", "%d")
    .replace("{lat}", "%d")
)
CACHE_READ = (0, 0, 0, 1024, 4096)
CACHE_WRITE = (0, 0, 0, 0, 2048)
_CLOCK: list[str] = []  # "HH:MM:SS" of every second of a day, built once per process


def gen_file(args: tuple[str, int, int, int]) -> tuple[int, int, int, int, int]:
    """One log file (and its trail file): a %-template per line, one 64-bit draw per record for its numbers."""
    root, fidx, start, count = args
    if not _CLOCK:
        _CLOCK.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))
    bits = random.Random(fidx).getrandbits
    arns = [ARNS[k % 3].format(k % 97) for k in range(291)]  # n % 3 and n % 97 repeat every 291 records
    lines, trail = [], []
    ti = to = tcr = tcw = 0
    day = 1 + fidx % 28
    date = f"2026-10-{day:02d}T"
    for n in range(start, start + count):
        b = bits(64)
        i, b = 10 + b % 4991, b // 4991
        o, b = 1 + b % 2000, b // 2000
        cr, b = CACHE_READ[b % 5], b // 5
        cw, b = CACHE_WRITE[b % 5], b // 5
        lat = 100 + b % 2901
        ti, to, tcr, tcw = ti + i, to + o, tcr + cr, tcw + cw
        ts = date + _CLOCK[n % 86400] + "Z"
        arn = arns[n % 291]
        model = MODELS[n % len(MODELS)]
        lines.append(LINE % (ts, arn, n, fidx, model, i, cr, cw, o, n % 7, n % 13, lat))
        if n % 100 == 0:
            rid = f"{n:08x}-0000-4000-8000-{fidx:012x}"
            trail.append(TRAIL.format(arn=arn, ts=ts, ip=n % 250, model=model, rid=rid))
    d = Path(root) / "logs" / f"2026/10/{day:02d}"
    d.mkdir(parents=True, exist_ok=True)
    lines.append("")
    (d / f"part-{fidx:05d}.json.gz").write_bytes(gzip.compress("\n".join(lines).encode(), 1))
    t = Path(root) / "trail"
    t.mkdir(parents=True, exist_ok=True)
    body = '{"Records":[' + ",".join(trail) + "]}"
    (t / f"trail-{fidx:05d}.json.gz").write_bytes(gzip.compress(body.encode(), 1))
    return ti, to, tcr, tcw, count


def generate(root: Path, records: int, per_file: int, workers: int) -> dict[str, int]:
    tasks = []
    start = 0
    fidx = 0
    while start < records:
        count = min(per_file, records - start)
        tasks.append((str(root), fidx, start, count))
        start += count
        fidx += 1
    totals = [0, 0, 0, 0, 0]
    with ProcessPoolExecutor(workers) as pool:
        for res in pool.map(gen_file, tasks, chunksize=4):
            totals = [a + b for a, b in zip(totals, res, strict=True)]
    return dict(zip(("input", "output", "cache_read", "cache_write", "records"), totals, strict=True)) | {
        "files": len(tasks)
    }


def orjson_loop(root: Path) -> dict[str, int]:
    ti = to = tcr = tcw = n = 0
    loads = orjson.loads
    for p in sorted((root / "logs").rglob("*.json.gz")):
        for line in gzip.decompress(p.read_bytes()).split(b"\n"):
            if not line:
                continue
            r = loads(line)
            inp = r["input"]
            ti += inp["inputTokenCount"]
            tcr += inp["cacheReadInputTokenCount"]
            tcw += inp["cacheWriteInputTokenCount"]
            to += r["output"]["outputTokenCount"]
            n += 1
    return {"input": ti, "output": to, "cache_read": tcr, "cache_write": tcw, "records": n}


def duckdb_raw(root: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect()
    glob = (root / "logs" / "**" / "*.json.gz").as_posix()
    row = con.execute(
        f"SELECT sum(input.inputTokenCount), sum(output.outputTokenCount), sum(input.cacheReadInputTokenCount), "
        f"sum(input.cacheWriteInputTokenCount), count(*) FROM read_json('{glob}', format='newline_delimited')"
    ).fetchone()
    con.close()
    assert row is not None
    return dict(zip(("input", "output", "cache_read", "cache_write", "records"), (int(x) for x in row), strict=True))


def duckdb_typed(root: Path) -> dict[str, int]:
    import duckdb

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from bedrockctl.analytics.fastpath import RAW_COLUMNS

    con = duckdb.connect()
    glob = (root / "logs" / "**" / "*.json.gz").as_posix()
    row = con.execute(
        f"SELECT sum(input.inputTokenCount), sum(output.outputTokenCount), sum(input.cacheReadInputTokenCount), "
        f"sum(input.cacheWriteInputTokenCount), count(*) FROM read_json('{glob}', format='newline_delimited', "
        f"columns={RAW_COLUMNS})"
    ).fetchone()
    con.close()
    assert row is not None
    return dict(zip(("input", "output", "cache_read", "cache_write", "records"), (int(x) for x in row), strict=True))


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


PHASES: dict[str, list[float]] = {}  # step -> [wall s, CPU s] of the bedrockctl path (steps run one by one)


def time_phases() -> None:
    """Wrap the steps of ingest + report that run one after the other with wall / CPU timers (``PHASES``)."""
    import functools

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from bedrockctl.analytics import fastpath, reports
    from bedrockctl.analytics.store import UsageStore

    def wrap(owner: object, name: str, label: str, static: bool = False) -> None:
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed(*args: object, **kwargs: object) -> object:
            t, c = time.perf_counter(), cpu_seconds()
            try:
                return fn(*args, **kwargs)
            finally:
                acc = PHASES.setdefault(label, [0.0, 0.0])
                acc[0] += time.perf_counter() - t
                acc[1] += cpu_seconds() - c

        setattr(owner, name, staticmethod(timed) if static else timed)

    wrap(fastpath, "sample", "read the first 100 records of every file (lookup seeds, days)")
    wrap(
        fastpath,
        "scan",
        "DuckDB scan: read_json -> normalise -> COPY to one Parquet file per day -> its duplicate check "
        "(the Python parse of the CloudTrail set runs beside it, on the main thread)",
    )
    wrap(UsageStore, "_partition_chunks", "commit: partition the Python-parsed chunks (CloudTrail)", static=True)
    wrap(UsageStore, "_commit_table", "commit: duplicate check of the days the scan did not check, dedupe", static=True)
    wrap(UsageStore, "_publish", "commit: fsync + rename + manifest")
    wrap(UsageStore, "connect", "report: connect (views, CloudTrail matches)")
    wrap(reports, "run_report", "report: queries + exact cost")


def ours(root: Path, data: Path) -> tuple[dict[str, int], float, float, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.reports import duckdb_runner, run_report
    from bedrockctl.analytics.store import UsageStore

    store = UsageStore(data / "usage")
    t0 = time.perf_counter()
    rep = ingest(store, [str(root / "logs"), str(root / "trail")], progress=False)
    t1 = time.perf_counter()
    con = store.connect()
    report = run_report(duckdb_runner(con), "model")
    con.close()
    t2 = time.perf_counter()
    if rep.bad_records:
        raise SystemExit(f"bad records: {rep.bad[:3]}")
    t = report.totals
    got = {
        "input": t["input_tokens"],
        "output": t["output_tokens"],
        "cache_read": t["cache_read_tokens"],
        "cache_write": t["cache_write_tokens"],
        "records": t["invocations"],
    }
    return got, t1 - t0, t2 - t1, t["cost_usd"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--per-file", type=int, default=50_000)
    ap.add_argument("--workdir", default=None, help="Where to generate (default: a temp dir, removed afterwards).")
    ap.add_argument("--data", default=None, help="Keep the generated set here and reuse it when it matches.")
    ap.add_argument("--write-results", action="store_true", help="Write the figures into bench/RESULTS.md.")
    ap.add_argument("--phases", action="store_true", help="Also time the steps of the bedrockctl path.")
    args = ap.parse_args()
    workers = os.cpu_count() or 1
    keep = Path(args.data) if args.data else None
    root = keep or Path(tempfile.mkdtemp(prefix="brc-bench-", dir=args.workdir))
    manifest = root / "expected.json"
    try:
        t = time.perf_counter()
        cached = json.loads(manifest.read_text()) if manifest.exists() else None
        if cached and cached.get("records") == args.records and cached.get("per_file", args.per_file) == args.per_file:
            expected = {k: v for k, v in cached.items() if k not in ("gen_s", "per_file")}
            gen_s = float(cached.get("gen_s", 0))
            print(f"reusing the set in {root}")
        else:
            for sub in ("logs", "trail", "data"):
                shutil.rmtree(root / sub, ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
            expected = generate(root, args.records, args.per_file, workers)
            gen_s = time.perf_counter() - t
            if keep:
                manifest.write_text(json.dumps({**expected, "gen_s": gen_s, "per_file": args.per_file}))
        shutil.rmtree(root / "data", ignore_errors=True)
        size = sum(p.stat().st_size for p in root.rglob("*.gz"))
        print(
            f"generated {expected['records']:,} records in {expected['files']} files "
            f"({size / 1e6:.0f} MB gzipped) in {gen_s:.1f}s"
        )
        files = expected.pop("files")
        load_before = os.getloadavg()
        results = []
        for name, fn in (
            ("plain orjson loop (1 process, sums only)", orjson_loop),
            ("DuckDB read_json raw (sums only)", duckdb_raw),
            ("DuckDB read_json raw, typed columns (sums only)", duckdb_typed),
        ):
            t, c = time.perf_counter(), cpu_seconds()
            got = fn(root)
            results.append((name, time.perf_counter() - t, cpu_seconds() - c, got))
        if args.phases:
            time_phases()
        t, c = time.perf_counter(), cpu_seconds()
        got, ing, rep, cost = ours(root, root / "data")
        results.append(
            (f"bedrockctl ingest {ing:.1f}s + report {rep:.1f}s", time.perf_counter() - t, cpu_seconds() - c, got)
        )
        load_after = os.getloadavg()
        lines = []
        for name, secs, cpu, totals in results:
            ok = "exact" if totals == expected else f"MISMATCH {totals} != {expected}"
            rate = expected["records"] / secs
            lines.append(f"| {name} | {secs:.1f} | {cpu:.1f} | {rate:,.0f} | {expected['records'] / cpu:,.0f} | {ok} |")
            print(f"{name:55s} {secs:7.1f}s wall {cpu:7.1f}s cpu {rate:12,.0f} rec/s  {ok}")
            if totals != expected:
                raise SystemExit(1)
        load = f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after ({workers} cores)"
        print(load)
        phase_lines = []
        if PHASES:
            wall, cpu = results[-1][1:3]
            rest = ("rest: listing, staging what the Python parser read, the writer lock, checkpoints", [wall, cpu])
            for _, (w, c) in PHASES.items():
                rest[1][0] -= w
                rest[1][1] -= c
            for name, (w, c) in [*PHASES.items(), rest]:
                phase_lines.append(f"| {name} | {w:.1f} | {c:.1f} |")
                print(f"  {name:75s} {w:6.1f}s wall {c:6.1f}s cpu")
        print(f"estimated cost of the set: {cost} USD")
        if args.write_results:
            write_results(expected, files, size, gen_s, lines, workers, load, sys.argv[1:], phase_lines)
    finally:
        if keep:
            shutil.rmtree(root / "data", ignore_errors=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


NOTES = "<!-- notes -->"  # what follows it in the section is written by hand and kept


def write_results(
    expected: dict[str, int],
    files: int,
    size: int,
    gen_s: float,
    lines: list[str],
    cpus: int,
    load: str,
    argv: list[str],
    phase_lines: list[str],
) -> None:
    path = Path(__file__).resolve().parents[1] / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    section = "\n".join(
        [
            "## analytics",
            "",
            f"`.venv/bin/python bench/analytics/run.py {' '.join(argv)}` on {platform.machine()}, "
            f"{cpus} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; {load}.",
            f"{expected['records']:,} metadata-only invocation-log records in {files} `.json.gz` files "
            f"({size / 1e6:.0f} MB gzipped; generated in {gen_s:.0f}s) + a CloudTrail set (1% of calls, trail files).",
            f"Exact totals: input {expected['input']:,}, output {expected['output']:,}, cache read "
            f"{expected['cache_read']:,}, cache write {expected['cache_write']:,}.",
            "",
            "| path | wall s | CPU s | records/s (wall) | records per CPU s | totals |",
            "|---|---|---|---|---|---|",
            *lines,
            "",
            "bedrockctl = `usage ingest` (parse both sets, dedupe by request id / event id, Parquet by day, "
            "checkpoints) "
            "+ `usage report --by model` (CloudTrail join, exact Decimal cost). Baselines only sum the token fields.",
            "CPU s = user + system time of the benchmark process and its children during that path; wall / CPU "
            "shows how much of the 2 cores the path got on a machine shared with other jobs. Records per CPU s is the "
            "figure load moves least: with both cores to itself a path could at best reach twice it in wall time.",
            "",
            *(
                [
                    "Where the bedrockctl time goes (`--phases`; wall and CPU s of each step, same run):",
                    "",
                    "| step | wall s | CPU s |",
                    "|---|---|---|",
                    *phase_lines,
                    "",
                ]
                if phase_lines
                else []
            ),
            "How the ingest path works (`analytics/fastpath.py`, `fastsql.py`): clean JSON-lines invocation-log files "
            "are parsed by DuckDB -- `read_json` with the explicit column schema over one day's files at a time (two "
            "days in parallel), normalised in the same scan (principal and base model joined from lookup tables built "
            "by the Python rules over the first 100 records of every file; a row whose identity or model the tables "
            "lack is marked `day = '_miss'`, seen in the Parquet statistics of `day`, and the day is scanned again "
            "with the tables completed), written by one `COPY` (zstd) into one Parquet file per day whose request "
            "ids the same day worker then counts (distinct hashes) while the other worker scans; `commit` renames "
            "the day files into `day=.../` when a day holds no duplicate request id (days of several files are "
            "checked there: distinct hashes first, exact count only on equal hashes) and none already stored (else "
            "it rewrites with the dedupe). Files with bad records, the CloudTrail set, JSON documents and S3 / "
            "CloudWatch / LookupEvents pages go through the Python parser (bad records reported with file and line), "
            "on the main thread while DuckDB scans. `connect()` computes the CloudTrail matches once into small "
            "tables, so a report query reads only `inv`; the report is two queries (usage per group with the whole "
            "period's distinct users as one more grouping set, and cost).",
            "",
        ]
    )
    pattern = re.compile(r"## analytics\n.*?(?=\n## |\Z)", re.S)
    old = pattern.search(text)
    notes = old.group(0).partition(NOTES)[2] if old and NOTES in old.group(0) else ""
    body = section.rstrip("\n") + "\n" + (f"\n{NOTES}{notes.rstrip()}\n" if notes else "")
    text = pattern.sub(lambda _: body, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    path.write_text(text if text.endswith("\n") else text + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
