"""The gateway's HTTP servers side by side in ONE run: CPU per request and streams per process, HTTP/1.1 and HTTP/2.

Arms (each ``bedrockctl serve``, 1 worker, its own SQLite store and key, the same fake upstream; servers pinned to
``--server-cpu``, load generators and the fake upstream on ``--load-cpu``):
  uvicorn-h1     ``serve`` (uvicorn, uvloop + httptools), wrk: today's server, the yardstick (ratio 1.00)
  granian-h1     ``serve --http 2`` (granian), HTTP/1.1 clients, wrk
  granian-h2c    the same server, HTTP/2 with prior knowledge, h2load: ``c`` streams on ONE connection
  granian-h2c-n  the same server, HTTP/2, h2load: ``c`` connections of one stream each
  hypercorn-h1 / hypercorn-h2c   the same app under hypercorn (when it is importable: the ``sandbox`` extra
                 installs it for the sandbox's HTTP/2)

Each cell is ``--requests`` Bedrock Converse calls with a gateway bearer key at concurrency ``c``, repeated
``--repeat`` times interleaved across arms (median shown). CPU per request = utime+stime of the server's process
tree over the cell. Streams per process: ``--streams`` ConverseStream calls held open at once (the fake upstream
holds each after its first events), HTTP/1.1 one connection each, HTTP/2 ``--streams-per-connection`` streams on
each connection; RSS growth of the server's process tree per 1,000 open streams.

Usage: .venv/bin/python bench/gateway/protocols.py [--requests 2000] [--repeat 3] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from procs import cpu_seconds, free_port, rss_mb, stop, wait_http  # noqa: E402
from run import CONVERSE, FAKE_ENV, MODEL, Arm, create_key, hold, start, write_config, wrk  # noqa: E402
from stream_driver import OpenStreams, Req  # noqa: E402

ROOT = HERE.parent.parent
PATH = "/model/" + MODEL.replace(":", "%3A") + "/converse"
SECTION = "## gateway: HTTP/2"


def gateway(name: str, server: list[str], tmp: Path, env: dict[str, str], cpu: str) -> tuple[Any, str, int]:
    """Start one gateway (its own store and key); ``server`` is the command after the store is ready, with
    ``{port}`` in it. Returns the process, the key's bearer token and the port."""
    home = tmp / name
    home.mkdir(parents=True)
    cfg = write_config(home)
    benv = {**env, "BEDROCKCTL_CONFIG": str(cfg), "HOME": str(home)}
    bctl = str(Path(sys.executable).parent / "bedrockctl")
    token = create_key(bctl, benv)["token"]
    port = free_port()
    (home / "hypercorn.toml").write_text("keep_alive_max_requests = 100000000\n")
    cmd = [part.replace("{port}", str(port)).replace("{bctl}", bctl).replace("{home}", str(home)) for part in server]
    proc = start(cmd, cpu, benv, home / "server.log")
    wait_http(port, "/readyz", proc)
    return proc, token, port


