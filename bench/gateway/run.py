"""Gateway benchmark: every arm side by side in ONE run, figures as ratios to the direct call.

Arms (servers pinned to CPU ``--server-cpu``; wrk, the stream driver and the fake upstream on ``--load-cpu``):
  direct          wrk -> fake upstream (Converse)
  minimal         the floor: uvicorn + raw ASGI forwarding with the gateway's SigV4 transport, nothing else
  bedrockctl-br   ``bedrockctl serve``, Bedrock-native Converse, gateway bearer key; budgets (environment, team,
                  user, key), rate limits (env requests/hour+day, key rpm/tpm) and audit (+ ledger) ON, SQLite
  bedrockctl-oai  same server, OpenAI ``/v1/chat/completions``
  litellm         LiteLLM's proxy (pinned, separate venv), ``bedrock/...`` model whose
                  ``aws_bedrock_runtime_endpoint`` is the same fake upstream; OpenAI chat completions

Figures: CPU µs per request of the server process tree (utime+stime from /proc over a fixed request count),
p50/p99 at concurrency 1, 16, 64 and what each adds to direct, time to first byte of a streamed response (what
the arm adds), RSS growth per 1,000 open streams.

Each (arm, concurrency) cell is ``--requests`` requests, repeated ``--repeat`` times interleaved with the other arms;
the table shows the median of the repetitions (the machine is shared).

Usage: .venv/bin/python bench/gateway/run.py [--requests 2000] [--repeat 3] [--write]
       [--litellm bench/gateway/.venv-litellm/bin/litellm]   (see bench/RESULTS.md for the LiteLLM venv)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from procs import cpu_seconds, free_port, rss_mb, stop, wait_http  # noqa: E402
from report import report, write_section  # noqa: E402
from stream_driver import OpenStreams, Req, ttft  # noqa: E402

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
CONVERSE = json.dumps(
    {
        "messages": [{"role": "user", "content": [{"text": "Say hello to the benchmark."}]}],
        "inferenceConfig": {"maxTokens": 64},
    }
).encode()
CHAT = {"model": "haiku", "messages": [{"role": "user", "content": "Say hello to the benchmark."}], "max_tokens": 64}
FAKE_ENV = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


class Arm:
    def __init__(self, name: str, port: int, pid: int | None, path: str, body: bytes, headers: dict[str, str]):
        self.name, self.port, self.pid, self.path, self.body, self.headers = name, port, pid, path, body, headers
        self.results: dict[str, Any] = {}

    def req(self, stream: bool) -> Req:
        if self.path.endswith("/converse"):
            return Req(self.path + "-stream", self.body, self.headers)
        doc = json.loads(self.body)
        doc["stream"] = stream
        return Req(self.path, json.dumps(doc).encode(), self.headers)

    def lua(self, limit: int, tmp: Path, marker: Path) -> Path:
        hdrs = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in self.headers.items())
        script = tmp / f"{self.name}.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.path = "{self.path}"\nwrk.body = [[{self.body.decode()}]]\n{hdrs}\n'
            f"local n = 0\nfunction response(status, headers, body)\n  n = n + 1\n"
            f'  if n == {limit} then wrk.thread:stop(); io.open("{marker}", "w"):close() end\nend\n'
        )
        return script


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    return float(m.group(1)) * _UNIT[m.group(2)]


def wrk(arm: Arm, conc: int, count: int, cpu: str, tmp: Path, limit_s: int = 600) -> dict[str, Any]:
    """``count`` requests at concurrency ``conc`` (the Lua script stops the thread and drops a marker file at the
    count; wrk then gets SIGINT, which makes it print its statistics at once instead of sleeping out -d)."""
    marker = tmp / f"{arm.name}.done"
    marker.unlink(missing_ok=True)
    script = arm.lua(count, tmp, marker)
    cmd = [
        "taskset",
        "-c",
        cpu,
        "wrk",
        "-t1",
        f"-c{conc}",
        f"-d{limit_s}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{arm.port}",
    ]
    before = cpu_seconds(arm.pid) if arm.pid else 0.0
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    while not marker.exists() and proc.poll() is None:
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    proc.send_signal(signal.SIGINT)
    out = proc.communicate()[0]
    time.sleep(0.3)  # let background batches (audit, counters) of these requests run: they are part of the cost
    after = cpu_seconds(arm.pid) if arm.pid else 0.0
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {
        "requests": done,
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errs.group(1) if errs else "",
        "p50_ms": _ms(lat["50"]),
        "p99_ms": _ms(lat["99"]),
        "cpu_us": (after - before) * 1e6 / done if done else float("nan"),
        "wall": wall,
    }


def start(cmd: list[str], cpu: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(["taskset", "-c", cpu, *cmd], env=env, stdout=fh, stderr=subprocess.STDOUT)


def write_config(tmp: Path, extra: str = "") -> Path:
    """The gateway's configuration for the benchmark (budgets, limits, audit and ledger on), in ``tmp``."""
    cfg = tmp / "bedrockctl.toml"
    cfg.write_text(f"""
[aws]
region = "us-east-1"
retry_attempts = 1

[store]
url = "sqlite:///{tmp}/gateway.db"
data_dir = "{tmp}"

[environments.bench]
monthly_budget_usd = 1000000
daily_budget_usd = 100000
requests_per_hour = 100000000
requests_per_day = 1000000000

[gateway]
master_secret = "bench-master-secret"
default_environment = "bench"
audit = true
ledger = true

{extra}
[gateway.teams.bench]
monthly_budget_usd = 1000000

[gateway.users.bench]
daily_budget_usd = 100000
""")
    return cfg


