"""Sandbox memory under a long run: RSS of the sandbox process after 1,000 and after 10,000 Converse calls.

Starts ``bedrockctl sandbox --seed demo`` (CloudTrail trail delivering to S3, model invocation logging to
CloudWatch Logs and S3: every per-call effect is on) in a child process, drives N Converse calls over HTTP with
boto3 from a few threads, and reads the child's resident set size (``VmRSS`` in /proc/<pid>/status) at each
checkpoint. Prints one line per checkpoint and the ratio of the last to the first.

    .venv/bin/python bench/sandbox/memory.py [--calls 10000] [--checkpoints 1000,10000] [--threads 4]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bedrockctl.cli.main", "sandbox", "--seed", "demo", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    raise RuntimeError("sandbox did not start")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=10_000)
    ap.add_argument("--checkpoints", default="1000,10000")
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    marks = sorted(int(x) for x in args.checkpoints.split(","))

    import boto3
    from botocore.config import Config

    proc, endpoint = start_sandbox()
    try:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=16),
        )

        def call(n: int) -> int:
            out = client.converse(
                modelId=MODEL,
                messages=[{"role": "user", "content": [{"text": f"call {n}: say something short"}]}],
                requestMetadata={"team": f"t{n % 7}"},
            )
            return int(out["usage"]["outputTokens"])

        print(f"sandbox pid {proc.pid} at {endpoint}; RSS after start {rss_kib(proc.pid) / 1024:.1f} MiB", flush=True)
        done, samples = 0, {}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            for mark in marks:
                list(pool.map(call, range(done, mark)))
                done = mark
                time.sleep(0.5)  # let the sandbox finish its side effects of the last calls
                samples[mark] = rss_kib(proc.pid)
                print(
                    f"after {mark:>6,} calls: RSS {samples[mark] / 1024:.1f} MiB ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
        first, last = samples[marks[0]], samples[marks[-1]]
        print(f"RSS after {marks[-1]:,} / after {marks[0]:,}: {last / first:.3f}")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
