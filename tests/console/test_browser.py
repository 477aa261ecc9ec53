"""Browser tests: Playwright for Python driving Debian's chromium (no browser download).

Sign-in, overview charts drawn, inventory tabs, credentials + test connection, key creation, isolation between
two users, the pages without JavaScript, and axe-core on every page (no critical violations). Screenshots go to
docs/screenshots/ when BEDROCKCTL_SCREENSHOTS=1 (else to the test's temporary directory).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, SECRET, TOKEN
from .http_helpers import write_audit

CHROMIUM = os.environ.get("BEDROCKCTL_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).with_name("vendor") / "axe-4.14.1.min.js"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install playwright)"),
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) or shutil.which("chromium")),
        reason=f"chromium not found at {CHROMIUM} (apt-get install chromium, or set BEDROCKCTL_CHROMIUM)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium"), args=ARGS
        )
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("BEDROCKCTL_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def login(browser: Any, console: Any, username: str, **ctx: Any) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **ctx)
    page = context.new_page()
    page.goto(console.url + "/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url(console.url + "/")
    return page


def test_login_and_overview_charts(browser, console, shots):
    write_audit(console.engine, request_id="1", cost_nusd=42_500_000_000)
    write_audit(
        console.engine, request_id="2", cost_nusd=612_000_000_000, environment="prod", user_name="bob", team="web"
    )
    page = login(browser, console, "root")
    assert page.inner_text("h1") == "Overview"
    page.wait_for_selector("#spend-chart[data-drawn='2']", timeout=10_000)
    drawn = page.evaluate(
        """() => { const c = document.getElementById('spend-chart'); const ch = Chart.getChart(c);
                   return {w: c.width, h: c.height, data: ch.data.datasets.map(d => d.data),
                           painted: c.toDataURL().length}; }"""
    )
    assert drawn["w"] > 100 and drawn["h"] > 100 and drawn["data"] == [[42.5, 612.0], [100.0, 1000.0]]
    blank = page.evaluate(
        "([w, h]) => { const c = document.createElement('canvas'); c.width = w; c.height = h; "
        "return c.toDataURL().length; }",
        [drawn["w"], drawn["h"]],
    )
    assert drawn["painted"] > blank * 2  # bars were painted
    assert "$42.50" in page.inner_text("#spend-table") and "$612.00" in page.inner_text("#spend-table")
    assert "warning" in page.inner_text("#spend-table")  # prod at 61.2% >= 50% threshold
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(console.url + "/keys")
    assert "/login" in page.url


def _scan(console) -> None:
    from bedrockctl.aws.session import SessionFactory
    from bedrockctl.services.inventory import discover
    from bedrockctl.services.plugin_instances import _StoreShim

    discover(
        SessionFactory(console.settings.aws),
        plugins=["aws_bedrock"],
        regions="us-east-1",
        store=_StoreShim(console.engine),
        max_workers=4,
    )


def test_inventory_tabs(browser, console, boto_client, shots):
    boto_client("bedrock").create_guardrail(
        name="pii",
        blockedInputMessaging="no",
        blockedOutputsMessaging="no",
        contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH", "outputStrength": "HIGH"}]},
    )
    _scan(console)
    page = login(browser, console, "alice")
    page.click("nav[aria-label=Main] >> text=Inventory")
    tabs = page.locator("nav.tabs a")
    assert tabs.count() >= 2
    page.click("nav.tabs a[data-type='guardrail']")
    page.wait_for_url(re.compile(r".*type=guardrail"))  # htmx pushed the tab's URL
    page.wait_for_selector("nav.tabs a[data-type='guardrail'][aria-current='page']")
    assert "pii" in page.inner_text("#asset-table")
    page.click("nav.tabs a[data-type='model']")
    page.wait_for_selector("#panel-h:text-is('model')")
    assert "anthropic." in page.inner_text("#asset-table")
    page.fill("#inv-q", "haiku")
    page.click("#inventory-panel button[type=submit]")
    page.wait_for_url(re.compile(r".*q=haiku"))
    rows = page.locator("#asset-table tbody tr")
    assert rows.count() >= 1 and all("haiku" in t.lower() for t in rows.all_inner_texts())
    page.screenshot(path=str(shots / "inventory.png"), full_page=True)


def test_add_credentials_and_test_connection(browser, console, shots):
    page = login(browser, console, "alice")
    page.goto(console.url + "/credentials")
    page.fill("#new-name", "sandbox")
    page.fill("#new-region", "us-east-1")
    page.fill("#new-akid", "AKIAIOSFODNN7EXAMPLE")
    page.fill("#new-secret", SECRET)
    page.fill("#new-token", TOKEN)
    page.click("text=Save credentials")
    page.wait_for_url(re.compile(r".*/credentials/\d+.*"))
    assert "AKIA****MPLE" in page.inner_text("main")
    page.click("#test-connection")
    page.wait_for_selector("text=Connection works", timeout=20_000)
    assert page.inner_text("#test-account") == "123456789012"
    assert "explicit access keys" in page.inner_text("#test-source")
    assert page.locator("#models-table tbody tr").count() > 5
    html = page.content()
    assert SECRET not in html and TOKEN not in html
    assert page.input_value("#edit-secret") == ""  # never pre-filled
    page.screenshot(path=str(shots / "credentials.png"), full_page=True)


def test_create_key_shown_once(browser, console, shots):
    page = login(browser, console, "alice")
    page.goto(console.url + "/keys")
    page.fill("#k-name", "laptop")
    page.fill("#k-budget", "25")
    page.click("text=Create key")
    token = page.input_value("#new-token")
    assert token.startswith("bgk.BGK")
    page.screenshot(path=str(shots / "keys.png"), full_page=True)
    page.goto(console.url + "/keys")
    assert token not in page.content() and "laptop" in page.inner_text("#keys-table")


def test_isolation_between_two_users(browser, console):
    alice = login(browser, console, "alice")
    alice.goto(console.url + "/credentials")
    alice.fill("#new-name", "alice-only")
    alice.fill("#new-akid", "AKIAIOSFODNN7EXAMPLE")
    alice.fill("#new-secret", SECRET)
    alice.click("text=Save credentials")
    alice.wait_for_url(re.compile(r".*/credentials/\d+.*"))
    cred_url = alice.url.split("?")[0]
    bob = login(browser, console, "bob")
    resp = bob.goto(cred_url)
    assert resp.status == 404 and "Not found" in bob.inner_text("h1")
    bob.goto(console.url + "/credentials")
    assert "alice-only" not in bob.content()
    resp = bob.goto(console.url + "/usage?user=alice")
    assert resp.status == 403
    assert bob.goto(console.url + "/users").status == 403


def test_pages_work_without_javascript(browser, console):
    page = login(browser, console, "alice", java_script_enabled=False)
    for path in ("/inventory", "/usage", "/budgets", "/doctor", "/plugins", "/credentials", "/audit"):
        assert page.goto(console.url + path).status == 200, path
    page.goto(console.url + "/keys")
    page.fill("#k-name", "nojs")
    page.click("text=Create key")
    assert page.input_value("#new-token").startswith("bgk.")
    page.goto(console.url + "/")
    assert page.locator("#spend-table tbody tr").count() == 2  # the chart's numbers, readable without a chart


PAGES = [
    "/",
    "/inventory",
    "/usage",
    "/budgets",
    "/doctor",
    "/plugins",
    "/keys",
    "/credentials",
    "/audit",
    "/account",
    "/users",
    "/login",
]


def test_axe_no_critical_violations(browser, console, boto_client):
    write_audit(console.engine, request_id="1", cost_nusd=42_500_000_000)
    _scan(console)
    page = login(browser, console, "root", bypass_csp=True)  # axe is injected as an inline script
    page.goto(console.url + "/credentials")
    page.fill("#new-name", "c1")
    page.fill("#new-akid", "AKIAIOSFODNN7EXAMPLE")
    page.fill("#new-secret", SECRET)
    page.click("text=Save credentials")
    page.wait_for_url(re.compile(r".*/credentials/\d+.*"))
    extra = [page.url.split("?")[0].replace(console.url, "")]
    page.goto(console.url + "/inventory")
    extra.append(page.locator("#asset-table a").first.get_attribute("href"))
    report = {}
    for path in [*PAGES, *extra]:
        if path == "/login":
            page.context.clear_cookies()
        page.goto(console.url + path)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map(v => ({id: v.id, impact: v.impact, n: v.nodes.length}))"
        )
        report[path] = result
    # the check can fail: axe flags an image without alternative text as critical
    page.set_content('<html lang="en"><title>t</title><main><img src="data:,x"></main></html>')
    page.add_script_tag(path=str(AXE))
    sanity = page.evaluate("async () => (await axe.run()).violations.map(v => [v.id, v.impact])")
    assert ["image-alt", "critical"] in sanity
    critical = {p: [v for v in vs if v["impact"] == "critical"] for p, vs in report.items()}
    assert not any(critical.values()), critical
    serious = {p: [v for v in vs if v["impact"] == "serious"] for p, vs in report.items()}
    assert not any(serious.values()), serious