def h2load(arm: Arm, conc: int, count: int, cpu: str, tmp: Path, connections: int = 1) -> dict[str, Any]:
    """``count`` requests over HTTP/2 with prior knowledge: ``connections`` connections, ``conc`` streams at once
    in all (``conc / connections`` on each)."""
    body = tmp / f"{arm.name}.body"
    body.write_bytes(arm.body)
    cmd = ["taskset", "-c", cpu, "h2load", "-n", str(count), "-c", str(connections), "-t", "1"]
    cmd += ["-m", str(max(1, conc // connections)), "-d", str(body)]
    for k, v in arm.headers.items():
        cmd += ["-H", f"{k.lower()}: {v}"]
    cmd.append(f"http://127.0.0.1:{arm.port}{arm.path}")
    before = cpu_seconds(arm.pid) if arm.pid else 0.0
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    wall = time.perf_counter() - t0
    time.sleep(0.3)  # background batches (audit, counters) of these requests are part of their cost
    after = cpu_seconds(arm.pid) if arm.pid else 0.0
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\S+)", out)
    ok = int(done.group(2)) if done else 0
    return {
        "requests": int(done.group(1)) if done else 0,
        "non2xx": ok - int(codes.group(1)) if codes else ok,
        "failed": count - ok,
        "mean_ms": _ms(mean.group(1)) if mean else float("nan"),
        "cpu_us": (after - before) * 1e6 / ok if ok else float("nan"),
        "wall": wall,
    }


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")


class H2Streams:
    """ConverseStream calls held open over HTTP/2 with prior knowledge, ``per_connection`` on each connection,
    until ``close``; each ``open`` adds ``count`` more (in batches), ``opened`` counts those that got their first
    body bytes."""

    def __init__(self, port: int, req: Req, per_connection: int) -> None:
        self.port, self.req, self.per_connection = port, req, per_connection
        self.opened = self.failed = 0
        self.release = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.clients: list[Any] = []

    async def _one(self, client: Any, ready: asyncio.Semaphore) -> None:
        import httpx

        try:
            async with client.stream("POST", self.req.path, content=self.req.body, headers=self.req.headers) as r:
                if r.status_code == 200:
                    async for _chunk in r.aiter_raw():
                        self.opened += 1
                        break
                    ready.release()
                    await self.release.wait()
                    return
                self.failed += 1
        except httpx.HTTPError:
            self.failed += 1
        ready.release()

    async def open(self, count: int) -> None:
        import httpx

        clients = [
            httpx.AsyncClient(
                http1=False,
                http2=True,
                base_url=f"http://127.0.0.1:{self.port}",
                limits=httpx.Limits(max_connections=1),
                timeout=30,
            )
            for _ in range(-(-count // self.per_connection))
        ]
        self.clients += clients  # a later call opens more, on connections of its own
        ready = asyncio.Semaphore(0)
        self.tasks += [asyncio.create_task(self._one(clients[i // self.per_connection], ready)) for i in range(count)]
        for _ in range(count):
            await asyncio.wait_for(ready.acquire(), 60)

    async def close(self) -> None:
        self.release.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for client in self.clients:
            await client.aclose()
        self.tasks, self.clients = [], []  # ready to open again
        self.opened = self.failed = 0
        self.release = asyncio.Event()


async def streams(arm: Arm, count: int, per_connection: int, h2: bool) -> dict[str, Any]:
    """RSS growth of the server with ``count`` streams open at once (and how many opened)."""
    assert arm.pid is not None
    await asyncio.sleep(1.0)
    before = rss_mb(arm.pid)
    if h2:
        held: Any = H2Streams(arm.port, arm.req(True), per_connection)
        await held.open(count)
        got = {"open": held.opened, "failed": held.failed}
    else:
        held = OpenStreams(arm.port, arm.req(True))
        await held.open(count)
        got = {"open": len(held.writers) - held.pending, "failed": held.failed}
    await asyncio.sleep(1.0)
    after = rss_mb(arm.pid)
    await held.close()
    opened = got["open"]
    return {**got, "mb_per_1000": round((after - before) * 1000 / opened, 1) if opened else float("nan")}


def servers() -> dict[str, tuple[list[str], list[tuple[str, str]]]]:
    """server -> (command, [(arm name, driver)]); driver: wrk (HTTP/1.1), h2 (streams on one connection),
    h2n (one stream on each of c connections)."""
    found = {
        "uvicorn": (["{bctl}", "serve", "--port", "{port}"], [("uvicorn-h1", "wrk")]),
        "granian": (
            ["{bctl}", "serve", "--port", "{port}", "--http", "2"],
            [("granian-h1", "wrk"), ("granian-h2c", "h2"), ("granian-h2c-n", "h2n")],
        ),
    }
    if importlib.util.find_spec("hypercorn"):
        # keep_alive_max_requests: hypercorn closes a connection after 1,000 requests by default (h2load does not
        # reconnect); the config file is written next to the arm's store
        cmd = [sys.executable, "-m", "hypercorn", "--worker-class", "uvloop", "--bind", "127.0.0.1:{port}"]
        cmd += ["--config", "{home}/hypercorn.toml"]
        found["hypercorn"] = (
            [*cmd, "bedrockctl.server.asgi:app()"],
            [("hypercorn-h1", "wrk"), ("hypercorn-h2c", "h2")],
        )
    return found


def drive(driver: str, arm: Arm, conc: int, count: int, cpu: str, tmp: Path) -> dict[str, Any]:
    if driver == "wrk":
        r = wrk(arm, conc, count, cpu, tmp)
        return {**r, "failed": max(0, count - r["requests"]), "lat_ms": r["p50_ms"]}
    r = h2load(arm, conc, count, cpu, tmp, connections=conc if driver == "h2n" else 1)
    return {**r, "lat_ms": r["mean_ms"]}


def measure(args: argparse.Namespace, tmp: Path) -> tuple[list[tuple[str, Arm]], dict[str, dict[str, Any]]]:
    procs: list[Any] = []
    up = free_port()
    procs.append(
        start(
            [sys.executable, str(HERE / "fake_upstream.py"), "--port", str(up)],
            args.load_cpu,
            dict(os.environ),
            tmp / "upstream.log",
        )
    )
    env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{up}"}
    env.pop("AWS_PROFILE", None)
    arms: list[tuple[str, Arm]] = []
    results: dict[str, dict[str, Any]] = {}
    try:
        for server, (cmd, kinds) in servers().items():
            proc, token, port = gateway(server, cmd, tmp, env, args.server_cpu)
            procs.append(proc)
            auth = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            for name, driver in kinds:
                arms.append((driver, Arm(name, port, proc.pid, PATH, CONVERSE, auth)))
        for driver, arm in arms:  # warm-up: imports, pools, caches
            r = drive(driver, arm, 4, 300, args.load_cpu, tmp)
            if r["non2xx"] or r["failed"]:
                raise RuntimeError(f"{arm.name}: warm-up failed: {r}; see {tmp}")
        runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for rep in range(args.repeat):
            for conc in args.concurrency:
                for driver, arm in arms:
                    r = drive(driver, arm, conc, args.requests, args.load_cpu, tmp)
                    runs.setdefault((arm.name, conc), []).append(r)
                    print(f"#{rep} c={conc:<3} {arm.name:<15} {json.dumps(r)}", flush=True)
        for _, arm in arms:
            cells = {}
            for conc in args.concurrency:
                cell = runs[(arm.name, conc)]
                cells[conc] = {k: statistics.median(r[k] for r in cell) for k in ("cpu_us", "lat_ms")}
                cells[conc]["range"] = (min(r["cpu_us"] for r in cell), max(r["cpu_us"] for r in cell))
                cells[conc]["bad"] = sum(r["non2xx"] + r["failed"] for r in cell)
            results[arm.name] = {"cells": cells}
        hold(up, 120)
        try:
            for driver, arm in arms:
                if driver == "h2n":
                    continue
                mem = asyncio.run(streams(arm, args.streams, args.streams_per_connection, driver == "h2"))
                results[arm.name]["mem"] = mem
                print(f"mem  {arm.name:<15} {json.dumps(mem)}", flush=True)
        finally:
            hold(up, 0)
    finally:
        stop(procs)
    return arms, results


PROTOCOL = {
    "wrk": "HTTP/1.1, c connections",
    "h2": "HTTP/2 h2c, c streams on 1 connection",
    "h2n": "HTTP/2 h2c, c connections x 1 stream",
}


def report(args: argparse.Namespace, arms: list[tuple[str, Arm]], results: dict[str, Any], load: str, cmd: str) -> str:
    cc = 16 if 16 in args.concurrency else args.concurrency[-1]
    base = results["uvicorn-h1"]["cells"][cc]["cpu_us"]
    out = [
        SECTION,
        "",
        f"`{cmd}` on x86_64, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. `bedrockctl serve` (1 worker, SQLite, budgets, "
        f'limits, audit and ledger on, as in "gateway") under each server, pinned to CPU {args.server_cpu}; wrk '
        f"(HTTP/1.1) or h2load (HTTP/2 with prior knowledge) and the fake upstream on CPU {args.load_cpu}; "
        f"{args.requests} Converse calls with a bearer key per cell, {args.repeat} interleaved repetitions, median "
        f"shown. `uptime` at the start: `{load}`.",
        "",
        "| arm | protocol | "
        + " | ".join(f"CPU µs/req c={c}" for c in args.concurrency)
        + f" | x uvicorn-h1 (c={cc}) | latency c={cc} ms | streams held by 1 process | MB / 1,000 streams |",
        "|---" * (6 + len(args.concurrency)) + "|",
    ]
    for driver, arm in arms:
        res = results[arm.name]
        cells = res["cells"]
        mem = res.get("mem")
        held = f"{mem['open']} of {args.streams}" if mem else "-"
        if mem and driver == "h2":
            held += f" ({args.streams_per_connection}/connection)"
        out.append(
            f"| {arm.name} | {PROTOCOL[driver]} | "
            + " | ".join(f"{cells[c]['cpu_us']:.0f}" for c in args.concurrency)
            + f" | {cells[cc]['cpu_us'] / base:.2f} | {cells[cc]['lat_ms']:.2f} | {held} | "
            + (f"{mem['mb_per_1000']}" if mem else "-")
            + " |"
        )
    spread = "; ".join(
        f"{arm.name} "
        + ", ".join(
            f"{results[arm.name]['cells'][c]['range'][0]:.0f}-{results[arm.name]['cells'][c]['range'][1]:.0f}"
            for c in args.concurrency
        )
        for _, arm in arms
    )
    bad = {arm.name: sum(results[arm.name]["cells"][c]["bad"] for c in args.concurrency) for _, arm in arms}
    out += [
        "",
        f"CPU µs per request, min-max of the repetitions (c={', '.join(map(str, args.concurrency))}): "
        f"{spread}. Failed or non-2xx responses over all cells: "
        + ", ".join(f"{name} {n}" for name, n in bad.items())
        + ".",
        "",
    ]
    return "\n".join(out)


def write_section(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    doc = path.read_text()
    notes = ""
    if SECTION in doc:
        start = doc.index(SECTION)
        end = doc.find("\n## ", start + len(SECTION))
        old = doc[start:] if end < 0 else doc[start:end]
        if "<!-- notes -->" in old:
            notes = old[old.index("<!-- notes -->") :].rstrip("\n") + "\n"
        doc = doc[:start] + (doc[end + 1 :] if end >= 0 else "")
    path.write_text(doc.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n" + ("\n" + notes if notes else ""))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000, help="requests per (arm, concurrency) cell")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--streams-per-connection", type=int, default=100)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--write", action="store_true", help="rewrite the 'gateway: HTTP/2' section of bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = p.parse_args()
    for tool in ("wrk", "h2load", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed: apt-get install -y wrk nghttp2-client util-linux")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cmd = " ".join(["python", "bench/gateway/protocols.py", *sys.argv[1:]])
    tmp = Path(tempfile.mkdtemp(prefix="gwh2bench-"))
    os.sched_setaffinity(0, {int(args.load_cpu)})
    try:
        arms, results = measure(args, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    text = report(args, arms, results, load, cmd)
    end_load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text += f"`uptime` at the end: `{end_load}`.\n"
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
