"""Benchmark: `discover` vs a sequential scan of the same targets, in one run.

The sandbox injects 100 ms of latency into every call and serves an AWS Organization of 50 accounts (the
management account + 49 members reached through OrganizationAccountAccessRole with an external id) x 17 regions.
Both runs go through ``bedrockctl.services.inventory.discover`` (org listing, role assumption, region probe, scan):
the concurrent one with the default bounded pool, the sequential one with ``max_workers=1``.

    .venv/bin/python bench/inventory/run.py [--accounts 50] [--regions 17] [--latency-ms 100] [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))

ROLE = "OrganizationAccountAccessRole"
EXTERNAL_ID = "bench-ext-id"
ASSET_TYPES = {"aws_bedrock": ["guardrail", "provisioned_throughput", "custom_model"]}


def setup(endpoint: str, accounts: int) -> list[str]:
    from inventory.estate import client

    org = client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    ids = [
        org.create_account(AccountName=f"a{i}", Email=f"a{i}@example.com")["CreateAccountStatus"]["AccountId"]
        for i in range(accounts - 1)
    ]
    sts = client(endpoint, "sts")
    for n, acct in enumerate(ids):
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/{ROLE}", RoleSessionName="setup")["Credentials"]
        kw = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
        if n % 5 == 0:
            client(endpoint, "bedrock", "us-east-1", **kw).create_guardrail(
                name=f"g{n}",
                blockedInputMessaging="x",
                blockedOutputsMessaging="x",
                contentPolicyConfig={
                    "filtersConfig": [{"type": "HATE", "inputStrength": "LOW", "outputStrength": "LOW"}]
                },
            )
    return ids


class SandboxProcess:
    """`bedrockctl sandbox --seed empty --port 0` in a child process; ``endpoint_url`` once it listens."""

    def __init__(self) -> None:
        import re
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bedrockctl.cli.main", "sandbox", "--seed", "empty", "--port", "0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.endpoint_url = m.group(1)
                break
        else:
            raise RuntimeError("sandbox did not start")

    def cpu_s(self) -> float:
        """User + system CPU seconds the sandbox process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--regions", type=int, default=17)
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--workers", default="64", help="worker counts to run discover with, comma-separated")
    ap.add_argument("--runs", default="discover,sequential", help="which runs, comma-separated (default both)")
    ap.add_argument("--write", action="store_true", help="record the result in bench/RESULTS.md")
    args = ap.parse_args()

    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.catalog import load_catalog
    from bedrockctl.sandbox.faults import SandboxAdmin
    from bedrockctl.services.inventory import discover
    from bedrockctl.settings import AwsSettings

    # The sandbox runs in its own process (its own core and GIL), like a remote AWS endpoint would.
    sb = SandboxProcess()
    os.environ.update(
        AWS_ENDPOINT_URL=sb.endpoint_url,
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_REGION="us-east-1",
    )
    try:
        setup(sb.endpoint_url, args.accounts)
        regions = [r.region for r in load_catalog().regions if r.partition == "aws"][: args.regions]
        SandboxAdmin(sb.endpoint_url).set_faults({"latency": [{"ms": args.latency_ms}]})
        runs = {}
        wanted = args.runs.split(",")
        plan = [(f"discover-{w}", int(w)) for w in args.workers.split(",")] if "discover" in wanted else []
        plan += [("sequential", 1)] if "sequential" in wanted else []
        for label, workers in plan:
            base = SessionFactory(AwsSettings(region="us-east-1"))
            cpu0, sb0 = time.process_time(), sb.cpu_s()
            t0 = time.perf_counter()
            rep = discover(
                base,
                plugins=list(ASSET_TYPES),
                regions=regions,
                accounts="org",
                role_name=ROLE,
                external_id=None,
                asset_types=ASSET_TYPES,
                max_workers=workers,
                probe_timeout=10.0,
            )
            wall = time.perf_counter() - t0
            cpu, sb_cpu = time.process_time() - cpu0, sb.cpu_s() - sb0
            runs[label] = (wall, rep, workers, cpu, sb_cpu)
            print(
                f"{label:12s} workers={workers:3d} wall={wall:7.2f}s cpu={cpu:6.2f}s sandbox_cpu={sb_cpu:6.2f}s "
                f"targets={rep['targets']} "
                f"ok={rep['targets_ok']} assets={rep['asset_count']} dead={list(rep['dead_regions'])}",
                flush=True,
            )
        for label in runs:
            if label != "sequential" and "sequential" in runs:
                print(f"speed-up {label}: {runs['sequential'][0] / runs[label][0]:.1f}x")
        if args.write and "sequential" in runs and len(runs) > 1:
            record(args, regions, runs)
    finally:
        sb.stop()


def record(args: argparse.Namespace, regions: list[str], runs: dict) -> None:
    import platform

    s_wall = runs["sequential"][0]
    rows = []
    for label, (wall, rep, workers, cpu, sb_cpu) in runs.items():
        name = "sequential scan" if label == "sequential" else "`discover`"
        rows.append(
            f"| {name} | {workers} | {wall:.1f} s | {cpu:.1f} s | {sb_cpu:.1f} s "
            f"| {rep['targets_ok']}/{rep['targets']} | {rep['asset_count']} | {s_wall / wall:.1f}x |"
        )
    best = max((s_wall / r[0], label) for label, r in runs.items() if label != "sequential")
    calls = runs["sequential"][1]["targets"]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    table = "\n".join(rows)
    section = f"""## inventory

`.venv/bin/python bench/inventory/run.py --workers {args.workers} --write` -- one run,
{time.strftime("%Y-%m-%d %H:%M")} UTC, Python {platform.python_version()} on {os.cpu_count()} CPU(s); load average at
the end {load} (shared machine).
Sandbox (its own process) with {args.latency_ms} ms injected latency on every call; AWS Organization of
{args.accounts} accounts ({args.accounts - 1} members entered by AssumeRole) x {len(regions)} regions; asset types
{", ".join(ASSET_TYPES["aws_bedrock"])} ({calls} list targets + org listing, role assumption and region probes).
CPU = this process (the scan) and the sandbox process, user + system, during the run.

| run | workers | wall time | scan CPU | sandbox CPU | targets ok | assets | sequential / this |
|---|---|---|---|---|---|---|---|
{table}

Best: **{best[0]:.1f}x** ({best[1]}); goal >= 20x: {"met" if best[0] >= 20 else "NOT met"}.
"""
    path = HERE.parent / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    import re

    pattern = re.compile(r"## inventory\n.*?(?=\n## |\Z)", re.S)
    text = pattern.sub(section.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