def create_key(bctl: str, env: dict[str, str]) -> dict[str, Any]:
    """A gateway key (``bedrockctl keys create``) with limits far above what the benchmark sends."""
    return json.loads(
        subprocess.run(
            [
                bctl,
                "keys",
                "create",
                "--user",
                "bench",
                "--team",
                "bench",
                "--env",
                "bench",
                "--rpm",
                "100000000",
                "--tpm",
                "1000000000000",
                "--monthly-budget",
                "1000000",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def setup(args: argparse.Namespace, tmp: Path) -> tuple[list[Arm], list[subprocess.Popen[bytes]], int]:
    py = sys.executable
    procs: list[subprocess.Popen[bytes]] = []
    up = free_port()
    procs.append(
        start(
            [py, str(HERE / "fake_upstream.py"), "--port", str(up)],
            args.load_cpu,
            dict(os.environ),
            tmp / "upstream.log",
        )
    )
    env = {**os.environ, **FAKE_ENV, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": f"http://127.0.0.1:{up}"}
    env.pop("AWS_PROFILE", None)
    model_path = "/model/" + MODEL.replace(":", "%3A") + "/converse"
    arms = [Arm("direct", up, None, model_path, CONVERSE, {"Content-Type": "application/json"})]

    mp = free_port()
    procs.append(start([py, str(HERE / "minimal_proxy.py"), str(mp)], args.server_cpu, env, tmp / "minimal.log"))
    arms.append(Arm("minimal", mp, procs[-1].pid, model_path, CONVERSE, {"Content-Type": "application/json"}))

    extra = "\n".join(getattr(args, "gateway_option", None) or [])
    cfg = write_config(tmp, extra)
    benv = {**env, "BEDROCKCTL_CONFIG": str(cfg), "HOME": str(tmp)}
    bctl = [str(Path(py).parent / "bedrockctl")]
    key = create_key(bctl[0], benv)
    bp = free_port()
    procs.append(start([*bctl, "serve", "--port", str(bp)], args.server_cpu, benv, tmp / "bedrockctl.log"))
    wait_http(bp, "/readyz", procs[-1])
    auth = {"Content-Type": "application/json", "Authorization": f"Bearer {key['token']}"}
    arms.append(Arm("bedrockctl-br", bp, procs[-1].pid, model_path, CONVERSE, auth))
    arms.append(Arm("bedrockctl-oai", bp, procs[-1].pid, "/v1/chat/completions", json.dumps(CHAT).encode(), auth))

    for litellm in args.litellm or []:
        lcfg = tmp / f"litellm-{len(procs)}.yaml"
        lcfg.write_text(f"""
model_list:
  - model_name: haiku
    litellm_params:
      model: bedrock/{MODEL}
      aws_access_key_id: AKIAIOSFODNN7EXAMPLE
      aws_secret_access_key: testing
      aws_region_name: us-east-1
      aws_bedrock_runtime_endpoint: http://127.0.0.1:{up}
litellm_settings:
  telemetry: false
  drop_params: true
general_settings:
  master_key: sk-bench-master
""")
        lp = free_port()
        lenv = {
            **env,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOG": "ERROR",
            "HOME": str(tmp),
            "LITELLM_TELEMETRY": "False",
            "DISABLE_SCHEMA_UPDATE": "True",
        }
        procs.append(
            start(
                [litellm, "--config", str(lcfg), "--port", str(lp), "--num_workers", "1"],
                args.server_cpu,
                lenv,
                tmp / f"litellm-{len(procs)}.log",
            )
        )
        wait_http(lp, "/health/liveliness", procs[-1], timeout=240)
        lauth = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-master"}
        version = subprocess.run(
            [
                str(Path(litellm).parent / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        name = f"litellm-{version}" if version else "litellm"
        arms.append(Arm(name, lp, procs[-1].pid, "/v1/chat/completions", json.dumps(CHAT).encode(), lauth))
    return arms, procs, up


def hold(up: int, seconds: float) -> None:
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{up}/__hold/{seconds}", method="POST")).read()


def measure(args: argparse.Namespace, arms: list[Arm], up: int, tmp: Path) -> None:
    for arm in arms:  # warm up every arm (imports, connection pools, caches)
        r = wrk(arm, 4, 300, args.load_cpu, tmp)
        if r["non2xx"] or r["socket_errors"]:
            raise RuntimeError(f"{arm.name}: warm-up failed: {r}; see {tmp}")
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for rep in range(args.repeat):  # repetitions interleaved, so that a burst of load elsewhere hits every arm
        for conc in args.concurrency:
            for arm in arms:
                r = wrk(arm, conc, args.requests, args.load_cpu, tmp)
                runs.setdefault((arm.name, conc), []).append(r)
                print(f"#{rep} c={conc:<3} {arm.name:<15} {json.dumps(r)}", flush=True)
    for arm in arms:
        for conc in args.concurrency:
            cell = runs[(arm.name, conc)]
            arm.results[f"c{conc}"] = {
                k: statistics.median(r[k] for r in cell) for k in ("requests", "non2xx", "p50_ms", "p99_ms", "cpu_us")
            }
            arm.results[f"c{conc}"]["cpu_range"] = (min(r["cpu_us"] for r in cell), max(r["cpu_us"] for r in cell))
    for arm in arms:
        arm.results["ttft"] = r = asyncio.run(ttft(arm.port, arm.req(True), args.ttft_requests))
        print(f"ttft {arm.name:<15} {json.dumps(r)}", flush=True)
    hold(up, 120)
    try:
        for arm in arms:
            if arm.pid is None:
                continue
            arm.results["mem"] = asyncio.run(_streams(arm, args.streams))
            print(f"mem  {arm.name:<15} {json.dumps(arm.results['mem'])}", flush=True)
    finally:
        hold(up, 0)


async def _streams(arm: Arm, count: int) -> dict[str, float]:
    assert arm.pid is not None
    await asyncio.sleep(1.0)
    before = rss_mb(arm.pid)
    s = OpenStreams(arm.port, arm.req(True))
    await s.open(count)
    await asyncio.sleep(1.0)
    after = rss_mb(arm.pid)
    opened = len(s.writers)
    await s.close()
    return {
        "open": opened,
        "pending": s.pending,
        "failed": s.failed,
        "rss_before_mb": round(before, 1),
        "mb_per_1000": round((after - before) * 1000 / opened, 1) if opened else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000, help="requests per (arm, concurrency) cell")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    p.add_argument("--repeat", type=int, default=3, help="interleaved repetitions; each cell reports the median")
    p.add_argument("--ttft-requests", type=int, default=300)
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    default_litellm = HERE / ".venv-litellm" / "bin" / "litellm"
    p.add_argument(
        "--litellm",
        action="append",
        help="a LiteLLM venv's litellm script (repeat for several versions, side by side in the run)",
    )
    p.add_argument("--write", action="store_true", help="rewrite the gateway section of bench/RESULTS.md")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    p.add_argument("--gateway-option", action="append", help="an extra [gateway] line, e.g. 'flush_interval = 1'")
    args = p.parse_args()
    if args.litellm is None and default_litellm.exists():
        args.litellm = [str(default_litellm)]
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cmd = " ".join(["python", "bench/gateway/run.py", *sys.argv[1:]])
    tmp = Path(tempfile.mkdtemp(prefix="gwbench-"))
    os.sched_setaffinity(0, {int(args.load_cpu)})  # the driver (and what it spawns by default) on the load CPU
    procs: list[subprocess.Popen[bytes]] = []
    try:
        arms, procs, up = setup(args, tmp)
        measure(args, arms, up, tmp)
    finally:
        stop(procs)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    text = report(args, arms, load, cmd)
    end_load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    text += f"`uptime` at the end: `{end_load}`.\n"
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
