"""``bedrockctl demo``: the whole product on the embedded sandbox, on a fresh machine, with one command.

Steps: start the sandbox with the demo estate; start the gateway (and console); discover the estate (two accounts,
three regions); drive a synthetic workload of several users and teams through the gateway with boto3 and the
OpenAI SDK (a dev budget trips; us-east-1 throttles, so calls fail over); ingest the invocation logs and
CloudTrail; report usage and cost; run doctor; print a summary. Each step is small and reports what it did; a
failing step is reported and the demo goes on with the next one.
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
    console: str = ""
    data_dir: str = ""
    login: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "console": self.console,
            "login": {"user": self.login.get("user")} if self.login else {},
            "data_dir": self.data_dir,
            "steps": [s.__dict__ for s in self.steps],
            "summary": self.summary,
        }


class Demo:
    """Runs the demo; ``sandbox`` stays up afterwards for the console until ``close()``."""

    def __init__(
        self,
        *,
        port: int = 8765,
        sandbox_port: int = 0,
        data_dir: Path | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.console_port = port
        self.port = sandbox_port
        self.server: Any = None
        self.ctx: Any = None
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

    def start_server(self) -> None:
        from bedrockctl.aws.session import SessionFactory
        from bedrockctl.context import AppContext
        from bedrockctl.services.demo_gateway import demo_settings, start_server

        with self._step("gateway") as d:
            assert self.data_dir is not None
            settings = demo_settings(self.data_dir, self.run.endpoint)
            self.ctx = AppContext(settings=settings, sessions=SessionFactory(settings.aws))
            self.server = start_server(self.ctx, port=self.console_port)
            self.run.console = self.server.url
            self.run.login = self._demo_admin()
            d.update(url=self.server.url, console_user=self.run.login["user"])

    def _demo_admin(self) -> dict[str, str]:
        """A console admin for the demo, with a fresh random password printed on the terminal."""
        import secrets

        from bedrockctl.services.users import SYSTEM, UserService

        users = UserService(self.server.gateway.engine)
        password = "demo-" + secrets.token_urlsafe(9)
        existing = users.by_name("demo")
        if existing is None:
            users.create(SYSTEM, "demo", password, role="admin", display_name="Demo admin")
        else:  # a re-run on the same data directory: a new password
            users.set_password(SYSTEM, int(existing["id"]), password)
        return {"user": "demo", "password": password}

    def workload(self) -> None:
        from bedrockctl.sandbox.faults import SandboxAdmin
        from bedrockctl.services.demo_gateway import run_workload

        with self._step("workload") as d:
            admin = SandboxAdmin(self.run.endpoint)
            # us-east-1 throttles half of its calls: the gateway fails over to us-west-2.
            admin.set_faults({"throttle": [{"rate": 0.5, "region": "us-east-1"}], "seed": 11})
            try:
                result = run_workload(self.server)
            finally:
                admin.clear_faults()
            self.facts["workload"] = result.to_dict()
            d.update({k: v for k, v in result.to_dict().items() if k != "keys"})

    def ingest(self) -> None:
        from bedrockctl.analytics.ingest import ingest
        from bedrockctl.analytics.store import UsageStore
        from bedrockctl.sandbox.seeds import PROD, REGIONS

        with self._step("ingest") as d:
            specs = [f"s3://bedrock-invocation-logs-{PROD}-{r}/bedrock/" for r in REGIONS] + ["lookup"]
            store = UsageStore.for_settings(self.ctx.settings)
            rep = ingest(store, specs, sessions=self.ctx.sessions, progress=False)
            d.update(
                records=rep.records_seen,
                new_invocations=rep.new_invocations,
                trail_events=rep.new_trail_events,
                bad=rep.bad_records,
            )

    def report(self) -> None:
        from bedrockctl.analytics.reports import duckdb_runner, run_report
        from bedrockctl.analytics.store import UsageStore
        from bedrockctl.pricing import PriceBook

        with self._step("report") as d:
            store = UsageStore.for_settings(self.ctx.settings)
            con = store.connect()
            try:
                book = PriceBook.load_for(self.ctx.settings)
                by_user = run_report(duckdb_runner(con), "user", days=31, book=book)
                by_team = run_report(duckdb_runner(con), "tag:team", days=31, book=book)
            finally:
                con.close()
            top = sorted(by_user.rows, key=lambda r: float(r.get("cost_usd") or 0), reverse=True)[:5]
            self.facts["top_users"] = [
                {"user": r.get("user"), "invocations": r["invocations"], "cost_usd": str(r.get("cost_usd"))}
                for r in top
            ]
            self.facts["teams"] = [
                {
                    "team": r.get("tag:team") or r.get("team"),
                    "invocations": r["invocations"],
                    "cost_usd": str(r.get("cost_usd")),
                }
                for r in by_team.rows
            ]
            self.facts["total_cost_usd"] = str(by_user.totals.get("cost_usd"))
            d.update(top_users=self.facts["top_users"][:3], total_cost_usd=self.facts["total_cost_usd"])

    def doctor(self) -> None:
        from bedrockctl.services.doctor import DoctorOptions, run

        with self._step("doctor") as d:
            report = run(
                DoctorOptions(region="us-east-1", models=["us.anthropic.claude-haiku-4-5-20251001-v1:0"]),
                sessions=self.ctx.sessions,
            )
            self.facts["doctor"] = {
                "summary": report.summary,
                "not_passing": [f"{c.id}: {c.status}" for c in report.checks if c.status != "pass"][:6],
            }
            d.update(self.facts["doctor"]["summary"])

    def finish(self) -> DemoRun:
        s: dict[str, Any] = {}
        inv = self.facts.get("inventory")
        if inv:
            s["assets"] = inv["assets_by_type"]
        for key in ("workload", "top_users", "teams", "total_cost_usd", "doctor"):
            if key in self.facts:
                s[key] = self.facts[key]
        self.run.summary = s
        return self.run

    def run_all(self) -> DemoRun:
        self.start_sandbox()
        if self.sandbox is None:
            return self.finish()
        self.start_server()
        self.discover()
        if self.server is not None:
            self.workload()
        self.ingest()
        self.report()
        self.doctor()
        return self.finish()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
