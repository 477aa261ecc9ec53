"""The one call core behaves the same behind its three drivers: the sync client (``Runtime``), the async client
(``AsyncRuntime``) and the gateway (``Gateway.send`` over its own transport, called over HTTP). Every case runs
through each driver against the sandbox; the local tier's cases run through the two clients (the gateway has no
local tier)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bedrockctl.aws.session import SessionFactory
from bedrockctl.errors import BedrockctlError
from bedrockctl.pricing import PriceBook, to_nusd
from bedrockctl.runtime import AsyncRuntime, MemorySink, Runtime, RuntimeOptions
from bedrockctl.runtime.base import RuntimeBase
from bedrockctl.runtime.types import CallMeta, StreamEvent
from bedrockctl.runtime.wire import EventDecoder
from bedrockctl.sandbox.core import ROUTER, Route, SandboxRequest, SandboxResponse
from bedrockctl.settings import AwsSettings, Settings
from bedrockctl.store.audit import query
from gateway.conftest import RunningGateway, make_settings
from gateway.conftest import start_gateway as gateway_fixture  # noqa: F401 - the fixture, by this name

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
IMAGE_MODEL = "stability.sd3-5-large-v1:0"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))  # not UTF-8, not JSON
ONE_REGION = {"failover": False, "backoff_base": 0.0}


@dataclass
class Outcome:
    """What a caller sees of one call, in the same terms for every driver."""

    text: str = ""
    region: str = ""
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_nusd: int | None = None
    data: bytes = b""
    content_type: str = ""
    error: str = ""  # the error's message (empty: the call succeeded)
    details: dict[str, Any] = field(default_factory=dict)


def _meta(out: Outcome, meta: CallMeta) -> Outcome:
    out.region, out.attempts = meta.region_served, len(meta.attempts)
    out.input_tokens, out.output_tokens = meta.usage.input_tokens, meta.usage.output_tokens
    out.cost_nusd = None if meta.cost_usd is None else to_nusd(meta.cost_usd)
    return out


def _events(events: list[StreamEvent]) -> Outcome:
    usage = [e for e in events if e.kind == "usage"]
    assert len(usage) == 1 and usage[0].meta is not None and events[-1] is usage[0]
    return _meta(Outcome(text="".join(e.text for e in events if e.kind == "text")), usage[0].meta)


def _failure(exc: BedrockctlError) -> Outcome:
    return Outcome(error=exc.message, details=dict(exc.details or {}))


class ClientDriver:
    """``Runtime`` or ``AsyncRuntime``: the same calls, the async ones each on a loop of their own."""

    def __init__(self, kind: str, settings: Settings) -> None:
        self.kind, self.settings = kind, settings

    def _make(self, cls: type[RuntimeBase]) -> Any:
        opts = RuntimeOptions.from_dict(self.settings.runtime, self.settings.aws.retry_attempts)
        return cls(
            SessionFactory(self.settings.aws),
            settings=self.settings,
            options=opts,
            usage_sink=MemorySink(),
            prices=PriceBook.load(),
        )

    def _call(self, sync: Callable[[Runtime], Outcome], run: Callable[[AsyncRuntime], Any]) -> Outcome:
        try:
            if self.kind == "sync":
                rt = self._make(Runtime)
                try:
                    return sync(rt)
                finally:
                    rt.close()

            async def main() -> Outcome:
                art = self._make(AsyncRuntime)
                try:
                    out: Outcome = await run(art)
                    return out
                finally:
                    await art.aclose()

            return asyncio.run(main())
        except BedrockctlError as exc:
            return _failure(exc)

    def converse(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        def done(res: Any) -> Outcome:
            return _meta(Outcome(text=res.text), res.meta)

        async def run(art: AsyncRuntime) -> Outcome:
            return done(await art.converse(model, messages))

        return self._call(lambda rt: done(rt.converse(model, messages)), run)

    def converse_stream(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        async def run(art: AsyncRuntime) -> Outcome:
            return _events([e async for e in art.converse_stream(model, messages)])

        return self._call(lambda rt: _events(list(rt.converse_stream(model, messages))), run)

    def invoke(self, model: str, body: bytes, accept: str) -> Outcome:
        def done(res: Any) -> Outcome:
            assert res.body == ({} if accept == "image/png" else json.loads(res.data))
            return _meta(Outcome(data=res.data, content_type=res.content_type), res.meta)

        async def run(art: AsyncRuntime) -> Outcome:
            return done(await art.invoke_model(model, body, accept=accept))

        return self._call(lambda rt: done(rt.invoke_model(model, body, accept=accept)), run)


class GatewayDriver:
    """The gateway, called over HTTP with a gateway key; what it did is read from its audit row."""

    def __init__(self, gw: RunningGateway) -> None:
        self.gw = gw
        self.headers = {"authorization": f"Bearer {gw.key()['token']}", "content-type": "application/json"}

    def _post(self, model: str, suffix: str, body: bytes, **headers: str) -> httpx.Response:
        url = f"{self.gw.url}/model/{model}/{suffix}"
        return httpx.post(url, content=body, headers={**self.headers, **headers}, timeout=30)

    def _audited(self, out: Outcome) -> Outcome:
        self.gw.flush()
        (row,) = query(self.gw.gateway.engine, limit=1)
        out.region, out.attempts = row.region or "", row.attempts
        out.input_tokens, out.output_tokens, out.cost_nusd = row.input_tokens, row.output_tokens, row.cost_nusd
        return out

    def _failed(self, resp: httpx.Response) -> Outcome:
        assert resp.headers["x-amzn-errortype"]
        return self._audited(Outcome(error=resp.json()["message"]))

    def converse(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        resp = self._post(model, "converse", json.dumps({"messages": messages}).encode())
        if resp.status_code != 200:
            return self._failed(resp)
        content = resp.json()["output"]["message"]["content"]
        return self._audited(Outcome(text="".join(b.get("text", "") for b in content)))

    def converse_stream(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        resp = self._post(model, "converse-stream", json.dumps({"messages": messages}).encode())
        if resp.status_code != 200:
            return self._failed(resp)
        decoder = EventDecoder("ConverseStream", "")
        text = [p["delta"].get("text", "") for t, p in decoder.feed(resp.content) if t == "contentBlockDelta"]
        return self._audited(Outcome(text="".join(text)))

    def invoke(self, model: str, body: bytes, accept: str) -> Outcome:
        resp = self._post(model, "invoke", body, accept=accept)
        if resp.status_code != 200:
            return self._failed(resp)
        return self._audited(Outcome(data=resp.content, content_type=resp.headers["content-type"]))


Driver = ClientDriver | GatewayDriver


@pytest.fixture(params=["sync", "async", "gateway"])
def driver(request: pytest.FixtureRequest, sandbox_env: Any, tmp_path: Path) -> Callable[..., Driver]:
    """``driver(runtime={...})``: the driver under test, configured with those ``[runtime]`` settings."""

    def make(runtime: dict[str, Any], region: str = "us-east-1") -> Driver:
        aws = AwsSettings(region=region, retry_attempts=5)
        if request.param != "gateway":
            return ClientDriver(request.param, Settings(aws=aws, runtime=dict(runtime)))
        settings = make_settings(tmp_path)
        settings.aws, settings.runtime = aws, dict(runtime)
        return GatewayDriver(request.getfixturevalue("gateway_fixture")(settings=settings))

    return make


def _user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def test_success(driver: Callable[..., Driver]) -> None:
    out = driver(ONE_REGION).converse(HAIKU, _user("hello core"))
    assert not out.error and out.text and out.region == "us-east-1" and out.attempts == 1
    assert out.input_tokens > 0 and out.output_tokens > 0
    price = PriceBook.load().price_for(HAIKU, "us-east-1")
    assert price is not None
    # the one cost function, by hand: tokens x USD per 1,000 tokens / 1,000, rounded up to whole nano-USD
    by_hand = -(-(out.input_tokens * 250_000 + out.output_tokens * 1_250_000) // 1000)
    assert (price.input_per_1k, price.output_per_1k) == (Decimal("0.00025"), Decimal("0.00125"))
    assert out.cost_nusd == by_hand


def _throttled_once_seed() -> int:
    """A seed for the sandbox's fault dice that throttles the first request and lets the second through."""
    for seed in range(1000):
        dice = random.Random(seed)
        if dice.random() < 0.5 <= dice.random():
            return seed
    raise AssertionError("no seed found")  # pragma: no cover


