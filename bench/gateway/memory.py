"""Gateway memory: RSS after 20,000 and after 200,000 requests (flat memory), and MB per 1,000 open streams.

One ``bedrockctl serve`` (1 worker, SQLite; budgets, limits, audit and ledger on: the ``bedrockctl`` arm of
``run.py``) against the fake upstream. Requests are sent with wrk at ``--concurrency``, alternating
Bedrock-native Converse and OpenAI chat completions in blocks of ``--block``; the server's RSS (process tree)
is sampled after every block. Then ``--streams`` ConverseStream calls are held open at once (the fake upstream
holds each stream after its first events) and the RSS growth per 1,000 of them is reported.

Usage: .venv/bin/python bench/gateway/memory.py [--requests 200000] [--checkpoint 20000] [--streams 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from procs import rss_mb, stop  # noqa: E402
from run import hold, setup, wrk  # noqa: E402
from stream_driver import OpenStreams  # noqa: E402


def own_rss_mb(pid: int) -> float:
    """RSS of the server process alone (the tree figure also counts a ledger child while one runs)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _streams(port: int, pid: int, req: object, count: int, batch: int) -> dict[str, float]:
    await asyncio.sleep(1.0)
    before = rss_mb(pid)
    s = OpenStreams(port, req, first_byte_timeout=60.0)  # type: ignore[arg-type]
    for i in range(0, count, batch):  # in batches, so the listen backlog is not the limit
        await s.open(min(batch, count - i))
    await asyncio.sleep(2.0)
    after = rss_mb(pid)
    opened = len(s.writers)
    await s.close()
    await asyncio.sleep(2.0)
    return {
        "open": opened,
        "pending": s.pending,
        "failed": s.failed,
        "rss_before_mb": round(before, 1),
        "rss_open_mb": round(after, 1),
        "rss_after_close_mb": round(rss_mb(pid), 1),
        "mb_per_1000": round((after - before) * 1000 / opened, 2) if opened else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=200_000)
    p.add_argument("--checkpoint", type=int, default=20_000)
    p.add_argument("--block", type=int, default=10_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--stream-batch", type=int, default=1000)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--gateway-option", action="append")
    args = p.parse_args()
    print("uptime at start:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="gwmem-"))
    os.sched_setaffinity(0, {int(args.load_cpu)})
    sargs = SimpleNamespace(
        load_cpu=args.load_cpu, server_cpu=args.server_cpu, litellm=None, gateway_option=args.gateway_option
    )
    procs: list[subprocess.Popen[bytes]] = []
    out: dict[str, object] = {}
    try:
        arms, procs, up = setup(sargs, tmp)  # type: ignore[arg-type]
        br, oai = (a for a in arms if a.name.startswith("bedrockctl"))
        assert br.pid is not None
        for arm in (br, oai):
            wrk(arm, 4, 300, args.load_cpu, tmp)
        samples: list[tuple[int, float, float]] = []
        done = 0
        t0 = time.monotonic()
        while done < args.requests:
            arm = br if (done // args.block) % 2 == 0 else oai
            n = min(args.block, args.requests - done)
            r = wrk(arm, args.concurrency, n, args.load_cpu, tmp)
            if r["non2xx"] or r["socket_errors"]:
                raise RuntimeError(f"{arm.name}: {r}")
            done += r["requests"]
            time.sleep(1.5)  # the background flush (audit rows, counters) of these requests
            samples.append((done, own_rss_mb(br.pid), rss_mb(br.pid)))
            print(
                f"{done:>7} requests  rss {samples[-1][1]:.1f} MB (tree {samples[-1][2]:.1f})  "
                f"cpu {r['cpu_us']:.0f} us/req  "
                f"{time.monotonic() - t0:.0f}s",
                flush=True,
            )
        at_cp = min(samples, key=lambda s: abs(s[0] - args.checkpoint))
        out["rss_mb"] = samples
        out["checkpoint"] = at_cp
        out["final"] = samples[-1]
        out["growth_pct"] = round((samples[-1][1] - at_cp[1]) * 100 / at_cp[1], 1)
        out["tree_growth_pct"] = round((samples[-1][2] - at_cp[2]) * 100 / at_cp[2], 1)
        print(json.dumps({k: out[k] for k in ("checkpoint", "final", "growth_pct", "tree_growth_pct")}), flush=True)
        if args.streams:
            hold(up, 600)
            try:
                out["streams"] = asyncio.run(_streams(br.port, br.pid, br.req(True), args.streams, args.stream_batch))
            finally:
                hold(up, 0)
            print("streams", json.dumps(out["streams"]), flush=True)
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    print("uptime at end:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
