"""The storefront with the widget and the console work under the Content-Security-Policy, in a real browser: the
policy is enforced, nothing the pages need is blocked (no CSP violation reported), styles apply, a chat turn
streams and a staff member signs in. The server and browser fixtures are test_browser.py's."""

from __future__ import annotations

from typing import Any

import pytest
from test_browser import app, base_url, browser, by_id, internals_shown, open_chat, sync_api  # noqa: F401  (fixtures)

expect = sync_api.expect
PASSWORD = "console password 2"
TIMEOUT_MS = 30_000
RECORD_VIOLATIONS = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));"""


@pytest.fixture
def page(browser: Any, base_url: str) -> Any:  # noqa: F811
    context = browser.new_context(base_url=base_url)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    yield page
    assert internals_shown(page) == []  # the flow's end: the customer saw no internals
    context.close()


def test_the_storefront_and_widget_work_under_the_policy(page: Any) -> None:
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 249)"  # storefront.css
    open_chat(page)
    by_id(page, "shopagent-input").fill("do you have a mechanical keyboard?")
    by_id(page, "shopagent-input").press("Enter")
    expect(page.locator("[data-testid=shopagent-message]").last).to_contain_text("Keyboard", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__csp") == []


def test_the_policy_is_enforced(page: Any) -> None:
    page.goto("/")
    page.evaluate("""() => { const s = document.createElement("script");
        s.textContent = "window.__ran = true"; document.body.appendChild(s); }""")
    assert page.evaluate("window.__ran === undefined")
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))


def test_the_console_signs_in_under_the_policy(page: Any, app: Any) -> None:  # noqa: F811
    from agent.escalation.staff import StaffDirectory

    StaffDirectory(app.state.agent.store).add("csp-dana", PASSWORD, "Dana")
    page.goto("/console")
    page.get_by_label("Staff id").fill("csp-dana")
    page.get_by_label("Password").fill(PASSWORD)
    by_id(page, "console-sign-in").click()
    expect(by_id(page, "console-who")).to_contain_text("Dana", timeout=TIMEOUT_MS)
    assert page.evaluate("window.__csp") == []