def test_throttling_then_success(driver: Callable[..., Driver], sandbox_admin: Any) -> None:
    call = driver(ONE_REGION)
    sandbox_admin.set_faults({"throttle": [{"rate": 0.5, "region": "us-east-1"}], "seed": _throttled_once_seed()})
    out = call.converse(HAIKU, _user("retry me"))
    assert not out.error and out.text and out.region == "us-east-1" and out.attempts == 2


def test_region_fails_over(driver: Callable[..., Driver], sandbox_admin: Any) -> None:
    call = driver({"failover_regions": ["us-east-1", "us-west-2"], "backoff_base": 0.0})
    sandbox_admin.set_faults({"unavailable": ["us-east-1"]})
    out = call.converse(HAIKU, _user("fail over"))
    assert not out.error and out.text and out.region == "us-west-2" and out.attempts == 2


def test_upstream_400_keeps_its_text(driver: Callable[..., Driver]) -> None:
    out = driver(ONE_REGION).converse(HAIKU, [{"role": "assistant", "content": [{"text": "I start"}]}])
    assert out.error and "user" in out.error.lower() and out.text == ""
    assert out.attempts in (0, 1)  # a 400 is not retried


def test_streaming(driver: Callable[..., Driver]) -> None:
    call = driver(ONE_REGION)
    streamed = call.converse_stream(HAIKU, _user("stream the core"))
    whole = call.converse(HAIKU, _user("stream the core"))
    assert not streamed.error and streamed.text == whole.text and streamed.text
    assert (streamed.input_tokens, streamed.output_tokens) == (whole.input_tokens, whole.output_tokens)
    assert streamed.cost_nusd == whole.cost_nusd and streamed.region == "us-east-1" and streamed.attempts == 1


