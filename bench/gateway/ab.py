"""Gateway CPU per request, this tree against a baseline revision, in ONE run (A/B of a change to the hot path).

Two ``bedrockctl serve`` servers with the same config, store and key: A runs this tree, B the baseline revision's
``src/`` (``git archive``, put first on ``PYTHONPATH``). Servers pinned to ``--server-cpu``, wrk and the fake upstream
to ``--load-cpu`` (``run.py``'s setup). Every repetition measures A and B back to back, Bedrock-native Converse and
OpenAI chat completions, so load elsewhere on the machine hits both; the ratio A/B is taken per pair and the median
pair ratio is reported with its range.

Usage: .venv/bin/python bench/gateway/ab.py [--base main] [--requests 2000] [--repeat 7] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from procs import free_port, stop, wait_http  # noqa: E402
from run import CONVERSE, FAKE_ENV, ROOT, Arm, setup, start, wrk  # noqa: E402


def baseline(rev: str, tmp: Path) -> Path:
    out = tmp / "base"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "src"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="main", help="the baseline revision (B)")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    args = p.parse_args()
    args.litellm, args.gateway_option = None, None
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.base], capture_output=True, text=True)
    tmp = Path(tempfile.mkdtemp(prefix="gwab-"))
    os.sched_setaffinity(0, {int(args.load_cpu)})
    procs: list[subprocess.Popen[bytes]] = []
    try:
        base_src = baseline(args.base, tmp)
        arms, procs, up = setup(args, tmp)
        a_br, a_oai = (a for a in arms if a.name.startswith("bedrockctl"))
        env = {
            **os.environ,
            **FAKE_ENV,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{up}",
            "BEDROCKCTL_CONFIG": str(tmp / "bedrockctl.toml"),
            "HOME": str(tmp),
            "PYTHONPATH": str(base_src),
        }
        port = free_port()
        serve = [sys.executable, "-c", "from bedrockctl.cli.main import main; main()", "serve", "--port", str(port)]
        procs.append(start(serve, args.server_cpu, env, tmp / "base.log"))
        wait_http(port, "/readyz", procs[-1])
        b_br = Arm("base-br", port, procs[-1].pid, a_br.path, CONVERSE, a_br.headers)
        b_oai = Arm("base-oai", port, procs[-1].pid, a_oai.path, a_oai.body, a_oai.headers)
        pairs = {"bedrock": (a_br, b_br), "openai": (a_oai, b_oai)}
        for arm in (a_br, b_br, a_oai, b_oai):
            wrk(arm, 4, 300, args.load_cpu, tmp)  # warm-up
        cpu: dict[str, list[tuple[float, float]]] = {k: [] for k in pairs}
        for rep in range(args.repeat):
            for name, (a, b) in pairs.items():
                order = (a, b) if rep % 2 == 0 else (b, a)  # alternate who goes first
                got = {x.name: wrk(x, args.concurrency, args.requests, args.load_cpu, tmp) for x in order}
                ra, rb = got[a.name], got[b.name]
                assert not (ra["non2xx"] or rb["non2xx"]), (ra, rb)
                cpu[name].append((ra["cpu_us"], rb["cpu_us"]))
                print(f"#{rep} {name}: A {ra['cpu_us']:.0f} us/req, B {rb['cpu_us']:.0f} us/req", flush=True)
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)
    base = f"{args.base} ({rev.stdout.strip()})"
    print(f"\nA = this tree, B = {base}; c={args.concurrency}, {args.requests} requests a cell, {args.repeat} pairs")
    print(
        "| protocol | A CPU µs/req, median [min-max] | B CPU µs/req, median [min-max] "
        "| A/B pair ratio, median [min-max] |"
    )
    print("|---|---|---|---|")
    for name, rows in cpu.items():
        a, b = [r[0] for r in rows], [r[1] for r in rows]
        ratio = [x / y for x, y in rows]
        print(
            f"| {name} | {statistics.median(a):.0f} [{min(a):.0f}-{max(a):.0f}] | {statistics.median(b):.0f} "
            f"[{min(b):.0f}-{max(b):.0f}] | {statistics.median(ratio):.3f} [{min(ratio):.3f}-{max(ratio):.3f}] |"
        )
    print(json.dumps(cpu))


if __name__ == "__main__":
    main()
