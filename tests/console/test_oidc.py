"""Console sign-in through OpenID Connect, against a real provider run locally: the `oidc-provider` package on
Node (from the npm registry into ``.cache/oidc-provider/``; skipped with the reason when node, npm or the registry
are missing). A developer signs in, is created with the provider's team, mints a key in the console, and the key
works at the gateway; a tampered or replayed sign-in, and a provider user who would take over a local account,
are refused."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from bedrockctl.store.console import console_users
from npm_tools import claude_code_bin, npm_install

from .conftest import RunningConsole, console_settings, csrf_of

SCRIPT = Path(__file__).with_name("js") / "oidc_provider.mjs"
PACKAGE = "oidc-provider@8.8.1"
CLIENT_ID, CLIENT_SECRET = "bedrockctl-console", "client-secret-for-tests-only"
ACCOUNTS = {"dana": {"groups": ["ml"], "name": "Dana Scully"}, "boss": {"groups": ["ml", "bedrockctl-admins"]}}
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture(scope="session")
def provider_dir() -> Path:
    target = npm_install("oidc-provider", [PACKAGE], what="the local OpenID Connect provider")
    shutil.copyfile(SCRIPT, target / SCRIPT.name)  # ES modules resolve packages next to the script
    return target


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Sso:
    console: RunningConsole
    issuer: str


@pytest.fixture
def sso(provider_dir: Path, sandbox_env: Any, store: Any, tmp_path: Path, actors: Any, master: Any) -> Iterator[Sso]:
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.context import AppContext
    from bedrockctl.server import create_app
    from bedrockctl.server.console import mount_console

    console_sock = _free_socket()
    console_url = f"http://127.0.0.1:{console_sock.getsockname()[1]}"
    provider_sock = _free_socket()
    provider_port = provider_sock.getsockname()[1]
    provider_sock.close()
    node = subprocess.Popen(
        ["node", SCRIPT.name, str(provider_port), f"{console_url}/login/oidc/callback", CLIENT_ID, CLIENT_SECRET,
         json.dumps(ACCOUNTS)],
        cwd=provider_dir, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert node.stdout is not None and node.stdout.readline().strip() == "listening"
    issuer = f"http://127.0.0.1:{provider_port}"
    settings = console_settings(tmp_path)
    settings.environments["dev"].allowed_models = [HAIKU]
    settings.gateway["oidc"] = {
        "issuer": issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": "openid email profile groups",
        "team_claim": "groups",
        "admin_group": "bedrockctl-admins",
        "name": "Example SSO",
    }
    settings.gateway["default_environment"] = "dev"
    ctx = AppContext(settings=settings, sessions=SessionFactory(settings.aws))
    app = create_app(ctx)
    mount_console(app, ctx, engine=store.engine, master=master, hash_cost="test")
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, loop="asyncio"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[console_sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "console did not start"
        time.sleep(0.01)
    yield Sso(RunningConsole(console_url, app, settings, store.engine, server, thread), issuer)
    server.should_exit = True
    thread.join(10)
    node.terminate()
    node.wait(10)


def _submit_form(client: httpx.Client, page: httpx.Response, login: str) -> httpx.Response:
    """Submit the provider's login or consent form as a browser would."""
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', page.text, re.S)
    assert form, page.text[:500]
    fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
    if 'name="login"' in form.group(2):
        fields |= {"login": login, "password": "any"}
    return client.post(html.unescape(form.group(1)), data=fields)


