"""The console's pages over real HTTP (uvicorn on a free port) against the sandbox: the numbers they show
(month-to-date spend, alerts, usage and its CSV export, idle capacity, jobs), each scoped to who may see it, and the
actions behind them (plugin scans, doctor runs, user administration)."""

from __future__ import annotations

import re
import time

import pytest

from .conftest import csrf_of
from .http_helpers import PAGES, add_cred, no_secret, write_audit


def test_overview_and_budgets_show_month_to_date_spend(console):
    write_audit(console.engine, request_id="1", cost_nusd=42_500_000_000)  # $42.50 in dev by alice
    write_audit(
        console.engine, request_id="2", cost_nusd=7_250_000_000, user_name="bob", team="web", environment="prod"
    )
    write_audit(console.engine, request_id="3", cost_nusd=99_000_000_000, ts=time.time() - 40 * 86400)  # last month
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
    write_audit(console.engine, request_id="a1", user_name="alice", key_id="BGKALICEALICEALICEAL")
    write_audit(console.engine, request_id="b1", user_name="bob", key_id="BGKBOBBOBBOBBOBBOBBO")
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
    cid = add_cred(alice)
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
    cid = add_cred(alice)
    r = alice.post("/doctor/run", data={"csrf_token": csrf_of(alice, "/doctor"), "credential_id": str(cid)})
    assert r.status_code == 200 and "Result:" in r.text and "doctor-table" in r.text
    no_secret(r)
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
