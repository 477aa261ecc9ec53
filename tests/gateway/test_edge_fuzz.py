"""Fuzzing every POST route of the gateway (hypothesis, in process through httpx's ASGI transport, in front of the
sandbox): whatever the body, the answer is never a 5xx, an error is well formed in the caller's protocol, and no
counter is left negative. The probes' crafted bodies are explicit examples."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bedrockctl.aws.session import SessionFactory
from bedrockctl.context import AppContext
from bedrockctl.server import create_app
from bedrockctl.settings import EnvironmentSettings

from .conftest import HAIKU, make_settings

NOVA = "amazon.nova-lite-v1:0"
CASES = 500  # per route; six routes: 3,000 bodies
FUZZ = settings(
    max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
DATA_URL = f"data:image/png;base64,{PIXEL}"
CONVERSE = {
    "messages": [
        {"role": "user", "content": [{"text": "hi"}]},
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}]},
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "ok"}]}},
                {"image": {"format": "png", "source": {"bytes": PIXEL}}},
                {"document": {"format": "txt", "name": "notes", "source": {"bytes": "aGVsbG8="}}},
            ],
        },
    ],
    "system": [{"text": "be brief"}],
    "inferenceConfig": {"maxTokens": 5, "temperature": 0.5, "topP": 0.9, "stopSequences": ["END"]},
    "toolConfig": {
        "tools": [{"toolSpec": {"name": "f", "description": "d", "inputSchema": {"json": {"type": "object"}}}}],
        "toolChoice": {"auto": {}},
    },
}
NATIVE = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 5,
    "system": "be brief",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
            ],
        }
    ],
    "temperature": 0.2,
}
CHAT = {
    "model": "haiku",
    "messages": [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": DATA_URL}}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ],
    "max_tokens": 5,
    "temperature": 0.5,
    "top_p": 0.9,
    "stop": ["END"],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "tool_choice": "auto",
    "stream": False,
    "stream_options": {"include_usage": True},
}
MESSAGES = {  # the Anthropic Messages API
    "model": HAIKU,
    "max_tokens": 5,
    "system": "be brief",
    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    "tools": [{"name": "f", "input_schema": {"type": "object"}}],
    "stream": False,
}
COUNT = {"input": {"converse": {"messages": CONVERSE["messages"][:1], "system": [{"text": "be brief"}]}}}
EMBED = {"model": "amazon.titan-embed-text-v2:0", "input": ["hello", "world"], "encoding_format": "float"}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64 - 1, -(2**63), 1e30, -1e-30, 0.5, 2.5])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any]) -> Any:
    """The template with 1-3 of its members replaced by any JSON, deleted, or joined by a stray one."""
    doc: Any = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        new = draw(values)
        if not path:
            doc = new
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = new
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = new
        else:
            parent.append(new)
    return doc


def bodies(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    as_json = (mutated(template) | values).map(lambda d: json.dumps(d, allow_nan=True).encode())
    return as_json | st.binary(max_size=64) | st.just(json.dumps(template).encode())


class Harness:
    def __init__(self, tmp: Path) -> None:
        envs = {"prod": EnvironmentSettings(name="prod", monthly_budget_usd=1000.0)}
        settings_ = make_settings(tmp, envs, {"lease_idle_seconds": 0.05})
        ctx = AppContext(settings=settings_, sessions=SessionFactory(settings_.aws))
        self.app = create_app(ctx)
        self.gateway = self.app.state["gateway"]
        token = self.gateway.keys.create(user="ana", team="ml", environment="prod", limits={"tpm": 10**9})["token"]
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://gateway")
        self.seen: dict[int, int] = {}

    def post(self, path: str, body: bytes) -> httpx.Response:
        resp = self.loop.run_until_complete(self.client.post(path, content=body, headers=self.headers))
        self.seen[resp.status_code] = self.seen.get(resp.status_code, 0) + 1
        return resp

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.gateway.stop())
        self.loop.close()


@pytest.fixture
def harness(sandbox_env: Any, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()
    with h.gateway.engine.connect() as conn:
        rows = conn.execute(text("SELECT scope, used, reserved FROM gateway_counters")).all()
    assert all(used >= 0 and reserved >= 0 for _, used, reserved in rows), rows
    print("statuses:", dict(sorted(h.seen.items())))


def assert_bedrock_answer(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text)
    if resp.status_code >= 400:
        assert resp.headers["x-amzn-errortype"].split(":")[0].endswith("Exception")
        doc = resp.json()
        assert isinstance(doc["message"], str) and doc["message"]


def assert_openai_answer(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text)
    if resp.status_code >= 400:
        error = resp.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert isinstance(error["message"], str) and error["message"]
        assert error["type"] in {"invalid_request_error", "not_found_error", "permission_error", "insufficient_quota"}
        assert error["param"] is None or isinstance(error["param"], str)


def assert_anthropic_answer(resp: httpx.Response) -> None:
    assert resp.status_code < 500, (resp.status_code, resp.text)
    if resp.status_code >= 400:
        doc = resp.json()
        assert doc["type"] == "error" and set(doc["error"]) == {"type", "message"}
        assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]


def _with(template: dict[str, Any], **changes: Any) -> bytes:
    doc = copy.deepcopy(template)
    for dotted, value in changes.items():
        node = doc
        *parents, last = dotted.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return json.dumps(doc).encode()


CRAFTED_CONVERSE = [
    _with(CONVERSE, inferenceConfig="abc"),
    _with(CONVERSE, inferenceConfig__maxTokens=-1_000_000_000),
    _with(CONVERSE, inferenceConfig__maxTokens=2**63),
    _with(CONVERSE, inferenceConfig__maxTokens=1e30),
    _with(CONVERSE, inferenceConfig__temperature={}),
    _with(CONVERSE, inferenceConfig__stopSequences=123),
    _with(CONVERSE, toolConfig__tools=[1]),
    _with(CONVERSE, messages=[{"role": "user", "content": [{"text": 1}]}]),
    _with(CONVERSE, messages=[{"role": "user", "content": [{}]}]),
    b'{"messages": [], "inferenceConfig": {"maxTokens": 99999999999999999999999}}',
]
CRAFTED_NATIVE = [
    _with(NATIVE, max_tokens=-5),
    _with(NATIVE, max_tokens=2**63),
    _with(NATIVE, max_tokens="abc"),
    json.dumps({"inferenceConfig": "abc", "messages": []}).encode(),
    json.dumps({"textGenerationConfig": {"maxTokenCount": 1e30}, "inputText": "x"}).encode(),
]
CRAFTED_CHAT = [
    _with(CHAT, stop=123),
    _with(CHAT, tools=[1]),
    _with(CHAT, temperature={}),
    _with(CHAT, max_tokens=1e30),
    _with(CHAT, max_tokens=-5),
    _with(CHAT, max_completion_tokens=2**63),
    _with(CHAT, messages=[{"role": "user", "content": [1]}]),
    _with(CHAT, tool_choice={"function": 1}),
    _with(CHAT, stream_options="yes"),
]


BEDROCK_ROUTES = [
    ("converse", CONVERSE, CRAFTED_CONVERSE, [HAIKU, NOVA, f"us.{HAIKU}", "haiku"]),
    ("converse-stream", CONVERSE, CRAFTED_CONVERSE, [HAIKU, NOVA, f"us.{HAIKU}", "haiku"]),
    ("invoke", NATIVE, CRAFTED_NATIVE, [HAIKU, f"us.{HAIKU}", NOVA]),
    ("invoke-with-response-stream", NATIVE, CRAFTED_NATIVE, [HAIKU, f"us.{HAIKU}", NOVA]),
    ("count-tokens", COUNT, [_with(COUNT, input="abc"), _with(COUNT, input={"converse": 1})], [HAIKU]),
]


@pytest.mark.parametrize(
    ("suffix", "template", "crafted", "models"), BEDROCK_ROUTES, ids=[r[0] for r in BEDROCK_ROUTES]
)
def test_fuzz_bedrock_routes(
    harness: Harness, suffix: str, template: dict[str, Any], crafted: list[bytes], models: list[str]
) -> None:
    for body in crafted:
        resp = harness.post(f"/model/{HAIKU}/{suffix}", body)
        assert resp.status_code == 400 and resp.headers["x-amzn-errortype"].startswith("ValidationException"), body

    @FUZZ
    @given(model=st.sampled_from(models), body=bodies(template))
    def run(model: str, body: bytes) -> None:
        assert_bedrock_answer(harness.post(f"/model/{model}/{suffix}", body))

    run()


@pytest.mark.parametrize("prefix", ["", "/openai"])
def test_fuzz_chat_completions(harness: Harness, prefix: str) -> None:
    for body in CRAFTED_CHAT:
        resp = harness.post(f"{prefix}/v1/chat/completions", body)
        assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error", body
        assert resp.json()["error"]["param"], body

    @FUZZ
    @example(body=_with(CHAT, stream=True))
    @given(body=bodies(CHAT) | bodies({**CHAT, "stream": True}))
    def run(body: bytes) -> None:
        assert_openai_answer(harness.post(f"{prefix}/v1/chat/completions", body))

    run()


@pytest.mark.parametrize("prefix", ["", "/openai"])
def test_fuzz_embeddings(harness: Harness, prefix: str) -> None:
    @settings(FUZZ, max_examples=CASES // 4)
    @given(body=bodies(EMBED) | bodies({**EMBED, "model": "cohere.embed-english-v3"}))
    def run(body: bytes) -> None:
        assert_openai_answer(harness.post(f"{prefix}/v1/embeddings", body))

    run()


@pytest.mark.parametrize(
    "path",
    ["/v1/messages", "/anthropic/v1/messages", "/v1/messages/count_tokens", "/anthropic/v1/messages/count_tokens"],
)
def test_fuzz_anthropic_messages(harness: Harness, path: str) -> None:
    crafted = (_with(MESSAGES, max_tokens=-5), _with(MESSAGES, max_tokens=2**63), _with(MESSAGES, max_tokens=1e30))
    for body in crafted if path.endswith("/messages") else ():  # count_tokens takes no max_tokens
        resp = harness.post(path, body)
        assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error", resp.text

    @settings(FUZZ, max_examples=CASES // 2 if path.endswith("/messages") else CASES // 4)
    @given(body=bodies(MESSAGES) | bodies({**MESSAGES, "stream": True}))
    def run(body: bytes) -> None:
        assert_anthropic_answer(harness.post(path, body))

    run()
