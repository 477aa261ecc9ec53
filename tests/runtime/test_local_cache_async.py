"""Local tier (a small OpenAI-compatible server started here), response cache, and the asyncio path."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import create_engine

from bedrockctl.aws.session import SessionFactory
from bedrockctl.pricing import PriceBook
from bedrockctl.runtime import AsyncRuntime, MemorySink, Runtime, RuntimeOptions
from bedrockctl.runtime.cache import SqlCache, cache_key
from bedrockctl.settings import AwsSettings, Settings

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


class _OpenAI(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append(body)
        words = f"local answer to {body['messages'][-1]['content']}".split(" ")
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for w in words:
                chunk = {"choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 9, "completion_tokens": len(words)},
            }
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        doc = {
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": " ".join(words)}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": len(words)},
        }
        raw = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def openai_server() -> Iterator[str]:
    _OpenAI.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_local_tier_is_a_zero_cost_fallback(make_runtime: Any, sandbox_admin: Any, openai_server: str) -> None:
    sandbox_admin.set_faults({"unavailable": ["us-east-1"]})
    rt: Runtime = make_runtime(
        runtime={"failover": False, "backoff_base": 0.0, "local": {"base_url": openai_server, "model": "llama3.2"}}
    )
    res = rt.converse(HAIKU, prompt="ping", system="sys")
    assert res.text == "local answer to ping" and res.meta.region_served == "local"
    assert res.meta.cost_usd == Decimal(0) and res.meta.usage.input_tokens == 9
    assert [a.outcome for a in res.meta.attempts] == ["ServiceUnavailableException", "ok"]
    assert _OpenAI.calls[-1]["model"] == "llama3.2"
    assert _OpenAI.calls[-1]["messages"][0] == {"role": "system", "content": "sys"}
    events = list(rt.converse_stream("local:llama3.2", prompt="stream me"))
    assert "".join(e.text for e in events if e.kind == "text").strip() == "local answer to stream me"
    assert events[-1].meta is not None and events[-1].meta.usage.output_tokens == 5


def test_sqlite_response_cache(make_runtime: Any, tmp_path: Any) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'c.db'}")
    clock = [1000.0]
    cache = SqlCache(engine, clock=lambda: clock[0])
    rt: Runtime = make_runtime(runtime={"cache": {"enabled": True, "ttl": 60}}, cache=cache)
    first = rt.converse(HAIKU, prompt="cache me", temperature=0.0)
    second = rt.converse(HAIKU, prompt="cache me", temperature=0.0)
    assert not first.meta.cache_hit and second.meta.cache_hit
    assert second.text == first.text and second.meta.cost_usd == Decimal(0) and second.meta.request_id is None
    assert not rt.converse(HAIKU, prompt="cache me", temperature=0.5).meta.cache_hit  # different request
    streamed = list(rt.converse_stream(HAIKU, prompt="cache me", temperature=0.0))
    assert streamed[-1].meta is not None and streamed[-1].meta.cache_hit
    clock[0] += 61  # TTL over
    assert not rt.converse(HAIKU, prompt="cache me", temperature=0.0).meta.cache_hit
    records = rt.usage_sink.records  # type: ignore[union-attr]
    assert [r.cache_hit for r in records] == [False, True, False, True, False]


def test_cache_never_stores_errors_or_partial_streams(make_runtime: Any, sandbox_admin: Any, tmp_path: Any) -> None:
    cache = SqlCache(create_engine(f"sqlite:///{tmp_path / 'c.db'}"))
    rt: Runtime = make_runtime(runtime={"cache": {"enabled": True}, "failover": False, "max_attempts": 1}, cache=cache)
    sandbox_admin.set_faults({"throttle": [{"rate": 1.0}]})
    with pytest.raises(Exception):
        rt.converse(HAIKU, prompt="err")
    sandbox_admin.clear_faults()
    gen = rt.converse_stream(HAIKU, prompt="partial")
    next(gen)
    gen.close()  # abandoned mid-stream
    from bedrockctl.runtime.base import converse_payload

    for prompt in ("err", "partial"):
        assert cache.get(cache_key("Converse", HAIKU, converse_payload(prompt=prompt))) is None
    assert not rt.converse(HAIKU, prompt="partial").meta.cache_hit


@pytest.mark.skipif(not os.environ.get("BEDROCKCTL_TEST_REDIS_URL"), reason="BEDROCKCTL_TEST_REDIS_URL not set")
def test_redis_response_cache(make_runtime: Any) -> None:
    from bedrockctl.runtime.cache import RedisCache

    cache = RedisCache(os.environ["BEDROCKCTL_TEST_REDIS_URL"], prefix=f"test:{os.getpid()}:")
    rt: Runtime = make_runtime(runtime={"cache": {"enabled": True, "ttl": 30}}, cache=cache)
    assert not rt.converse(HAIKU, prompt="redis").meta.cache_hit
    assert rt.converse(HAIKU, prompt="redis").meta.cache_hit


def test_async_runtime_converse_stream_invoke(sandbox_env: Any) -> None:
    aws = AwsSettings(region="us-east-1")
    sink = MemorySink()
    settings = Settings(aws=aws)

    async def main() -> list[Any]:
        rt = AsyncRuntime(
            SessionFactory(aws), settings=settings, options=RuntimeOptions(), usage_sink=sink, prices=PriceBook.load()
        )
        try:
            calls = [rt.converse(HAIKU, prompt=f"async {i}") for i in range(10)]
            results = list(await asyncio.gather(*calls))
            events = [e async for e in rt.converse_stream("claude-sonnet-4-5", prompt="async stream")]
            inv = await rt.invoke_model("amazon.titan-text-express-v1", {"inputText": "async titan"})
            return [results, events, inv]
        finally:
            await rt.aclose()

    results, events, inv = asyncio.run(main())
    assert all(r.stop_reason == "end_turn" and r.meta.cost_usd and r.meta.cost_usd > 0 for r in results)
    assert events[-1].kind == "usage" and events[-1].meta.usage.output_tokens > 0
    assert "".join(e.text for e in events if e.kind == "text")
    assert inv.meta.usage.input_tokens > 0 and "results" in inv.body
    assert len(sink.records) == 12 and len({r.request_id for r in sink.records}) == 12
