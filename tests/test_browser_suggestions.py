"""The widget's suggestion card in a real browser against the real server (fixtures from test_browser.py):
labelled "Suggested for you", apart from the reply, with a "No thanks" that declines it for good."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_browser as ui
from test_browser import (
    Page,
    assistant_replies,
    by_id,
    expect,
    open_chat,
    route_turn,
    sse_body,
    user_bubbles,
    wait_for_turn_end,
)

# The server, browser and pages of test_browser.py, as fixtures of this module too (on this module's app).
base_url, browser, new_page, page = ui.base_url, ui.browser, ui.new_page, ui.page


@pytest.fixture(scope="module")
def app(store_template: Path, retriever: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """test_browser's app, with the proactive engine the served agent has (server/services.py build_agent)."""
    from agent.manager import Agent
    from agent.proactive import ProactiveEngine
    from server.app import create_app
    from server.config import Settings
    from tools.store import Store, sqlite_url

    home = tmp_path_factory.mktemp("suggestions-home")
    shutil.copy(store_template, home / "store.db")
    settings = Settings(
        home=home, database_url=sqlite_url(home / "store.db"), backend="none", rate_limit_per_minute=10_000
    )
    store = Store(settings.store_url)
    yield create_app(settings, agent=Agent(store, retriever=retriever, proactive=ProactiveEngine()))
    store.dispose()


BOOTS = "show me hiking boots"


def ask(page: Page, text: str) -> None:
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-input").press("Enter")
    wait_for_turn_end(page)


def test_a_suggestion_card_and_its_no_thanks(page: Page, app: Any) -> None:
    open_chat(page)
    ask(page, BOOTS)
    card = by_id(page, "shopagent-suggestion")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("shopagent-suggestion-label")).to_have_text("Suggested for you")
    expect(card.get_by_test_id("shopagent-suggestion-text")).to_contain_text("often bought with Hiking Boots")
    expect(card.get_by_test_id("shopagent-product-card")).to_have_count(1)
    expect(card.get_by_test_id("shopagent-product-availability")).to_have_text("In stock")
    # Its own part of the reply: outside the assistant's message bubble.
    expect(assistant_replies(page).last.get_by_test_id("shopagent-suggestion")).to_have_count(0)
    declined_id = card.get_attribute("data-suggestion-id")

    card.get_by_test_id("shopagent-suggestion-decline").click()
    expect(user_bubbles(page)).to_have_text([BOOTS, "No thanks"])
    wait_for_turn_end(page)
    expect(assistant_replies(page).last).to_contain_text("won't suggest that again")
    expect(card.get_by_test_id("shopagent-suggestion-decline")).to_be_disabled()

    session_id = page.evaluate("() => JSON.parse(Object.entries(localStorage)[0][1]).id")
    state = app.state.agent.conversations.state(session_id)
    assert declined_id in state.suggestions_declined
    ask(page, BOOTS)
    offered = [by_id(page, "shopagent-suggestion").nth(i).get_attribute("data-suggestion-id")
               for i in range(by_id(page, "shopagent-suggestion").count())]
    assert offered.count(declined_id) == 1  # shown once, never again


def test_a_suggestion_survives_a_reload(page: Page) -> None:
    open_chat(page)
    ask(page, BOOTS)
    expect(by_id(page, "shopagent-suggestion")).to_have_count(1)
    page.reload()
    open_chat(page)
    expect(by_id(page, "shopagent-suggestion")).to_have_count(1)
    expect(by_id(page, "shopagent-suggestion-decline")).to_be_enabled()  # still the last thing said


def test_suggestion_text_is_never_interpreted_as_html(page: Page) -> None:
    evil = '<img src=x onerror="window.__pwned=1">'
    product = {"product_id": "1", "item_id": "2", "name": evil, "options": {"color": evil}, "price": "1.00",
               "available": True}
    route_turn(page, sse_body(
        ("message", {"id": 3, "text": "Here you are.", "repaired": False}),
        ("suggestion", {"id": evil, "kind": "complementary", "label": evil, "text": evil, "product": product}),
        ("done", {}),
    ))
    open_chat(page)
    ask(page, "hello")
    card = by_id(page, "shopagent-suggestion")
    expect(card.get_by_test_id("shopagent-suggestion-text")).to_have_text(evil)
    expect(card.get_by_test_id("shopagent-product-name")).to_have_text(evil)
    assert page.locator("[data-testid=shopagent-root] img").count() == 0
    assert page.evaluate("window.__pwned") is None

