"""The console over real HTTP (uvicorn on a free port) against the sandbox: sign-in, CSRF, isolation between
users, write-only secrets, and the pages' numbers."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from bedrockctl.server.gateway.audit import AuditLog, AuditRecord
from bedrockctl.store.gateway import gateway_keys

from .conftest import EXTERNAL_ID, SECRET, TOKEN, csrf_of

PAGES = ["/", "/inventory", "/usage", "/budgets", "/doctor", "/plugins", "/keys", "/credentials", "/audit", "/account"]
SECRETS = (SECRET, TOKEN, EXTERNAL_ID)


def _add_cred(client, **over):
    data = {
        "csrf_token": csrf_of(client, "/credentials"),
        "name": "dev",
        "kind": "keys",
        "region": "us-east-1",
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": SECRET,
        "session_token": TOKEN,
        "external_id": EXTERNAL_ID,
        **over,
    }
    r = client.post("/credentials", data=data)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])


def _add_key(client, **over):
    r = client.post("/keys", data={"csrf_token": csrf_of(client, "/keys"), "environment": "dev", "name": "k", **over})
    assert r.status_code == 200, r.text
    return re.search(r"New key (BGK[A-Z2-7]{17})", r.text).group(1), r.text


def _no_secret(resp):
    blob = resp.text + repr(dict(resp.headers))
    for s in SECRETS:
        assert s not in blob, f"secret leaked in {resp.request.method} {resp.request.url.path}"


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
    cid = _add_cred(alice)
    key_id, _ = _add_key(alice)
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
    key_id, _ = _add_key(bob)
    with console.engine.connect() as conn:
        row = conn.execute(sa.select(gateway_keys).where(gateway_keys.c.key_id == key_id)).one()
    assert (row.user_name, row.team) == ("bob", "web")


def test_key_secret_is_shown_once(console):
    alice = console.login("alice")
    key_id, page = _add_key(alice)
    token = re.search(r'id="new-token" readonly value="(bgk\.[^"]+)"', page).group(1)
    with console.engine.connect() as conn:
        stored = conn.execute(sa.select(gateway_keys.c.secret_hash).where(gateway_keys.c.key_id == key_id)).scalar()
    assert token.split(".")[2] not in stored
    for path in ("/keys", f"/keys/{key_id}", "/audit", "/"):
        assert token not in alice.get(path).text


def test_secret_never_in_any_response(console):
    alice, root = console.login("alice"), console.login("root")
    cid = _add_cred(alice)
    detail = alice.get(f"/credentials/{cid}")
    assert "AKIA****MPLE" in detail.text and "****" in detail.text
    _no_secret(detail)
    _no_secret(alice.post(f"/credentials/{cid}/test", data={"csrf_token": csrf_of(alice)}))
    _no_secret(
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
            _no_secret(resp)
    _no_secret(root.get("/users"))


def test_test_connection_live_and_fallback(console):
    alice = console.login("alice")
    cid = _add_cred(alice)
    r = alice.post(f"/credentials/{cid}/test", data={"csrf_token": csrf_of(alice)})
    assert r.status_code == 200 and "Connection works" in r.text
    assert ">123456789012<" in r.text and "explicit access keys" in r.text and "anthropic." in r.text
    bad = _add_cred(
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


def _audit(engine, **kw):
    base = dict(
        ts=time.time(),
        request_id="r",
        key_id="BGK" + "A" * 17,
        user_name="alice",
        team="ml",
        environment="dev",
        protocol="openai",
        operation="Converse",
        model_requested="m",
        model_served="anthropic.claude-3-haiku-20240307-v1:0",
        region="us-east-1",
        input_tokens=10,
        output_tokens=5,
        cost_nusd=0,
        status="ok",
        http_status=200,
        latency_ms=12,
        attempts=1,
        client=None,
    )
    base.update(kw)
    AuditLog(engine).write([AuditRecord(**base)])


def test_overview_and_budgets_show_month_to_date_spend(console):
    _audit(console.engine, request_id="1", cost_nusd=42_500_000_000)  # $42.50 in dev by alice
    _audit(console.engine, request_id="2", cost_nusd=7_250_000_000, user_name="bob", team="web", environment="prod")
    _audit(console.engine, request_id="3", cost_nusd=99_000_000_000, ts=time.time() - 40 * 86400)  # last month
    root, bob = console.login("root"), console.login("bob")
    page = root.get("/").text
    assert re.search(r'<th scope="row">dev</th>\s*<td class="num" data-spent="42.500000">\$42.50</td>', page)
    assert "$7.25" in page
    assert "data-spent='[42.5, 7.25]'" in page and "data-budget='[100.0, 1000.0]'" in page
    top_users = page.split('id="top-users"')[1].split("</table>")[0]
    assert "alice" in top_users and "bob" in top_users
    # members' top lists are their own
    bob_top = bob.get("/").text.split('id="top-users"')[1].split("</table>")[0]
    assert "bob" in bob_top and "alice" not in bob_top
    # an edited budget changes the state
    r = root.post(
        "/budgets",
        data={
            "csrf_token": csrf_of(root),
            "scope": "environment",
            "name": "dev",
            "monthly_budget_usd": "50",
            "alert_thresholds": "50, 80",
            "hard_stop_pct": "100",
        },
    )
    assert r.status_code == 303
    budgets = root.get("/budgets").text
    dev_row = budgets.split('<th scope="row">dev')[1].split("</tr>")[0]
    assert "$50.00" in dev_row and "85.0%" in dev_row and "state-warning" in dev_row
    assert (
        bob.post(
            "/budgets",
            data={"csrf_token": csrf_of(bob), "scope": "environment", "name": "dev", "monthly_budget_usd": "1"},
        ).status_code
        == 403
    )


def test_overview_shows_alert_outcomes_to_admins(console):
    from bedrockctl.alerts import Alert, AlertDeliveryFailed, AlertService, DeliveryPolicy, LogChannel
    from bedrockctl.store.alerts import AlertLedger

    class Down:
        name = "webhook"

        def deliver(self, subject, body):
            raise AlertDeliveryFailed("webhook hooks.example.com answered HTTP 503")

    svc = AlertService(AlertLedger(console.engine), DeliveryPolicy(attempts=2, backoff=0.0), sleep=lambda s: None)
    alert = Alert("budget:env:prod", "m2026-11", 80.0, "prod passed 80%", {"environment": "prod"})
    svc.notify(alert, [LogChannel(), Down()])
    page = console.login("root").get("/").text
    alerts = page.split('id="alerts-h"')[1].split("</section>")[0]
    assert "budget:env:prod crossed 80% (m2026-11) via webhook: <strong>failed</strong> after 2 attempts" in alerts
    assert "(webhook hooks.example.com answered HTTP 503), retry at " in alerts
    assert "via log: <strong>sent</strong>" in alerts
    assert 'id="alerts-h"' not in console.login("bob").get("/").text  # members see no alerts


def test_audit_page_is_scoped(console):
    _audit(console.engine, request_id="a1", user_name="alice", key_id="BGKALICEALICEALICEAL")
    _audit(console.engine, request_id="b1", user_name="bob", key_id="BGKBOBBOBBOBBOBBOBBO")
    alice, root = console.login("alice"), console.login("root")
    mine = alice.get("/audit").text
    assert "BGKALICEALICEALICEAL" in mine and "BGKBOBBOBBOBBOBBOBBO" not in mine
    everything = root.get("/audit").text
    assert "BGKALICEALICEALICEAL" in everything and "BGKBOBBOBBOBBOBBOBBO" in everything


def test_plugin_instance_scan_fills_inventory(console, boto_client):
    boto_client("bedrock").create_guardrail(
        name="pii",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
    )
    alice = console.login("alice")
    cid = _add_cred(alice)
    # members cannot use the server's default chain
    r = alice.post(
        "/plugins", data={"csrf_token": csrf_of(alice), "name": "p", "plugin": "aws_bedrock", "credential_id": ""}
    )
    assert r.status_code == 403
    r = alice.post(
        "/plugins",
        data={
            "csrf_token": csrf_of(alice),
            "name": "bedrock-dev",
            "plugin": "aws_bedrock",
            "regions": "us-east-1",
            "credential_id": str(cid),
        },
    )
    assert r.status_code == 303
    inst = re.search(r'href="/plugins/(\d+)">bedrock-dev<', alice.get("/plugins").text).group(1)
    r = alice.post(f"/plugins/{inst}/scan", data={"csrf_token": csrf_of(alice)})
    assert r.status_code == 303 and "Scan%20finished" in r.headers["location"], r.headers["location"]
    inv = alice.get("/inventory?type=guardrail").text
    assert 'aria-current="page" data-type="guardrail"' in inv and ">pii<" in inv
    assert "/inventory?type=model" in inv  # tabs are plain links (work without JavaScript)
    link = re.search(r'href="(/inventory/asset/[0-9a-f]+)">pii<', inv).group(1)
    detail = alice.get(link).text
    main = detail[detail.index("<main") :]
    assert "<td>added</td>" in main and "&#34;name&#34;: &#34;pii&#34;" in main, main
    assert alice.get("/inventory?type=guardrail&q=nomatch").text.count("/inventory/asset/") == 0
    bob = console.login("bob")
    assert bob.post(f"/plugins/{inst}/scan", data={"csrf_token": csrf_of(bob)}).status_code == 404
    assert bob.get(f"/plugins/{inst}").status_code == 404


def test_doctor_runs_with_own_credentials(console):
    alice = console.login("alice")
    cid = _add_cred(alice)
    r = alice.post("/doctor/run", data={"csrf_token": csrf_of(alice, "/doctor"), "credential_id": str(cid)})
    assert r.status_code == 200 and "Result:" in r.text and "doctor-table" in r.text
    _no_secret(r)
    # a member must pick a credential; another user's is not found
    bob = console.login("bob")
    assert bob.post("/doctor/run", data={"csrf_token": csrf_of(bob), "credential_id": ""}).status_code == 400
    assert bob.post("/doctor/run", data={"csrf_token": csrf_of(bob), "credential_id": str(cid)}).status_code == 404


def test_users_admin(console):
    root = console.login("root")
    r = root.post(
        "/users",
        data={"csrf_token": csrf_of(root), "username": "carol", "password": "x" * 12, "role": "member", "team": "data"},
    )
    assert r.status_code == 303
    carol = console.login("carol", "x" * 12)
    assert carol.get("/users").status_code == 403
    assert "carol" in root.get("/users").text


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_members_without_javascript(console, path):
    alice = console.login("alice")
    r = alice.get(path)
    assert r.status_code == 200
    assert "<h1>" in r.text and 'lang="en"' in r.text
    assert r.headers["cache-control"] == "no-store" and "script-src 'self'" in r.headers["content-security-policy"]
    # every form posts by itself (htmx only enhances)
    for form in re.findall(r"<form[^>]*>", r.text):
        assert 'method="post"' in form or 'method="get"' in form, form


def test_usage_is_scoped_and_exports_csv(console, samples):
    """Real invocation-log records (the packaged samples) ingested into the usage store the console reads."""
    import csv
    import io
    import shutil
    from pathlib import Path

    from bedrockctl.analytics.ingest import ingest
    from bedrockctl.analytics.store import UsageStore

    logs = Path(console.settings.store.data_dir) / "logs"
    logs.mkdir()
    shutil.copy(samples.invocation_logs, logs / "inv.jsonl")
    ingest(UsageStore.for_settings(console.settings), [str(logs)], progress=False)
    root, alice, bob = console.login("root"), console.login("alice"), console.login("bob")
    since = samples.day("2026-11-20")
    everyone = root.get(f"/usage?by=user&since={since}").text
    assert "alice@example.com" in everyone and 'id="usage-chart"' in everyone
    rows = list(csv.reader(io.StringIO(root.get(f"/usage.csv?by=user&since={since}").text)))
    assert rows[0][:2] == ["user", "invocations"] and len(rows) > 2
    assert sum(int(r[1]) for r in rows[1:]) == 6
    # a member sees only the usage attributable to them (the IAM user "bob" of the samples), never others'
    assert "alice@example.com" not in bob.get(f"/usage?by=user&since={since}").text
    bob_rows = list(csv.reader(io.StringIO(bob.get(f"/usage.csv?by=user&since={since}").text)))
    assert bob_rows[0] == rows[0] and [r[0] for r in bob_rows[1:]] == ["bob"]
    assert bob_rows[1] == next(r for r in rows if r[0] == "bob")
    assert bob.get("/usage?user=alice@example.com").status_code == 403
    assert alice.get("/usage?by=nonsense").status_code == 400


def test_idle_capacity_check(console):
    root = console.login("root")
    r = root.post("/overview/idle", data={"csrf_token": csrf_of(root), "regions": "us-east-1", "days": "7"})
    assert r.status_code == 200 and "No provisioned throughput or SageMaker endpoints found" in r.text
    r = root.post(
        "/overview/idle", data={"regions": "us-east-1"}, headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(root)}
    )
    assert r.status_code == 200 and "<h1>" not in r.text  # a fragment for htmx
    bob = console.login("bob")
    assert bob.post("/overview/idle", data={"csrf_token": csrf_of(bob)}).status_code == 403


def test_jobs_page_shows_runs_and_backstop_to_admins(console):
    from bedrockctl.store.backstop import ACTIVE, BackstopLedger
    from bedrockctl.store.jobs import OK, JobStore

    jobs = JobStore(console.engine)
    run = jobs.start("ingest", 42, "replica-a:1:abc")
    jobs.finish(run, OK, {"new_invocations": 7})
    failed = jobs.start("budgets", 42, "replica-b:2:def")
    jobs.finish(failed, "failed", {}, "BRC-USG-001: no such source")
    principal = "arn:aws:sts::123456789012:assumed-role/batch/nightly"
    BackstopLedger(console.engine).record(
        "prod", "m2026-12", principal, action="deny", status=ACTIVE, spent_usd="1.5", calls=[], expires_at=2e9
    )
    page = console.login("root").get("/jobs")
    assert page.status_code == 200
    latest = page.text.split('id="jobs-latest"')[1].split("</table>")[0]
    assert "new_invocations: 7" in latest and "BRC-USG-001: no such source" in latest
    backstop = page.text.split('id="backstop-table"')[1].split("</table>")[0]
    assert principal in backstop and "active" in backstop
    assert console.login("bob").get("/jobs").status_code == 403
