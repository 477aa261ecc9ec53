"""Instructions per gateway request (callgrind), this tree (A) against a baseline revision's ``src/`` (B).

Repeatable where CPU time is not: each server runs under ``valgrind --tool=callgrind`` with ``run.py``'s config and
store (plus ``flush_interval = 3600``, so no background batch falls in the window, and ``PYTHONHASHSEED=0``); after
100 warm-up requests the counters are zeroed (``callgrind_control -z``), ``--requests`` sequential requests follow
(Bedrock-native Converse and OpenAI chat completions alternately, one keep-alive connection) and are dumped
(``callgrind_control -d``). Prints instructions per request for each server, in ``--order``.

Usage: .venv/bin/python bench/gateway/instructions.py [--base main] [--requests 600] [--order ABBA]
(about 3 minutes a server on a quiet core; ``apt-get install valgrind``)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ab import baseline  # noqa: E402
from procs import free_port, stop, wait_http  # noqa: E402
from run import FAKE_ENV, Arm, setup  # noqa: E402

SERVE = "import sys; from bedrockctl.cli.main import main; sys.argv[0] = 'bedrockctl'; main()"


def measure(label: str, env: dict[str, str], arms: list[Arm], requests: int, tmp: Path) -> float:
    port = free_port()
    out = tmp / f"callgrind.{label}"
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", SERVE]
    log = open(tmp / f"{label}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(port, "/readyz", proc, timeout=900)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:

            def send(count: int) -> None:
                for i in range(count):
                    arm = arms[i % len(arms)]
                    resp = client.post(arm.path, content=arm.body, headers=arm.headers)
                    assert resp.status_code == 200, resp.text

            send(100)
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
            send(requests)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        dumped = (tmp / f"callgrind.{label}.1").read_text(errors="replace")
        total = re.search(r"^(?:summary|totals):\s+(\d+)", dumped, re.M)
        assert total, "no totals in the callgrind dump"
        return int(total.group(1)) / requests
    finally:
        proc.send_signal(signal.SIGINT)
        stop([proc], timeout=300)
        log.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="main", help="the baseline revision (B)")
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--order", default="ABBA")
    args = p.parse_args()
    ns = argparse.Namespace(litellm=None, gateway_option=["flush_interval = 3600"], server_cpu="0", load_cpu="1")
    tmp = Path(tempfile.mkdtemp(prefix="gwinstr-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        base_src = baseline(args.base, tmp)
        arms, procs, up = setup(ns, tmp)
        stop(procs[2:])  # setup()'s own bedrockctl server: not measured here
        env = {
            **os.environ,
            **FAKE_ENV,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{up}",
            "BEDROCKCTL_CONFIG": str(tmp / "bedrockctl.toml"),
            "HOME": str(tmp),
            "PYTHONHASHSEED": "0",
        }
        gateway = [a for a in arms if a.name.startswith("bedrockctl")]
        for i, label in enumerate(args.order):
            run_env = {**env, "PYTHONPATH": str(base_src)} if label == "B" else env
            per = measure(f"{label}{i}", run_env, gateway, args.requests, tmp)
            print(f"{label} ({'baseline ' + args.base if label == 'B' else 'this tree'}): {per:,.0f} instr./request")
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
