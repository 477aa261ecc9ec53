"""``bedrockctl demo``: the whole product on the embedded sandbox, on a fresh machine, with one command.

Steps: start the sandbox with the demo estate; discover it (two accounts, three regions); drive a synthetic
workload of several users and teams (one region throttled, so calls fail over); ingest the invocation logs and
CloudTrail; run doctor; print a summary. Each step is small and reports what it did; a failing step is reported
and the demo goes on with the next one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.errors import BedrockctlError

DEMO_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
DEMO_ACCOUNT_ROLE = "bedrock-cross-account"
DEMO_EXTERNAL_ID = "bedrockctl-demo"
# (user, team, workflow, model, calls)
WORKLOAD: tuple[tuple[str, str, str, str, int], ...] = (
    ("alice", "search", "rag-answers", "haiku", 14),
    ("alice", "search", "query-rewrite", "amazon.nova-lite-v1:0", 8),
    ("bob", "support", "ticket-triage", "anthropic.claude-3-haiku-20240307-v1:0", 12),
    ("bob", "support", "summaries", "us.anthropic.claude-3-5-haiku-20241022-v1:0", 6),
    ("carol", "platform", "code-review", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", 5),
)
PROMPTS = (
    "Summarise the customer's last three tickets in two sentences.",
    "Rewrite this search query for a product catalogue: waterproof hiking boots size 44.",
    "Review this diff and list risky changes: + retries = 0",
    "Classify the sentiment of: the new release fixed my issue, thanks!",
)


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class DemoRun:
    endpoint: str = ""
    data_dir: str = ""
    steps: list[StepResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "data_dir": self.data_dir,
            "steps": [s.__dict__ for s in self.steps],
            "summary": self.summary,
        }


class Demo:
    """Runs the demo; ``sandbox`` stays up afterwards for the console until ``close()``."""

    def __init__(self, *, port: int = 0, data_dir: Path | None = None, on_step: Callable[[str], None] | None = None):
        self.port = port
        self.data_dir = data_dir
        self.on_step = on_step or (lambda _name: None)
        self.sandbox: Any = None
        self.run = DemoRun()
        self.facts: dict[str, Any] = {}

    # -- plumbing ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _step(self, name: str) -> Iterator[dict[str, Any]]:
        self.on_step(name)
        detail: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            yield detail
        except BedrockctlError as exc:
            self.run.steps.append(StepResult(name, False, time.perf_counter() - started, detail, str(exc)))
            return
        except Exception as exc:  # a demo step must never take the others down
            self.run.steps.append(
                StepResult(name, False, time.perf_counter() - started, detail, f"{type(exc).__name__}: {exc}")
            )
            return
        self.run.steps.append(StepResult(name, True, time.perf_counter() - started, detail))

    def _environment(self, endpoint: str) -> None:
        from bedrockctl.paths import data_dir

        base = self.data_dir or (data_dir() / "demo")
        base.mkdir(parents=True, exist_ok=True)
        self.data_dir = base
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "demo-secret-not-real",
                "AWS_EC2_METADATA_DISABLED": "true",
                "BEDROCKCTL_DATA_DIR": str(base),
            }
        )
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(var, None)
        self.run.data_dir = str(base)

    def context(self, **aws: Any) -> Any:
        from bedrockctl.context import AppContext

        return AppContext.create({f"aws.{k}": v for k, v in aws.items()})

    # -- steps ---------------------------------------------------------------------------------------------
    def start_sandbox(self) -> None:
        from bedrockctl.sandbox.server import Sandbox

        with self._step("sandbox") as d:
            self.sandbox = Sandbox(port=self.port, seed="demo").start()
            self.run.endpoint = self.sandbox.endpoint_url
            self._environment(self.sandbox.endpoint_url)
            d.update(endpoint=self.sandbox.endpoint_url, ready_seconds=round(self.sandbox.ready_seconds or 0, 2))

    def discover(self) -> None:
        from bedrockctl.services.inventory import discover
        from bedrockctl.store import Store

        with self._step("discover") as d:
            ctx = self.context()
            others = self.sandbox_accounts()
            store = Store()  # BEDROCKCTL_DATA_DIR points at the demo's data directory
            report = discover(
                ctx.sessions,
                regions=list(DEMO_REGIONS),
                accounts=others,
                role_name=DEMO_ACCOUNT_ROLE,
                external_id=DEMO_EXTERNAL_ID,
                store=store,
            )
            self.facts["inventory"] = report
            d.update(
                accounts=report["accounts"],
                targets=report["targets"],
                assets=report["asset_count"],
                by_type=report["assets_by_type"],
                errors=len(report["errors"]),
            )

    def sandbox_accounts(self) -> list[str]:
        from bedrockctl.sandbox.seeds import DEV, PROD

        return [PROD, DEV]

    def _user_keys(self) -> dict[str, tuple[str, str]]:
        """Fresh access keys for the demo users (created through IAM, like an admin would)."""
        import boto3

        iam = boto3.client("iam", region_name="us-east-1", endpoint_url=self.run.endpoint)
        keys: dict[str, tuple[str, str]] = {}
        for user in sorted({w[0] for w in WORKLOAD}):
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_user(UserName=user)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        return keys

    def workload(self) -> None:
        from bedrockctl.runtime import Runtime, RuntimeOptions
        from bedrockctl.sandbox.faults import SandboxAdmin

        with self._step("workload") as d:
            admin = SandboxAdmin(self.run.endpoint)
            # us-east-1 throttles half of its calls: cross-region profiles fail over to their other regions.
            admin.set_faults({"throttle": [{"rate": 0.5, "region": "us-east-1"}], "seed": 11})
            keys = self._user_keys()
            served: dict[str, int] = {}
            calls = failed = 0
            try:
                for i, (user, team, workflow, model, n) in enumerate(WORKLOAD):
                    key_id, secret = keys[user]
                    ctx = self.context(access_key_id=key_id, secret_access_key=secret, region="us-east-1")
                    opts = RuntimeOptions(failover_regions=["us-west-2"], backoff_base=0.0, max_attempts=4)
                    rt = Runtime.from_context(ctx, options=opts)
                    try:
                        for j in range(n):
                            prompt = PROMPTS[(i + j) % len(PROMPTS)] + f" (#{j})"
                            try:
                                res = rt.converse(
                                    model, prompt=prompt, max_tokens=300, tags={"team": team, "workflow": workflow}
                                )
                            except BedrockctlError:
                                failed += 1
                                continue
                            calls += 1
                            region = res.meta.region_served or "?"
                            served[region] = served.get(region, 0) + 1
                    finally:
                        rt.close()
            finally:
                admin.clear_faults()
            d.update(calls=calls, failed=failed, served_by_region=served, users=len(keys))
            self.facts["workload"] = d

    def finish(self) -> DemoRun:
        s: dict[str, Any] = {}
        inv = self.facts.get("inventory")
        if inv:
            s["assets"] = inv["assets_by_type"]
        wl = self.facts.get("workload")
        if wl:
            s["workload"] = {k: wl[k] for k in ("calls", "failed", "served_by_region")}
        self.run.summary = s
        return self.run

    def run_all(self) -> DemoRun:
        self.start_sandbox()
        if self.sandbox is None:
            return self.finish()
        self.discover()
        self.workload()
        return self.finish()

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
