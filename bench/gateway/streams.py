"""10,000 open streams in ONE gateway process, and MB per 1,000 of them.

Each arm is one ``bedrockctl serve`` (1 worker, SQLite; budgets, limits, audit and ledger on: ``run.py``'s
bedrockctl arm) in front of the fake upstream, which holds every ConverseStream call open after its first events.
``--streams`` calls are opened in batches of ``--batch`` and held until all are open; an open stream is one whose
first body bytes reached the client. Memory = RSS growth of the server's process tree from before the first batch
to when all are open, per 1,000 open streams (after ``--warm`` streams were opened and closed, so the figure is
the steady cost, not first-use imports and arenas).

Arms:
  granian-h2c  ``serve --http 2``; the client multiplexes ``--per-connection`` streams on each HTTP/2 connection
               (what Claude Code's and the JS SDK's HTTP/2 clients do). The process holds one socket per client
               connection and one upstream socket per stream.
  uvicorn-h1   ``serve`` (the default server); one HTTP/1.1 connection per stream, so the process holds TWO
               sockets per stream (client and upstream): at most (open-file limit - 100) / 2 streams fit in one
               process. The arm asks for that many, capped at ``--streams``, and says so.

Usage: .venv/bin/python bench/gateway/streams.py [--streams 10000] [--arms granian-h2c uvicorn-h1] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from procs import free_port, rss_mb, stop  # noqa: E402
from protocols import PATH, H2Streams, gateway  # noqa: E402
from run import CONVERSE, FAKE_ENV, Arm, hold, start  # noqa: E402
from stream_driver import OpenStreams, Req  # noqa: E402

ROOT = HERE.parent.parent
SECTION = "## gateway: 10,000 open streams"
SERVERS = {
    "granian-h2c": ["{bctl}", "serve", "--port", "{port}", "--http", "2"],
    "uvicorn-h1": ["{bctl}", "serve", "--port", "{port}"],
}


class H1Held:
    """The same over HTTP/1.1, one connection per stream (``stream_driver.OpenStreams``)."""

    def __init__(self, port: int, req: Req) -> None:
        self.inner = OpenStreams(port, req, first_byte_timeout=120.0)

    @property
    def opened(self) -> int:
        return len(self.inner.writers) - self.inner.pending

    @property
    def failed(self) -> int:
        return self.inner.failed

    async def open(self, count: int) -> None:
        await self.inner.open(count)

    async def close(self) -> None:
        await self.inner.close()
        self.inner.failed = self.inner.pending = 0


async def hold_streams(held: Any, pid: int, count: int, batch: int, warm: int) -> dict[str, Any]:
    if warm:  # first use: imports, arenas, pools; opened and closed before the measurement
        await held.open(warm)
        await held.close()
        await asyncio.sleep(2.0)
    before = rss_mb(pid)
    t0 = time.monotonic()
    for i in range(0, count, batch):
        await held.open(min(batch, count - i))
        print(f"  {held.opened} open, {held.failed} failed, tree RSS {rss_mb(pid):.1f} MB", flush=True)
    opened, failed = held.opened, held.failed
    await asyncio.sleep(2.0)
    after = rss_mb(pid)
    took = time.monotonic() - t0
    await held.close()
    await asyncio.sleep(2.0)
    return {
        "asked": count,
        "open": opened,
        "failed": failed,
        "rss_before_mb": round(before, 1),
        "rss_open_mb": round(after, 1),
        "rss_after_close_mb": round(rss_mb(pid), 1),
        "mb_per_1000": round((after - before) * 1000 / opened, 2) if opened else float("nan"),
        "open_seconds": round(took, 1),
    }


def run_arm(name: str, args: argparse.Namespace, tmp: Path, env: dict[str, str], up: int) -> dict[str, Any]:
    proc, token, port = gateway(name, SERVERS[name], tmp, env, args.server_cpu)
    try:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        arm = Arm(name, port, proc.pid, PATH, CONVERSE, headers)
        req = arm.req(True)
        count = args.streams
        note = ""
        if name == "uvicorn-h1":
            fit = (resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 100) // 2
            if fit < count:
                count, note = fit, f"capped at {fit}: two sockets per stream, open-file limit"
            held: Any = H1Held(port, req)
        else:
            held = H2Streams(port, req, args.per_connection)
        hold(up, 900)
        try:
            res = asyncio.run(hold_streams(held, proc.pid, count, args.batch, args.warm))
        finally:
            hold(up, 0)
        return {**res, "note": note}
    finally:
        stop([proc])


def report(args: argparse.Namespace, results: dict[str, dict[str, Any]], load: tuple[str, str], cmd: str) -> str:
    lines = [
        SECTION,
        "",
        f"`{cmd}` on {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. `uptime` at the start: `{load[0]}`; at the end: "
        f"`{load[1]}`. Open-file limit of every process: {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} "
        f"(hard {resource.getrlimit(resource.RLIMIT_NOFILE)[1]}).",
        "",
        "| arm | streams asked | held open at once | failed | RSS before | RSS all open | MB / 1,000 open streams "
        "| seconds to open all | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['asked']} | {r['open']} | {r['failed']} | {r['rss_before_mb']} MB | {r['rss_open_mb']} MB "
            f"| {r['mb_per_1000']} | {r['open_seconds']} | {r['note']} |"
        )
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    doc = path.read_text()
    start_at = doc.find(SECTION)
    if start_at < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        notes = doc.find("<!-- notes -->", start_at)
        nxt = doc.find("\n## ", start_at + len(SECTION))
        end = notes if 0 <= notes < (nxt if nxt >= 0 else len(doc)) else (nxt + 1 if nxt >= 0 else len(doc))
        doc = doc[:start_at] + text + "\n" + doc[end:]
    path.write_text(doc)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--warm", type=int, default=1000)
    p.add_argument("--per-connection", type=int, default=100)
    p.add_argument("--arms", nargs="+", default=list(SERVERS), choices=list(SERVERS))
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--write", action="store_true", help="rewrite this section of bench/RESULTS.md")
    args = p.parse_args()
    if not shutil.which("taskset"):
        sys.exit("taskset is needed: apt-get install -y util-linux")
    load0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cmd = " ".join([".venv/bin/python", "bench/gateway/streams.py", *sys.argv[1:]])
    tmp = Path(tempfile.mkdtemp(prefix="gwstreams-"))
    os.sched_setaffinity(0, {int(args.load_cpu)})
    up = free_port()
    upstream = start(
        [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(up)],
        args.load_cpu,
        dict(os.environ),
        tmp / "upstream.log",
    )
    env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{up}"}
    env.pop("AWS_PROFILE", None)
    results: dict[str, dict[str, Any]] = {}
    try:
        time.sleep(1.0)
        for name in args.arms:
            print(f"{name}:", flush=True)
            results[name] = run_arm(name, args, tmp, env, up)
            print(f"{name} {json.dumps(results[name])}", flush=True)
    finally:
        stop([upstream])
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text = report(args, results, (load0, load1), cmd)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
