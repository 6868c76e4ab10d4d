"""Risk control in a real browser (headless Debian Chromium) against the real server: a customer confirms
cancelling a high-value order in the widget and is told it waits for a review; an agent's console shows the held
action without an Approve button; a supervisor approves it, the order is cancelled once, and the customer's
widget shows the decision live. The server and browser fixtures are test_browser.py's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import base_url, browser, by_id, internals_shown, open_chat, sync_api  # noqa: F401  (fixtures)

expect = sync_api.expect
PASSWORD = "console password 1"
TIMEOUT_MS = 30_000
ORDER = "#W3761872"  # liam_thomas_8833's pending order of $9,715.41: over the high-value threshold


@pytest.fixture(scope="module")
def app(store_template: Path, retriever: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """test_browser's app, under tau2's benchmark identity policy: the customer signs in by email alone."""
    from agent.manager import Agent
    from server.app import create_app
    from server.config import Settings
    from tools.context import IdentityPolicy
    from tools.store import Store, sqlite_url

    home = tmp_path_factory.mktemp("risk-home")
    shutil.copy(store_template, home / "store.db")
    settings = Settings(home=home, database_url=sqlite_url(home / "store.db"), backend="none",
                        rate_limit_per_minute=10_000)
    store = Store(settings.store_url)
    yield create_app(settings, agent=Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK))
    store.dispose()


@pytest.fixture(scope="module")
def staff(app: Any) -> None:
    from agent.escalation.staff import StaffDirectory

    directory = StaffDirectory(app.state.agent.store)
    directory.add("ari", PASSWORD, "Ari", role="agent")
    directory.add("sam", PASSWORD, "Sam", role="supervisor")


def sign_in(page: Any, staff_id: str) -> None:
    page.goto("/console")
    page.get_by_label("Staff id").fill(staff_id)
    page.get_by_label("Password").fill(PASSWORD)
    by_id(page, "console-sign-in").click()
    expect(by_id(page, "console-who")).to_contain_text(staff_id)


def send(page: Any, text: str) -> None:
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-input").press("Enter")
    expect(by_id(page, "shopagent-input")).to_be_editable(timeout=TIMEOUT_MS)


def test_a_supervisor_approves_a_held_order_cancellation(browser: Any, base_url: str, app: Any,  # noqa: F811
                                                         staff: None) -> None:
    from tools.retail.data_model import Order

    customer, agent_side, supervisor_side = (browser.new_context(base_url=base_url) for _ in range(3))
    try:
        page = customer.new_page()
        page.goto("/")
        open_chat(page)
        send(page, "I want to cancel an order")
        send(page, "my email is liam.thomas4271@example.com")
        send(page, f"order {ORDER}, I no longer need it")
        send(page, "yes")
        reply = page.locator("[data-role=assistant]").last
        expect(reply).to_contain_text("a member of our team will review it", timeout=TIMEOUT_MS)
        expect(reply).not_to_contain_text("high-value")

        console = agent_side.new_page()
        sign_in(console, "ari")
        held = by_id(console, "console-hold").filter(has_text=ORDER)
        expect(held).to_be_visible(timeout=TIMEOUT_MS)
        expect(held).to_contain_text("needs supervisor")
        expect(held.get_by_test_id("console-hold-approve")).to_have_count(0)  # an agent may not approve it

        boss = supervisor_side.new_page()
        sign_in(boss, "sam")
        held = by_id(boss, "console-hold").filter(has_text=ORDER)
        expect(held).to_be_visible(timeout=TIMEOUT_MS)
        held.get_by_test_id("console-hold-approve").click()
        expect(by_id(boss, "console-hold-result")).to_contain_text("approved", timeout=TIMEOUT_MS)
        expect(by_id(boss, "console-hold").filter(has_text=ORDER)).to_have_count(0, timeout=TIMEOUT_MS)

        notice = page.locator("[data-author=notice]").last
        expect(notice).to_contain_text("has approved your request", timeout=TIMEOUT_MS)
        expect(notice).to_contain_text("cancelled")
        with app.state.agent.store.session() as db:
            assert db.get(Order, ORDER).status == "cancelled"
        assert internals_shown(page) == []  # the customer saw the hold and its approval, no internals
    finally:
        for context in (customer, agent_side, supervisor_side):
            context.close()
