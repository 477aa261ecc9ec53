"""The playground over real HTTP: the console and the gateway in one ``bedrockctl serve`` app (uvicorn, free port) in
front of the sandbox. The prompt goes through the gateway's pipeline (the audit has it, budgets refuse it), the
answer streams as Server-Sent Events or comes back whole without JavaScript, model output is escaped, and a
browser (Playwright + Debian chromium) sees the text stream in and the cost."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from markupsafe import escape

from bedrockctl.services.users import Actor
from bedrockctl.settings import AwsSettings, EnvironmentSettings, Settings, StoreSettings
from bedrockctl.store.audit import query

from .conftest import RunningConsole, csrf_of

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


def serve_settings(tmp: Path, environments: dict[str, EnvironmentSettings]) -> Settings:
    return Settings(
        aws=AwsSettings(region="us-east-1", retry_attempts=1),
        environments=environments,
        gateway={
            "master_secret": "test-master-secret",
            "ledger": False,
            "flush_interval": 0.05,
            "key_cache_ttl": 0.0,
            "default_environment": next(iter(environments)),
        },
        store=StoreSettings(url=f"sqlite:///{tmp / 'console.db'}", data_dir=str(tmp)),
    )


@pytest.fixture
def serve(
    sandbox_env: Any, store: Any, tmp_path: Path, actors: dict[str, Actor], master: Any
) -> Iterator[Callable[..., RunningConsole]]:
    """``serve(environments)``: the gateway and the console in one app, as ``bedrockctl serve`` builds it."""
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.context import AppContext
    from bedrockctl.server import create_app
    from bedrockctl.server.console import mount_console
    from bedrockctl.server.gateway.pipeline import Gateway

    running: list[RunningConsole] = []

    def start(environments: dict[str, EnvironmentSettings]) -> RunningConsole:
        settings = serve_settings(tmp_path, environments)
        ctx = AppContext(settings=settings, sessions=SessionFactory(settings.aws))
        app = create_app(ctx, gateway=Gateway(ctx, engine=store.engine))
        mount_console(app, ctx, engine=store.engine, master=master, hash_cost="test")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, loop="asyncio")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        rc = RunningConsole(url, app, settings, store.engine, server, thread)
        running.append(rc)
        return rc

    yield start
    for rc in running:
        rc.server.should_exit = True
        rc.thread.join(10)


def _form(client: Any, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(client, "/playground"), "environment": "dev", "model": "claude-3-haiku", **fields}


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in text.split("\n\n"):
        m = re.match(r"event: (\w+)\ndata: (.*)", block, re.S)
        if m:
            out.append((m.group(1), json.loads(m.group(2))))
    return out


def test_member_streams_an_answer_and_its_cost_is_audited_under_their_name(serve):
    con = serve({"dev": EnvironmentSettings(name="dev", allowed_models=["claude-3-haiku", HAIKU])})
    alice = con.login("alice")
    page = alice.get("/playground")
    assert page.status_code == 200 and 'href="/playground" aria-current="page"' in page.text
    assert f"claude-3-haiku — {HAIKU}" in page.text  # aliases are shown with the model they stand for
    with alice.stream("POST", "/playground/stream", data=_form(alice, prompt="Name three rivers.")) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = r.read().decode()
    events = _sse(body)
    deltas = [d["text"] for e, d in events if e == "delta"]
    assert len(deltas) > 1  # streamed in pieces
    answer = "".join(deltas)
    assert 'I received "Name three rivers."' in answer
    kind, done = events[-1]
    assert kind == "done", events[-1]
    recs = [r for r in query(con.engine, limit=None) if r.request_id == done["request_id"]]
    assert len(recs) == 1
    rec = recs[0]
    assert (rec.user_name, rec.team, rec.environment) == ("alice", "ml", "dev")
    assert rec.operation == "ConverseStream" and rec.status == "ok" and rec.cost_nusd > 0
    assert done["cost_usd"] == f"{rec.cost_nusd / 1_000_000_000:.9f}"
    assert (done["input_tokens"], done["output_tokens"]) == (rec.input_tokens, rec.output_tokens) != (0, 0)
    # the playground key: alice's, her team's, labelled, revocable like any key; its token never reached the page
    keys = alice.get("/keys").text
    row = keys.split(f"<code>{rec.key_id}</code>")[1].split("</tr>")[0]
    assert "<td>playground</td><td>alice</td><td>ml</td><td>dev</td>" in row and "bgk." not in keys + body
    r = alice.post(f"/keys/{rec.key_id}/revoke", data={"csrf_token": csrf_of(alice, "/keys")})
    assert r.status_code == 303
    with alice.stream("POST", "/playground/stream", data=_form(alice, prompt="Again.")) as r:
        again = _sse(r.read().decode())
    assert again[-1][0] == "done" and again[-1][1]["request_id"] != done["request_id"]
    newer = next(r for r in query(con.engine, limit=None) if r.request_id == again[-1][1]["request_id"])
    assert newer.key_id != rec.key_id and newer.user_name == "alice"  # a fresh playground key was minted


def test_without_javascript_the_form_returns_the_whole_answer_escaped(serve):
    con = serve({"dev": EnvironmentSettings(name="dev")})
    bob = con.login("bob")
    page = bob.get("/playground").text
    assert "haiku — " in page and "titan-embed" not in page  # the catalog's aliases, no embedding model
    evil = "<script>alert(1)</script><b>bold</b>"
    r = bob.post(
        "/playground",
        data=_form(bob, prompt=evil, system="Answer briefly.", max_tokens="200", temperature="0.2"),
    )
    assert r.status_code == 200, r.text
    assert "<script>alert(1)</script>" not in r.text and "<b>bold</b>" not in r.text
    assert str(escape(f'I received "{evil}"')) in r.text
    rec = next(iter(query(con.engine, user="bob", limit=1)))
    assert rec.team == "web" and rec.status == "ok"
    assert f"${rec.cost_nusd / 1_000_000_000:.9f}" in r.text and rec.request_id in r.text
    # streamed, the same output stays JSON text (the page's script sets it with textContent)
    with bob.stream("POST", "/playground/stream", data=_form(bob, prompt=evil)) as s:
        raw = s.read().decode()
    assert evil in "".join(d["text"] for e, d in _sse(raw) if e == "delta")


def test_an_exhausted_environment_budget_is_refused_before_the_upstream(serve, sandbox_env):
    # room for one short call (input + at most 20 output tokens of Claude 3 Haiku), not for two
    con = serve({"dev": EnvironmentSettings(name="dev", monthly_budget_usd=0.00005)})
    alice = con.login("alice")
    with alice.stream("POST", "/playground/stream", data=_form(alice, prompt="Hello", max_tokens="20")) as r:
        first = _sse(r.read().decode())
    assert first[-1][0] == "done" and Decimal(first[-1][1]["cost_usd"]) > 0
    before = sandbox_env.effects.event_count()
    with alice.stream("POST", "/playground/stream", data=_form(alice, prompt="Hello", max_tokens="20")) as r:
        events = _sse(r.read().decode())
    assert [e for e, _ in events] == ["failure"]
    failure = events[0][1]
    assert failure["code"] == "ServiceQuotaExceededException" and "budget" in failure["message"].lower()
    page = alice.post("/playground", data=_form(alice, prompt="Hello", max_tokens="20"))
    assert page.status_code == 400 and str(escape(failure["message"])) in page.text
    assert sandbox_env.effects.event_count() == before  # no upstream call
    time.sleep(0.3)
    records = list(query(con.engine, user="alice", limit=None))
    assert len(records) == 3 and records[0].status == "ok"
    assert all(r.http_status == 400 and r.cost_nusd == 0 for r in records[1:])
    assert [r.request_id for r in records[1:]] == [
        failure["request_id"],
        page.text.split('id="pg-failure-rid">')[1][:36],
    ]


def test_a_model_outside_the_allowed_list_is_refused(serve, sandbox_env):
    con = serve({"dev": EnvironmentSettings(name="dev", allowed_models=[HAIKU])})
    alice = con.login("alice")
    assert "nova-pro" not in alice.get("/playground").text  # not offered
    before = sandbox_env.effects.event_count()
    r = alice.post("/playground", data=_form(alice, model="nova-pro", prompt="Hi"))  # asked for anyway
    assert r.status_code == 403, r.text
    assert "AccessDeniedException" in r.text and "not allowed" in r.text
    assert sandbox_env.effects.event_count() == before


def test_the_post_needs_the_session_csrf_token(serve):
    con = serve({"dev": EnvironmentSettings(name="dev")})
    alice = con.login("alice")
    form = _form(alice, prompt="Hi")
    form["csrf_token"] = "wrong"
    assert alice.post("/playground", data=form).status_code == 403
    assert alice.post("/playground/stream", data=form).status_code == 403
    assert con.client().post("/playground/stream", data=form).status_code == 401
    assert list(query(con.engine, limit=None)) == []


def test_bad_input_is_a_clear_error(serve):
    con = serve({"dev": EnvironmentSettings(name="dev")})
    alice = con.login("alice")
    r = alice.post("/playground", data=_form(alice, prompt="Hi", temperature="3"))
    assert r.status_code == 400 and "Temperature must be between 0 and 1." in r.text
    r = alice.post("/playground/stream", data=_form(alice, prompt="  "))
    assert r.status_code == 400 and _sse(r.text) == [
        ("failure", {"status": 400, "code": "ValidationError", "message": "Type a prompt."})
    ]


# -- in a browser ------------------------------------------------------------------------------------------------
def _browser_available() -> bool:
    from .test_browser import CHROMIUM, sync_playwright

    return sync_playwright is not None and (os.path.exists(CHROMIUM) or shutil.which("chromium") is not None)


needs_browser = pytest.mark.skipif(
    not _browser_available(), reason="playwright or chromium missing (see tests/console/test_browser.py)"
)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from .test_browser import ARGS, CHROMIUM, sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"), args=ARGS
        )
        yield b
        b.close()


@needs_browser
def test_browser_streams_the_answer_then_shows_the_cost(chromium, serve, tmp_path):
    from .test_browser import AXE, DOCS, login

    shots = DOCS if os.environ.get("BEDROCKCTL_SCREENSHOTS") == "1" else tmp_path

    con = serve({"dev": EnvironmentSettings(name="dev", allowed_models=["claude-3-haiku", "nova-lite"])})
    page = login(chromium, con, "alice", bypass_csp=True)  # axe is injected as an inline script below
    page.click("nav >> text=Playground")
    page.wait_for_url(con.url + "/playground")
    page.select_option("#pg-model", "claude-3-haiku")
    page.fill("#pg-prompt", "Say <script>window.pwned=1</script>")
    # count the answer's updates: the text arrives in pieces, each appended as it comes
    page.evaluate(
        """() => { window.pieces = 0;
        new MutationObserver((records) => { window.pieces += records.length; })
          .observe(document.getElementById('pg-answer'), {childList: true, characterData: true, subtree: true}); }"""
    )
    page.click("#pg-send")
    page.wait_for_selector("#pg-cost:not([hidden])")
    answer = page.inner_text("#pg-answer")
    assert 'I received "Say <script>window.pwned=1</script>"' in answer
    assert page.evaluate("window.pwned") is None and page.locator("#pg-answer script").count() == 0
    assert page.evaluate("window.pieces") > 2
    assert page.url == con.url + "/playground"  # no form post: the answer streamed into the page
    cost = page.inner_text("#pg-cost-usd")
    rid = page.inner_text("#pg-request-id")
    rec = next(r for r in query(con.engine, limit=None) if r.request_id == rid)
    assert cost == f"${rec.cost_nusd / 1_000_000_000:.9f}" and rec.user_name == "alice" and rec.cost_nusd > 0
    page.screenshot(path=str(shots / "playground.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'critical' || v.impact === 'serious').map(v => v.id)"
    )
    assert violations == []


@needs_browser
def test_browser_without_javascript_posts_the_form(chromium, serve):
    from .test_browser import login

    con = serve({"dev": EnvironmentSettings(name="dev")})
    page = login(chromium, con, "bob", java_script_enabled=False)
    page.goto(con.url + "/playground")
    page.fill("#pg-prompt", "Hello there")
    page.click("#pg-send")
    page.wait_for_selector("#pg-cost-usd")
    assert 'I received "Hello there"' in page.inner_text("#pg-answer")
    assert page.inner_text("#pg-cost-usd").startswith("$0.")


def test_the_in_process_call_answers_as_boto3_over_http_with_the_same_key(serve):
    """The console's in-process driver (``gateway_call``) against the real thing: boto3 over the network, signed with
    the same playground key's SigV4 pair, gets the same answer text and the same refusal."""
    import boto3
    from botocore.config import Config

    con = serve({"dev": EnvironmentSettings(name="dev", allowed_models=[HAIKU])})
    alice = con.login("alice")
    with alice.stream("POST", "/playground/stream", data=_form(alice, model=HAIKU, prompt="Compare me")) as r:
        events = _sse(r.read().decode())
    text = "".join(d["text"] for e, d in events if e == "delta")
    rec = next(r for r in query(con.engine, limit=None) if r.request_id == events[-1][1]["request_id"])
    keystore = con.app.state["gateway"].keys
    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=con.url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        aws_access_key_id=rec.key_id,
        aws_secret_access_key=keystore.secret_for(rec.key_id),
    )
    out = client.converse_stream(modelId=HAIKU, messages=[{"role": "user", "content": [{"text": "Compare me"}]}])
    streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in out["stream"] if "contentBlockDelta" in e)
    assert streamed == text and text
    with pytest.raises(client.exceptions.AccessDeniedException) as exc:
        client.converse_stream(modelId="amazon.nova-pro-v1:0", messages=[{"role": "user", "content": [{"text": "x"}]}])
    with alice.stream("POST", "/playground/stream", data=_form(alice, model="amazon.nova-pro-v1:0", prompt="x")) as r:
        refused = _sse(r.read().decode())
    assert refused == [
        (
            "failure",
            {
                "status": 403,
                "code": "AccessDeniedException",
                "message": exc.value.response["Error"]["Message"],
                "request_id": refused[0][1]["request_id"],
            },
        )
    ]


def test_a_rate_limit_shows_the_gateways_message_and_the_default_model_is_preselected(serve):
    con = serve({"dev": EnvironmentSettings(name="dev", requests_per_hour=1, default_model="nova-lite")})
    alice = con.login("alice")
    assert '<option value="nova-lite" selected>' in alice.get("/playground").text
    ok = alice.post("/playground", data=_form(alice, model="nova-lite", prompt="One"))
    assert ok.status_code == 200 and str(escape('I received "One"')) in ok.text
    limited = alice.post("/playground", data=_form(alice, model="nova-lite", prompt="Two"))
    assert limited.status_code == 429, limited.text
    assert "ThrottlingException" in limited.text and "I received" not in limited.text
    records = list(query(con.engine, user="alice", limit=None))
    assert [r.http_status for r in records] == [200, 429]


def test_the_console_without_a_gateway_says_so(console):
    alice = console.login("alice")
    page = alice.get("/playground")
    assert page.status_code == 200 and "The playground needs the gateway" in page.text
    r = alice.post("/playground", data=_form(alice, prompt="Hi"))
    assert r.status_code == 503 and "GatewayNotServed" in r.text
    assert "<td>playground</td>" not in alice.get("/keys").text  # no key minted