@pytest.fixture
def image_route(sandbox_env: Any) -> Iterator[None]:
    """A sandbox route for one image model that answers ``image/png`` bytes (as Stability models do with
    ``accept: image/png``), ahead of the sandbox's JSON-only InvokeModel handler."""

    def answer(req: SandboxRequest, model_id: str) -> SandboxResponse:
        headers = {"Content-Type": "image/png", "X-Amzn-Bedrock-Input-Token-Count": "7"}
        return SandboxResponse(200, PNG, headers)

    route = Route(
        "bedrock-runtime", "POST", re.compile(f"^/model/(?P<model_id>{re.escape(IMAGE_MODEL)})/invoke$"), answer
    )
    ROUTER.routes.insert(0, route)
    yield
    ROUTER.routes.remove(route)


def test_invoke_model_with_a_binary_answer(driver: Callable[..., Driver], image_route: None) -> None:
    call = driver(ONE_REGION, region="us-west-2")  # where the catalog offers the model
    out = call.invoke(IMAGE_MODEL, json.dumps({"prompt": "a red square"}).encode(), "image/png")
    assert not out.error and out.data == PNG and out.content_type == "image/png"
    assert out.region == "us-west-2" and out.attempts == 1 and out.input_tokens == 7


def test_invoke_model_with_a_json_answer(driver: Callable[..., Driver]) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": "native"}]}]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": messages}
    out = driver(ONE_REGION).invoke(HAIKU, json.dumps(body).encode(), "application/json")
    assert not out.error and json.loads(out.data)["content"] and out.content_type.startswith("application/json")
    assert out.input_tokens > 0 and out.attempts == 1


# -- the local tier (an OpenAI-compatible server started here) ----------------------------------------------------
CLIENTS_ONLY = pytest.mark.parametrize("driver", ["sync", "async"], indirect=True)  # the gateway has no local tier


class _Local(BaseHTTPRequestHandler):
    status = 200
    answer = b""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)


@pytest.fixture
def local_server() -> Iterator[Callable[[int, bytes], dict[str, Any]]]:
    servers: list[ThreadingHTTPServer] = []

    def serve(status: int, answer: bytes) -> dict[str, Any]:
        handler = type("Handler", (_Local,), {"status": status, "answer": answer})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return {"base_url": f"http://127.0.0.1:{server.server_port}/v1", "model": "llama3.2"}

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@CLIENTS_ONLY
def test_local_model_answers_non_json(driver: Callable[..., Driver], local_server: Any) -> None:
    call = driver({**ONE_REGION, "local": local_server(200, b"<html>upstream proxy says hello</html>")})
    out = call.converse("local:llama3.2", _user("hi"))
    assert "non-JSON" in out.error and "upstream proxy says hello" in out.error


@CLIENTS_ONLY
def test_local_model_streams_non_json(driver: Callable[..., Driver], local_server: Any) -> None:
    call = driver({**ONE_REGION, "local": local_server(200, b"data: <html>not an event</html>\n\n")})
    out = call.converse_stream("local:llama3.2", _user("hi"))
    assert "InvalidResponse" in out.error and "not an event" in out.error


@CLIENTS_ONLY
def test_local_model_error_keeps_its_text(driver: Callable[..., Driver], local_server: Any) -> None:
    call = driver({**ONE_REGION, "local": local_server(500, b"model 'llama3.2' not found, try pulling it first")})
    out = call.converse("local:llama3.2", _user("hi"))
    attempts = out.details["attempts"]
    assert out.error and len(attempts) >= 1
    assert all("not found, try pulling it first" in a["message"] for a in attempts)
    assert {a["outcome"] for a in attempts} == {"ServiceUnavailableException"}
