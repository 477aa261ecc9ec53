"""The console over real HTTP (uvicorn on a free port) against the sandbox: sign-in, sessions and CSRF, isolation
between users, and write-only secrets (shown once, never echoed)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from bedrockctl.store.gateway import gateway_keys

from .conftest import SECRET, csrf_of
from .http_helpers import PAGES, add_cred, add_key, no_secret


def test_sign_in_required_and_cookie_flags(console):
    c = console.client()
    r = c.get("/credentials")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcredentials"
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = c.post("/login", data={"username": "alice", "password": "nope-nope-nope", "csrf_token": token})
    assert bad.status_code == 401 and "Wrong user name or password" in bad.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', bad.text).group(1)
    ok = c.post(
        "/login",
        data={"username": "alice", "password": "correct horse battery", "csrf_token": token, "next": "/credentials"},
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/credentials"
    cookie = next(v for k, v in ok.headers.multi_items() if k == "set-cookie" and v.startswith("bedrockctl_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie
    assert c.get("/credentials").status_code == 200
    # open redirects are refused
    assert c.get("/login?next=//evil.example").text.count('value="/"') == 1


def test_logout_ends_the_session(console):
    c = console.login("alice")
    assert c.get("/").status_code == 200
    assert c.post("/logout", data={}).status_code == 403  # CSRF applies to sign-out too
    assert c.post("/logout", data={"csrf_token": csrf_of(c)}).status_code == 303
    assert c.get("/").status_code == 303


def test_csrf_is_required_on_every_form(console):
    c = console.login("alice")
    for path, data in (
        (
            "/credentials",
            {"name": "x", "kind": "keys", "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": SECRET},
        ),
        ("/keys", {"environment": "dev"}),
        ("/plugins", {"name": "p", "plugin": "aws_bedrock"}),
        ("/account/password", {"new_password": "x" * 12, "confirm_password": "x" * 12}),
        ("/doctor/run", {}),
    ):
        assert c.post(path, data=data).status_code == 403, path
        assert c.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, path
    admin = console.login("root")
    assert admin.post("/users", data={"username": "eve", "password": "x" * 12}).status_code == 403
    assert admin.post("/budgets", data={"scope": "environment", "name": "dev"}).status_code == 403
    # nothing was created
    assert "No credentials stored yet" in c.get("/credentials").text
    assert ">eve<" not in admin.get("/users").text
    # the login form has its own (double-submit) token
    fresh = console.client()
    assert fresh.post("/login", data={"username": "alice", "password": "correct horse battery"}).status_code == 403


def test_user_b_gets_403_or_404_on_everything_of_user_a(console):
    alice, bob, root = console.login("alice"), console.login("bob"), console.login("root")
    cid = add_cred(alice)
    key_id, _ = add_key(alice)
    token = csrf_of(bob)
    gets = [
        f"/credentials/{cid}",
        f"/keys/{key_id}",
        "/usage?user=alice",
        "/usage.csv?user=alice",
        "/audit?user=alice",
        "/users",
    ]
    posts = [
        f"/credentials/{cid}",
        f"/credentials/{cid}/delete",
        f"/credentials/{cid}/test",
        f"/keys/{key_id}/revoke",
        "/users",
        "/budgets",
    ]
    for path in gets:
        assert bob.get(path).status_code in (403, 404), path
    for path in posts:
        r = bob.post(
            path,
            data={
                "csrf_token": token,
                "name": "stolen",
                "kind": "keys",
                "region": "us-east-1",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": "x" * 40,
            },
        )
        assert r.status_code in (403, 404), path
    # lists do not show alice's objects to bob; alice's objects are intact
    assert key_id not in bob.get("/keys").text and f"/credentials/{cid}" not in bob.get("/credentials").text
    assert alice.get(f"/credentials/{cid}").status_code == 200
    assert "active" in alice.get(f"/keys/{key_id}").text
    # admins see and manage everybody's
    assert f"/credentials/{cid}" in root.get("/credentials").text and key_id in root.get("/keys").text
    assert root.get(f"/credentials/{cid}").status_code == 200
    assert root.post(f"/keys/{key_id}/revoke", data={"csrf_token": csrf_of(root)}).status_code == 303
    assert "revoked" in alice.get(f"/keys/{key_id}").text


def test_members_create_keys_only_for_themselves(console):
    bob = console.login("bob")
    r = bob.post("/keys", data={"csrf_token": csrf_of(bob, "/keys"), "environment": "dev", "user": "alice"})
    assert r.status_code == 403
    key_id, _ = add_key(bob)
    with console.engine.connect() as conn:
        row = conn.execute(sa.select(gateway_keys).where(gateway_keys.c.key_id == key_id)).one()
    assert (row.user_name, row.team) == ("bob", "web")


def test_key_secret_is_shown_once(console):
    alice = console.login("alice")
    key_id, page = add_key(alice)
    token = re.search(r'id="new-token" readonly value="(bgk\.[^"]+)"', page).group(1)
    with console.engine.connect() as conn:
        stored = conn.execute(sa.select(gateway_keys.c.secret_hash).where(gateway_keys.c.key_id == key_id)).scalar()
    assert token.split(".")[2] not in stored
    for path in ("/keys", f"/keys/{key_id}", "/audit", "/"):
        assert token not in alice.get(path).text


def test_secret_never_in_any_response(console):
    alice, root = console.login("alice"), console.login("root")
    cid = add_cred(alice)
    detail = alice.get(f"/credentials/{cid}")
    assert "AKIA****MPLE" in detail.text and "****" in detail.text
    no_secret(detail)
    no_secret(alice.post(f"/credentials/{cid}/test", data={"csrf_token": csrf_of(alice)}))
    no_secret(
        alice.post(f"/credentials/{cid}/test", data={}, headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(alice)})
    )
    # an update with a blank secret keeps it, still never shown
    r = alice.post(
        f"/credentials/{cid}",
        data={
            "csrf_token": csrf_of(alice),
            "name": "dev2",
            "kind": "keys",
            "region": "us-west-2",
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        },
    )
    assert r.status_code == 303
    for client in (alice, root):
        for path in [*PAGES, f"/credentials/{cid}", "/usage.csv"]:
            resp = client.get(path)
            assert resp.status_code == 200, (path, resp.status_code)
            no_secret(resp)
    no_secret(root.get("/users"))


def test_test_connection_live_and_fallback(console):
    alice = console.login("alice")
    cid = add_cred(alice)
    r = alice.post(f"/credentials/{cid}/test", data={"csrf_token": csrf_of(alice)})
    assert r.status_code == 200 and "Connection works" in r.text
    assert ">123456789012<" in r.text and "explicit access keys" in r.text and "anthropic." in r.text
    bad = add_cred(
        alice,
        name="role",
        kind="role",
        role_arn="arn:aws:iam::123456789012:role/Missing",
        access_key_id="",
        secret_access_key="",
        session_token="",
    )
    r = alice.post(f"/credentials/{bad}/test", data={"csrf_token": csrf_of(alice)})
    assert "Connection failed" in r.text and "OFFLINE FALLBACK DATA" in r.text
    assert re.search(r'id="test-error-code">BRC-[A-Z]+-\d{3}<', r.text)
    assert "What to do:" in r.text and "anthropic." in r.text
