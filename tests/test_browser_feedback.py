"""The widget's feedback in a real browser against the real server (fixtures from test_browser.py): 👍/👎 under each
reply, labelled for screen readers, stored with that reply; "Was this solved?" after the customer's thanks."""

from __future__ import annotations

from typing import Any

import test_browser as ui
from test_browser import Page, assistant_replies, by_id, expect, open_chat, wait_for_turn_end

from agent.feedback.store import FeedbackStore

# The server, browser and pages of test_browser.py, as fixtures of this module too.
app, base_url, browser, new_page, page = ui.app, ui.base_url, ui.browser, ui.new_page, ui.page


def ask(page: Page, text: str) -> None:
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-input").press("Enter")
    wait_for_turn_end(page)


def session_id(page: Page) -> str:
    return page.evaluate("() => JSON.parse(Object.entries(localStorage)[0][1]).id")


def stored(app: Any, session: str) -> list[tuple[int, str]]:
    return [(r.message_id, r.kind) for r in FeedbackStore(app.state.agent.store).all() if r.session_id == session]


def test_a_thumbs_up_click_is_stored_with_its_reply(page: Page, app: Any) -> None:
    open_chat(page)
    ask(page, "do you have a mechanical keyboard?")
    reply = assistant_replies(page).last
    up = reply.get_by_test_id("shopagent-thumbs-up")
    expect(up).to_have_accessible_name("This reply was helpful")
    expect(reply.get_by_test_id("shopagent-thumbs-down")).to_have_accessible_name("This reply was not helpful")
    expect(reply.get_by_role("group", name="Rate this reply")).to_have_count(1)
    up.focus()
    page.keyboard.press("Enter")  # keyboard accessible
    expect(up).to_have_attribute("aria-pressed", "true")
    message_id = int(reply.get_attribute("data-message-id") or 0)
    assert stored(app, session_id(page)) == [(message_id, "thumbs_up")]

    reply.get_by_test_id("shopagent-thumbs-down").click()  # a change of mind replaces the rating
    expect(reply.get_by_test_id("shopagent-thumbs-down")).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    assert stored(app, session_id(page)) == [(message_id, "thumbs_down")]


def test_thanks_brings_was_this_solved_and_the_answer_is_stored(page: Page, app: Any) -> None:
    open_chat(page)
    ask(page, "where can I find hiking boots?")
    expect(by_id(page, "shopagent-solved")).to_have_count(0)
    ask(page, "thanks, that's all")
    prompt = by_id(page, "shopagent-solved")
    expect(prompt).to_contain_text("Was this solved?")
    prompt.get_by_test_id("shopagent-solved-yes").click()
    expect(prompt).to_have_text("Thanks for your feedback!")
    last = int(assistant_replies(page).last.get_attribute("data-message-id") or 0)
    assert stored(app, session_id(page)) == [(last, "solved_yes")]
