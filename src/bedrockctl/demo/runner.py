"""``bedrockctl demo``: the whole product on the embedded sandbox, on a fresh machine, with one command.

Steps: start the sandbox with the demo estate; start the gateway (and console); discover the estate (two accounts,
three regions); drive a synthetic workload of several users and teams through the gateway's HTTPS listener with
boto3 and the OpenAI SDK (a dev budget trips; us-east-1 throttles, so calls fail over); ingest the invocation logs
and CloudTrail; report usage and cost; run doctor. Every step is reported, also one skipped because an earlier one
failed.

The demo is an interface beside the CLI: it builds its ``AppContext`` from explicit settings (endpoint, Region,
sandbox credentials, data directory) instead of the user's config files and environment, and it never changes
``os.environ`` (the one thing it takes from the environment is where bedrockctl keeps data, for the default demo
directory). Each run starts from an empty data directory, so two runs print the same figures.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.demo.errors import DemoDataDirRefused, DemoWorkloadErrors
from bedrockctl.demo.gateway import FAILOVER_REGION, REGION, Listeners, bind_port, demo_settings
from bedrockctl.errors import BedrockctlError
from bedrockctl.files import private_dir, write_private

DEMO_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
DEMO_ACCOUNT_ROLE = "bedrock-cross-account"
DEMO_EXTERNAL_ID = "bedrockctl-demo"
DOCTOR_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MARKER = ".bedrockctl-demo"  # a directory with this file was made by the demo: it may empty it
# us-east-1 throttles half of its calls: the gateway fails over to us-west-2 (seeded: the same calls every run).
THROTTLE = {"throttle": [{"rate": 0.5, "region": REGION}], "seed": 11}


def scan_args() -> list[str]:
    """``bedrockctl`` arguments that scan the demo's two accounts in its three Regions (the sandbox has no AWS
    Organization, so ``--accounts org`` would say so: name the accounts and the role that enters them)."""
    from bedrockctl.sandbox.seeds import DEV, PROD

    return [
        "discover",
        "--accounts",
        f"{PROD},{DEV}",
        "--role-name",
        DEMO_ACCOUNT_ROLE,
        "--external-id",
        DEMO_EXTERNAL_ID,
        "--regions",
        ",".join(DEMO_REGIONS),
    ]


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    skipped: bool = False


@dataclass
class DemoRun:
    endpoint: str = ""  # the sandbox
    console: str = ""  # http, for a browser
    gateway: str = ""  # https, for clients
    ca_cert: str = ""
    data_dir: str = ""
    login: dict[str, str] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "console": self.console,
            "gateway": self.gateway,
            "ca_cert": self.ca_cert,
            "login": {"user": self.login.get("user")} if self.login else {},
            "data_dir": self.data_dir,
            "data_dir_emptied": True,
            "steps": [s.__dict__ for s in self.steps],
            "summary": self.summary,
        }


def default_data_dir() -> Path:
    from bedrockctl.paths import data_dir

    return data_dir() / "demo"


def fresh_data_dir(path: Path, *, owned: bool) -> Path:
    """Empty ``path`` (or create it). A directory the demo did not make is emptied only if ``owned`` (the demo's
    default location); otherwise a non-empty one is refused, never deleted."""
    path = path.expanduser().resolve()
    if path.exists():
        if not path.is_dir():
            raise DemoDataDirRefused(f"{path} is a file, not a directory", details={"data_dir": str(path)})
        if any(path.iterdir()) and not (owned or (path / MARKER).is_file()):
            raise DemoDataDirRefused(
                f"{path} is not empty and was not made by bedrockctl demo", details={"data_dir": str(path)}
            )
        shutil.rmtree(path)
    private_dir(path)
    write_private(path / MARKER, "Made by `bedrockctl demo`, which empties this directory at the start of each run.\n")
    return path


class Demo:
    """Runs the demo; the sandbox and the server stay up afterwards for the console until ``close()``."""

    def __init__(
        self,
        *,
        port: int = 8765,
        tls_port: int | None = None,
        sandbox_port: int = 0,
        data_dir: Path | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.console_port, self.tls_port, self.sandbox_port = port, tls_port, sandbox_port
        self.requested_dir = data_dir
        self.data_dir: Path | None = None
        self.say = say or (lambda _line: None)
        self.listeners: Listeners | None = None
        self.sandbox: Any = None
        self.server: Any = None
        self.ctx: Any = None
        self.tls: Any = None
        self.run = DemoRun()
        self.facts: dict[str, Any] = {}

    # -- plumbing ------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _step(self, name: str, *needs: Any) -> Iterator[dict[str, Any] | None]:
        """Run a step; yields ``None`` (and records a skipped step) when something it needs is missing."""
        if any(n is None for n in needs):
            failed = next((s.name for s in self.run.steps if not s.ok), "an earlier step")
            self.run.steps.append(StepResult(name, False, 0.0, {}, f"skipped: {failed} failed", skipped=True))
            yield None
            return
        self.say(f"{name} …")
        detail: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            yield detail
        except BedrockctlError as exc:
            self.run.steps.append(StepResult(name, False, time.perf_counter() - started, detail, str(exc)))
            return
        except Exception as exc:  # a demo step must never take the others down; the error is shown by name
            self.run.steps.append(
                StepResult(name, False, time.perf_counter() - started, detail, f"{type(exc).__name__}: {exc}")
            )
            return
        self.run.steps.append(StepResult(name, True, time.perf_counter() - started, detail))

    def prepare(self) -> None:
        """Bind the ports and empty the data directory, before any step: a busy port or a directory the demo
        may not empty is one clear error (``BRC-DEMO-001`` / ``BRC-DEMO-002``), and nothing is lost."""
        if self.sandbox_port:
            bind_port("127.0.0.1", self.sandbox_port, "--sandbox-port").close()
        self.listeners = Listeners.bind(self.console_port, self.tls_port)
        try:
            owned = self.requested_dir is None
            self.data_dir = fresh_data_dir(self.requested_dir or default_data_dir(), owned=owned)
        except BaseException:
            self.listeners.close()
            self.listeners = None
            raise
        self.run.data_dir = str(self.data_dir)
        self.say(f"starting from an empty demo data directory: {self.data_dir}")

    def context(self) -> Any:
        """The demo's AppContext: explicit settings and an explicit (empty) environment for endpoint lookups."""
        from botocore.config import Config

        from bedrockctl.aws.session import SessionFactory
        from bedrockctl.context import AppContext

        assert self.data_dir is not None
        settings = demo_settings(self.data_dir, self.run.endpoint)
        # SigV4 in code: a bearer token in the user's environment must not replace the sandbox's key pair (botocore
        # without the option predates bearer tokens)
        sigv4 = Config(auth_scheme_preference="sigv4") if "auth_scheme_preference" in Config.OPTION_DEFAULTS else None
        sessions = SessionFactory(settings.aws, env={}, config=sigv4)
        return AppContext(settings=settings, sessions=sessions)

    # -- steps ---------------------------------------------------------------------------------------------
    def start_sandbox(self) -> None:
        from bedrockctl.sandbox.server import Sandbox

        with self._step("sandbox") as d:
            assert d is not None
            self.sandbox = Sandbox(port=self.sandbox_port, seed="demo").start()
            self.run.endpoint = self.sandbox.endpoint_url
            self.ctx = self.context()
            d.update(endpoint=self.sandbox.endpoint_url, ready_seconds=round(self.sandbox.ready_seconds or 0, 2))

    def start_server(self) -> None:
        from bedrockctl.demo.gateway import start_server
        from bedrockctl.security.tls import ensure_local_tls

        with self._step("gateway", self.ctx, self.listeners) as d:
            if d is None or self.listeners is None or self.data_dir is None:
                return
            self.tls = ensure_local_tls(self.data_dir / "tls")
            self.run.ca_cert = str(self.tls.ca_cert)
            self.server = start_server(self.ctx, self.listeners, self.tls)
            self.run.console, self.run.gateway = self.server.url, self.server.tls_url
            self.run.login = self._demo_admin()
            d.update(
                console=self.server.url,
                gateway=self.server.tls_url,
                ca_cert=str(self.tls.ca_cert),
                console_user=self.run.login["user"],
            )

    def _demo_admin(self) -> dict[str, str]:
        """A console admin for the demo, with a fresh random password printed on the terminal."""
        import secrets

        from bedrockctl.services.users import SYSTEM, UserService

        password = "demo-" + secrets.token_urlsafe(9)
        UserService(self.server.gateway.engine).create(
            SYSTEM, "demo", password, role="admin", display_name="Demo admin"
        )
        return {"user": "demo", "password": password}

    def discover(self) -> None:
        from bedrockctl.sandbox.seeds import DEV, PROD
        from bedrockctl.services.inventory import discover
        from bedrockctl.store import Store

        with self._step("discover", self.ctx) as d:
            if d is None:
                return
            report = discover(
                self.ctx.sessions,
                regions=list(DEMO_REGIONS),
                accounts=[PROD, DEV],
                role_name=DEMO_ACCOUNT_ROLE,
                external_id=DEMO_EXTERNAL_ID,
                store=Store(self.ctx.settings.store.url),
            )
            self.facts["inventory"] = report
            d.update(
                accounts=report["accounts"],
                targets=report["targets"],
                assets=report["asset_count"],
                by_type=report["assets_by_type"],
                errors=len(report["errors"]),
            )

    def workload(self) -> None:
        from bedrockctl.demo.workload import run_workload

        with self._step("workload", self.server) as d:
            if d is None:
                return
            self.sandbox.faults.set(THROTTLE)
            try:
                result = run_workload(self.server, self.tls)
            finally:
                self.sandbox.faults.set({})
            absorbed, failed_over = self._throttles_absorbed()
            if absorbed:
                result.expected["ThrottlingException"] = absorbed
            wl = result.to_dict()
            wl["failed_over"] = failed_over
            self.facts["workload"] = wl
            d.update({k: v for k, v in wl.items() if k not in ("keys", "error_messages")})
            if result.errors:
                raise DemoWorkloadErrors(
                    f"{sum(result.errors.values())} unexpected client errors: {result.describe_errors()}",
                    details={"errors": result.errors},
                )

    def _throttles_absorbed(self) -> tuple[int, int]:
        """From the gateway's audit trail: attempts that were throttled and retried, and calls that failed over."""
        from bedrockctl.store.audit import query

        absorbed = failed_over = 0
        for rec in query(self.server.gateway.engine, status="ok", limit=None):
            absorbed += max(rec.attempts - 1, 0)
            failed_over += rec.region == FAILOVER_REGION
        return absorbed, failed_over

    def ingest(self) -> None:
        from bedrockctl.analytics.ingest import ingest
        from bedrockctl.analytics.store import UsageStore
        from bedrockctl.sandbox.seeds import PROD, REGIONS

        with self._step("ingest", self.ctx) as d:
            if d is None:
                return
            # CloudTrail of every Region, so each event meets its own invocation-log record by request id: a
            # throttled attempt then stays a (token-less) call of its own instead of being paired, by the second it
            # fell in, with its fail-over in another Region -- which made the figures differ from run to run
            specs = [f"s3://bedrock-invocation-logs-{PROD}-{r}/bedrock/" for r in REGIONS]
            specs += [f"lookup:{r}" for r in REGIONS]
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

        with self._step("report", self.ctx) as d:
            if d is None:
                return
            store = UsageStore.for_settings(self.ctx.settings)
            con = store.connect()
            try:
                book = PriceBook.load_for(self.ctx.settings)
                by_user = run_report(duckdb_runner(con), "user", days=31, book=book)
                by_team = run_report(duckdb_runner(con), "tag:team", days=31, book=book)
            finally:
                con.close()
            users = [
                {"user": r.get("user"), "invocations": r["invocations"], "cost_usd": str(r.get("cost_usd"))}
                for r in sorted(by_user.rows, key=lambda r: (-float(r.get("cost_usd") or 0), str(r.get("user"))))
            ]
            self.facts["users"] = users
            self.facts["top_users"] = users[:5]
            self.facts["teams"] = [
                {
                    "team": r.get("tag:team") or r.get("team"),
                    "invocations": r["invocations"],
                    "cost_usd": str(r.get("cost_usd")),
                }
                for r in sorted(by_team.rows, key=lambda r: str(r.get("tag:team") or r.get("team")))
            ]
            self.facts["total_cost_usd"] = str(by_user.totals.get("cost_usd"))
            d.update(users=len(users), teams=len(self.facts["teams"]), total_cost_usd=self.facts["total_cost_usd"])

    def doctor(self) -> None:
        from bedrockctl.services.doctor import DoctorOptions, run

        with self._step("doctor", self.ctx) as d:
            if d is None:
                return
            report = run(DoctorOptions(region=REGION, models=[DOCTOR_MODEL]), sessions=self.ctx.sessions)
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
        for key in ("workload", "users", "top_users", "teams", "total_cost_usd", "doctor"):
            if key in self.facts:
                s[key] = self.facts[key]
        self.run.summary = s
        return self.run

    def run_all(self) -> DemoRun:
        """Every step, in order. ``prepare`` errors (busy port, refused directory) propagate: nothing ran yet."""
        self.prepare()
        self.start_sandbox()
        self.start_server()
        self.discover()
        self.workload()
        self.ingest()
        self.report()
        self.doctor()
        return self.finish()

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.listeners is not None:
            self.listeners.close()
            self.listeners = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