def _sign_in(sso: Sso, login: str, *, tamper: bool = False) -> tuple[httpx.Client, httpx.Response]:
    """The whole redirect dance; returns the console client and the callback's answer."""
    client = httpx.Client(base_url=sso.console.url, timeout=30.0, follow_redirects=False)
    r = client.get(f"{sso.console.url}/login/oidc", params={"next": "/keys"})
    assert r.status_code == 303 and r.headers["location"].startswith(sso.issuer + "/auth?"), r.text
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(r.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    for _ in range(12):  # provider: auth -> interaction (login) -> auth -> interaction (consent) -> auth -> callback
        location = urllib.parse.urljoin(str(r.url), r.headers["location"])
        if location.startswith(sso.console.url + "/login/oidc/callback"):
            if tamper:
                location = re.sub(r"state=[^&]+", "state=forged", location)
            return client, client.get(location)
        r = client.get(location)
        if r.status_code == 200:
            r = _submit_form(client, r, login)
    raise AssertionError("the provider never redirected back")


def test_sign_in_creates_the_user_with_the_provider_team(sso: Sso) -> None:
    client, done = _sign_in(sso, "dana")
    assert done.status_code == 303 and done.headers["location"] == "/keys", done.text
    page = client.get(f"{sso.console.url}/keys")
    assert page.status_code == 200 and "dana" in page.text
    with sso.console.engine.connect() as conn:
        row = conn.execute(console_users.select().where(console_users.c.username == "dana")).one()
    assert (row.auth_provider, row.external_subject, row.team, row.role) == (sso.issuer, "dana", "ml", "member")
    assert row.password_hash is None and row.display_name == "Dana Scully"
    # an admin group member becomes admin; the login page offers the provider
    boss, _ = _sign_in(sso, "boss")
    assert boss.get(f"{sso.console.url}/users").status_code == 200
    assert "Sign in with Example SSO" in httpx.get(f"{sso.console.url}/login").text


def test_minted_key_works_at_the_gateway(sso: Sso) -> None:
    client, _ = _sign_in(sso, "dana")
    token = csrf_of(client, "/keys")
    created = client.post(
        "/keys", data={"csrf_token": token, "name": "laptop", "environment": "dev"}, follow_redirects=True
    )
    bearer = re.search(r"bgk\.[A-Za-z0-9_.-]+", created.text)
    assert created.status_code == 200 and bearer, created.text[:2000]
    r = httpx.post(
        f"{sso.console.url}/model/{HAIKU}/converse",
        json={"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"maxTokens": 5}},
        headers={"authorization": f"Bearer {bearer.group(0)}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text


def test_forged_state_replay_and_takeover_are_refused(sso: Sso) -> None:
    _, forged = _sign_in(sso, "dana", tamper=True)
    assert forged.status_code == 401 and "state does not match" in forged.text
    no_cookie = httpx.get(f"{sso.console.url}/login/oidc/callback", params={"code": "x", "state": "y"})
    assert no_cookie.status_code == 401 and "start it again" in no_cookie.text
    # "alice" is a local (password) user of the console fixture: a provider account of that name may not take it
    _, takeover = _sign_in(sso, "alice")
    assert takeover.status_code == 401 and "already signs in another way" in html.unescape(takeover.text)
    with sso.console.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).where(console_users.c.username == "alice")).scalar()
        provider = conn.execute(
            sa.select(console_users.c.auth_provider).where(console_users.c.username == "alice")
        ).scalar()
    assert count == 1 and provider == "local"


def test_browser_sign_in_mint_key_and_claude_code(sso: Sso, tmp_path: Path) -> None:
    """In chromium: sign in through the provider's pages, mint a key, and run Claude Code (``claude -p``) with the
    settings.json the console shows for it."""
    from .test_browser import ARGS, CHROMIUM, sync_playwright

    if sync_playwright is None or not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("playwright and chromium are needed for the browser test")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else None, args=ARGS)
        page = browser.new_page()
        page.goto(f"{sso.console.url}/login")
        page.click("#oidc-login")
        page.wait_for_url(f"{sso.issuer}/interaction/*")
        page.fill("input[name=login]", "dana")
        page.fill("input[name=password]", "anything")
        page.click("button[type=submit]")
        page.wait_for_selector("button[type=submit]")  # the provider's consent page
        page.click("button[type=submit]")
        page.wait_for_url(f"{sso.console.url}/")
        page.goto(f"{sso.console.url}/keys")
        page.fill("#k-name", "laptop")
        page.click("form[action='/keys'] button[type=submit]")
        page.wait_for_selector("#claude-code-settings")
        settings = json.loads(page.input_value("#claude-code-settings"))
        browser.close()
    env = settings["env"]
    assert env["ANTHROPIC_BEDROCK_BASE_URL"] == sso.console.url and env["AWS_BEARER_TOKEN_BEDROCK"].startswith("bgk.")
    claude = claude_code_bin()
    home = tmp_path / "home"
    home.mkdir()
    quiet = {"DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    done = subprocess.run(
        [str(claude), "-p", "Reply with one word."],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), **quiet, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
