"""The demo's gateway and its synthetic workload: several users and teams, three client protocols, one budget
that trips and one throttled region that fails over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.settings import AwsSettings, EnvironmentSettings, Settings, StoreSettings

# (user, team, environment, protocol, workflow, model, calls)
WORKLOAD: tuple[tuple[str, str, str, str, str, str, int], ...] = (
    ("alice", "search", "prod", "boto3-sigv4", "rag-answers", "us.anthropic.claude-haiku-4-5-20251001-v1:0", 12),
    ("alice", "search", "prod", "openai", "query-rewrite", "amazon.nova-lite-v1:0", 8),
    ("bob", "support", "prod", "openai", "ticket-triage", "anthropic.claude-3-haiku-20240307-v1:0", 12),
    ("bob", "support", "prod", "boto3-bearer", "summaries", "us.anthropic.claude-haiku-4-5-20251001-v1:0", 6),
    ("carol", "platform", "dev", "boto3-bearer", "code-review", "us.anthropic.claude-sonnet-4-20250514-v1:0", 20),
)
PROMPTS = (
    "Summarise the customer's last three tickets in two sentences.",
    "Rewrite this search query for a product catalogue: waterproof hiking boots size 44.",
    "Review this diff and list risky changes: + retries = 0",
    "Classify the sentiment of: the new release fixed my issue, thanks!",
)
DEV_BUDGET_USD = 0.01  # small on purpose: carol's code reviews trip it


def demo_settings(data_dir: Path, endpoint: str) -> Settings:
    return Settings(
        aws=AwsSettings(region="us-east-1", endpoint_url=endpoint, retry_attempts=2),
        environments={
            "prod": EnvironmentSettings(name="prod", monthly_budget_usd=50.0, alert_thresholds=[50.0, 80.0]),
            "dev": EnvironmentSettings(
                name="dev", monthly_budget_usd=DEV_BUDGET_USD, alert_thresholds=[50.0, 80.0], hard_stop_pct=95.0
            ),
        },
        gateway={"master_secret": "demo-master-secret-not-for-production", "flush_interval": 0.2},
        runtime={"failover_regions": ["us-west-2"], "backoff_base": 0.0},
        store=StoreSettings(url=f"sqlite:///{data_dir / 'bedrockctl.db'}", data_dir=str(data_dir)),
    )


@dataclass
class RunningServer:
    url: str
    app: Any
    server: Any
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop | None = None

    @property
    def gateway(self) -> Any:
        return self.app.state["gateway"]

    def flush(self) -> None:
        if self.loop is not None:
            asyncio.run_coroutine_threadsafe(self.gateway.flush(True), self.loop).result(30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def wait(self) -> None:
        with contextlib.suppress(KeyboardInterrupt):
            while self.thread.is_alive():
                self.thread.join(0.5)


def start_server(ctx: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """``create_app(ctx)`` (gateway + console) under uvicorn in a background thread."""
    import uvicorn

    from bedrockctl.server import create_app

    app = create_app(ctx)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
    running = RunningServer(f"http://{host}:{sock.getsockname()[1]}", app, server, None)  # type: ignore[arg-type]

    def run() -> None:
        loop = asyncio.new_event_loop()
        running.loop = loop
        loop.run_until_complete(server.serve(sockets=[sock]))

    running.thread = threading.Thread(target=run, name="bedrockctl-demo-server", daemon=True)
    running.thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not running.thread.is_alive():
            raise RuntimeError("the demo server did not start")
        time.sleep(0.02)
    return running


@dataclass
class WorkloadResult:
    calls: int = 0
    refused_by_budget: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    by_user: dict[str, int] = field(default_factory=dict)
    by_protocol: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@contextlib.contextmanager
def _bearer(token: str) -> Iterator[None]:
    old = os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
    os.environ["AWS_BEARER_TOKEN_BEDROCK"] = token
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AWS_BEARER_TOKEN_BEDROCK", None)
        else:
            os.environ["AWS_BEARER_TOKEN_BEDROCK"] = old


def _client(protocol: str, url: str, key: dict[str, Any]) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(retries={"mode": "standard", "max_attempts": 1}, read_timeout=60)
    if protocol == "openai":
        import openai

        return openai.OpenAI(api_key=key["token"], base_url=f"{url}/v1", max_retries=0)
    if protocol == "boto3-bearer":  # AWS_BEARER_TOKEN_BEDROCK is set (run_workload)
        return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=url, config=cfg)
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        config=cfg,
        aws_access_key_id=key["aws_access_key_id"],
        aws_secret_access_key=key["aws_secret_access_key"],
    )


def _call(protocol: str, client: Any, model: str, prompt: str, tags: dict[str, str]) -> None:
    if protocol == "openai":
        client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": prompt}], max_tokens=300, user=tags.get("user")
        )
        return
    client.converse(
        modelId=model,
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        inferenceConfig={"maxTokens": 300},
        requestMetadata=tags,
    )


def _error_code(exc: Exception) -> str:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    if code:
        return str(code)
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("code"):
            return str(err["code"])
    return type(exc).__name__


def run_workload(server: RunningServer) -> WorkloadResult:
    """Drive the workload through the gateway, each user with their own key and protocol."""
    result = WorkloadResult()
    keys: dict[tuple[str, str, str], dict[str, Any]] = {}
    for i, (user, team, env, protocol, workflow, model, n) in enumerate(WORKLOAD):
        key = keys.get((user, team, env))
        if key is None:
            key = keys[(user, team, env)] = server.gateway.keys.create(user=user, team=team, environment=env)
            result.keys.append(key["key_id"])
        tags = {"team": team, "workflow": workflow, "user": user}
        with _bearer(key["token"]) if protocol == "boto3-bearer" else contextlib.nullcontext():
            client = _client(protocol, server.url, key)
            _drive(result, protocol, client, user, model, tags, i, n)
    server.flush()
    return result


def _drive(
    result: WorkloadResult, protocol: str, client: Any, user: str, model: str, tags: dict[str, str], i: int, n: int
) -> None:
    for j in range(n):
        try:
            _call(protocol, client, model, PROMPTS[(i + j) % len(PROMPTS)] + f" (#{j})", tags)
        except Exception as exc:
            code = _error_code(exc)
            if code in ("ServiceQuotaExceededException", "insufficient_quota"):
                result.refused_by_budget += 1
            else:
                result.errors[code] = result.errors.get(code, 0) + 1
            continue
        result.calls += 1
        result.by_user[user] = result.by_user.get(user, 0) + 1
        result.by_protocol[protocol] = result.by_protocol.get(protocol, 0) + 1
