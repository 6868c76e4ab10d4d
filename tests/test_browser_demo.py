"""Demo mode in a real browser against the real server (fixtures from test_browser.py): a newcomer signs in as a demo
customer on the storefront and sees orders at once, or, as a guest, gives an email, reads the one-time code in the
demo outbox (mailed over SMTP to the in-process aiosmtpd sink) and types it into the widget."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_browser as ui
from test_browser import Page, assistant_replies, by_id, expect, open_chat, wait_for_turn_end

base_url, browser, new_page, page = ui.base_url, ui.browser, ui.new_page, ui.page

JAMES_EMAIL = "james.li4495@example.com"
JAMES_ORDER = "#W2611340"


@pytest.fixture(scope="module")
def app(store_template: Path, retriever: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """test_browser's app in demo mode, with the store's identity policy and the demo's mail sink."""
    from agent.manager import Agent
    from agent.sign_in_mail import CodeMailer
    from server.app import create_app
    from server.config import Settings
    from server.dev_mail import DevOutbox
    from tools.mail import Mailer
    from tools.store import Store, sqlite_url

    home = tmp_path_factory.mktemp("demo-home")
    shutil.copy(store_template, home / "store.db")
    settings = Settings(home=home, database_url=sqlite_url(home / "store.db"), backend="none",
                        rate_limit_per_minute=10_000, demo=True)
    store = Store(settings.store_url)
    outbox = DevOutbox().start()
    agent = Agent(store, retriever=retriever, code_mail=CodeMailer(Mailer(outbox.smtp)))
    yield create_app(settings, agent=agent, outbox=outbox)
    outbox.stop()
    store.dispose()


def ask(page: Page, text: str) -> None:
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-input").press("Enter")
    wait_for_turn_end(page)


def test_sign_in_as_a_demo_customer_then_ask_about_an_order(page: Page) -> None:
    by_id(page, "demo-sign-in").click()
    expect(by_id(page, "demo-who")).to_contain_text("Signed in as ")
    expect(by_id(page, "demo-sign-in")).to_be_hidden()
    open_chat(page)
    expect(page.locator("[data-testid=shopagent-message][data-kind=greeting]")).to_contain_text("You're signed in")
    ask(page, "show me my orders")
    expect(assistant_replies(page).last).to_contain_text("#W")  # the customer's own orders, no identity asked

    by_id(page, "demo-sign-out").click()
    expect(by_id(page, "demo-sign-in")).to_be_visible()


def test_a_guest_reads_the_code_in_the_outbox_and_types_it(page: Page, new_page: Any) -> None:
    open_chat(page)
    ask(page, f"where is my order {JAMES_ORDER}? my email is {JAMES_EMAIL}")
    expect(assistant_replies(page).last).to_contain_text("6-digit code")
    expect(by_id(page, "demo-outbox")).to_be_visible()

    outbox = new_page()
    outbox.goto("/dev/outbox")
    expect(outbox.locator("article.mail").first).to_contain_text(JAMES_EMAIL, timeout=15_000)
    code = re.search(r"\b(\d{6})\b", outbox.locator("article.mail pre").first.inner_text())
    assert code is not None

    ask(page, code.group(1))
    expect(assistant_replies(page).last).to_contain_text(JAMES_ORDER)
    expect(assistant_replies(page).last).to_contain_text("processed")

