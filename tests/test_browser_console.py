"""A human agent takes over a conversation in the copilot console, in a real browser (headless Debian Chromium)
against the real server, and the customer's widget shows the person's reply live; handed back, the bot answers
again. The server and browser fixtures are test_browser.py's."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_browser import app, base_url, browser, by_id, internals_shown, open_chat, sync_api  # noqa: F401  (fixtures)
from test_browser_cards import png

expect = sync_api.expect
PASSWORD = "console password 1"
TIMEOUT_MS = 30_000
DOCS = Path(__file__).resolve().parents[1] / "docs"
PHONE, DESKTOP = {"width": 390, "height": 844}, {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def staff(app: Any) -> str:  # noqa: F811
    from agent.escalation.staff import StaffDirectory

    StaffDirectory(app.state.agent.store).add("dana", PASSWORD, "Dana")
    return "dana"


def test_a_person_takes_over_and_the_widget_shows_their_reply(browser: Any, base_url: str, staff: str) -> None:  # noqa: F811
    customer = browser.new_context(base_url=base_url)
    agent_side = browser.new_context(base_url=base_url)
    try:
        page = customer.new_page()
        page.goto("/")
        open_chat(page)
        by_id(page, "shopagent-input").fill("I want to talk to a person about my order")
        by_id(page, "shopagent-input").press("Enter")
        expect(by_id(page, "shopagent-handoff")).to_be_visible(timeout=TIMEOUT_MS)

        console = agent_side.new_page()
        console.goto("/console")
        console.get_by_label("Staff id").fill(staff)
        console.get_by_label("Password").fill(PASSWORD)
        by_id(console, "console-sign-in").click()
        expect(by_id(console, "console-who")).to_contain_text("Dana")
        item = by_id(console, "console-queue-item").filter(has_text="asked for a person").first
        expect(item).to_be_visible(timeout=TIMEOUT_MS)
        item.click()
        expect(by_id(console, "console-transcript")).to_contain_text("talk to a person about my order")
        expect(by_id(console, "console-summary")).to_contain_text("asked for a person")
        expect(by_id(console, "console-drafts").locator("li").first).to_be_visible()
        by_id(console, "console-take").click()
        expect(by_id(console, "console-ticket")).to_have_attribute("data-status", "active", timeout=TIMEOUT_MS)

        by_id(console, "console-reply-text").fill("Hi, I'm Dana from the team. Which order is it about?")
        by_id(console, "console-send").click()

        person = page.locator("[data-testid=shopagent-message][data-author=person]")
        expect(person).to_have_count(1, timeout=TIMEOUT_MS)
        expect(person).to_contain_text("Which order is it about?")
        expect(page.locator("[data-author=notice]").first).to_contain_text("Dana from our team has joined")
        expect_a_person_is_there(page, person)

        # After a reload the widget still knows who is there (from the history), not only from the live stream.
        page.reload()
        open_chat(page)
        person = page.locator("[data-testid=shopagent-message][data-author=person]")
        expect(person).to_have_count(1)
        expect_a_person_is_there(page, person)

        # The customer answers; the person sees it in the console, and the bot stays silent.
        bot_replies_before = page.locator("[data-role=assistant]:not([data-author])").count()
        by_id(page, "shopagent-input").fill("It's order W2378156, thanks")
        by_id(page, "shopagent-input").press("Enter")
        expect(by_id(console, "console-transcript")).to_contain_text("It's order W2378156", timeout=TIMEOUT_MS)
        expect(by_id(page, "shopagent-input")).to_be_editable(timeout=TIMEOUT_MS)
        assert page.locator("[data-role=assistant]:not([data-author])").count() == bot_replies_before

        # Handed back, the bot answers the next message itself.
        by_id(console, "console-handback").click()
        expect(page.locator("[data-author=notice]").last).to_contain_text("handed the conversation back",
                                                                          timeout=TIMEOUT_MS)
        expect(by_id(page, "shopagent-person")).to_be_hidden()  # the assistant answers again
        expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()
        by_id(page, "shopagent-input").fill("do you have a mechanical keyboard?")
        by_id(page, "shopagent-input").press("Enter")
        expect(page.get_by_test_id("shopagent-product-card").first).to_be_visible(timeout=TIMEOUT_MS)
        assert internals_shown(page) == []  # a person's replies and the bot's, no internals
    finally:
        customer.close()
        agent_side.close()


def expect_a_person_is_there(page: Any, person: Any) -> None:
    """Dana's words carry her name and initials and say who speaks; the header says she is there; the hand-off
    button steps aside."""
    expect(person.get_by_test_id("shopagent-author")).to_have_text("DDana")  # initials badge, then the name
    expect(person.get_by_test_id("shopagent-avatar")).to_have_text("D")
    expect(person.get_by_test_id("shopagent-speaker")).to_have_text("Dana said:")
    expect(page.locator("[data-role=assistant]:not([data-author]) [data-testid=shopagent-speaker]").first
           ).to_have_text("Shop assistant said:")
    banner = by_id(page, "shopagent-person")
    expect(banner).to_be_visible()
    expect(banner).to_have_text("DYou are talking to Dana")
    expect(banner).to_have_attribute("role", "status")
    expect(by_id(page, "shopagent-handoff-button")).to_be_hidden()


def test_the_console_refuses_a_wrong_password(browser: Any, base_url: str, staff: str) -> None:  # noqa: F811
    context = browser.new_context(base_url=base_url)
    try:
        console = context.new_page()
        console.goto("/console")
        console.get_by_label("Staff id").fill(staff)
        console.get_by_label("Password").fill("not the password")
        by_id(console, "console-sign-in").click()
        expect(console.locator("#login-error")).to_contain_text("Wrong staff id or password")
        expect(console.locator("#desk")).to_be_hidden()
    finally:
        context.close()


def test_a_person_with_a_picture_is_shown_with_it(browser: Any, app: Any, base_url: str) -> None:  # noqa: F811
    """Sam has a picture (add-staff --avatar): it shows beside his words and in the header, instead of initials."""
    from agent.escalation.console import ConsoleService
    from agent.escalation.staff import StaffDirectory

    sam = StaffDirectory(app.state.agent.store).add("sam", PASSWORD, "Sam Lee", avatar_url="/staff/sam.png")
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        page.route("**/staff/sam.png", lambda route: route.fulfill(content_type="image/png", body=png(6)))
        page.goto("/")
        open_chat(page)
        by_id(page, "shopagent-handoff-button").click()
        expect(by_id(page, "shopagent-handoff")).to_be_visible(timeout=TIMEOUT_MS)
        session_id = json.loads(page.evaluate(f"localStorage.getItem('shopagent:session:{base_url}')"))["id"]

        console = ConsoleService(app.state.agent)  # what the console's routes do for Sam
        ticket = console.desk.open_ticket(session_id)
        console.take(ticket.id, sam)
        console.reply(ticket.id, sam, "Hello, Sam here.")

        person = page.locator("[data-testid=shopagent-message][data-author=person]")
        expect(person).to_have_count(1, timeout=TIMEOUT_MS)
        for place in (person.get_by_test_id("shopagent-author"), by_id(page, "shopagent-person")):
            image = place.locator("img[data-testid=shopagent-avatar]")
            expect(image).to_have_attribute("alt", "")  # the name is written beside it
            assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 6
        expect(by_id(page, "shopagent-person")).to_have_text("You are talking to Sam Lee")
        expect(person.get_by_test_id("shopagent-speaker")).to_have_text("Sam Lee said:")
    finally:
        context.close()


# --- what the person sees, at phone and desktop width -----------------------------------------------------------


@pytest.fixture(scope="module")
def fraud_ticket(app: Any) -> str:  # noqa: F811
    """A verified customer asks about a pending order, then reports someone using their card (a risk), and a
    calm request waits beside it."""
    agent = app.state.agent
    calm, _ = agent.open_session()
    list(agent.turn(calm.id, "I want to talk to a person"))
    session, _ = agent.open_session(customer_id="yusuf_rossi_9620")
    for text in ("what's the status of order #W6247578?", "someone used my card to buy things I never ordered"):
        list(agent.turn(session.id, text))
    return session.id


def sign_in(console: Any, staff: str) -> None:
    console.goto("/console")
    console.get_by_label("Staff id").fill(staff)
    console.get_by_label("Password").fill(PASSWORD)
    by_id(console, "console-sign-in").click()
    expect(by_id(console, "console-who")).to_contain_text("Dana")


@pytest.mark.parametrize(("viewport", "name"), [(PHONE, "console-phone.png"), (DESKTOP, "console-desktop.png")])
def test_the_console_reads_in_words_and_fits_the_screen(browser: Any, base_url: str, staff: str,  # noqa: F811
                                                       fraud_ticket: str, viewport: dict[str, int], name: str,
                                                       tmp_path: Path) -> None:
    context = browser.new_context(base_url=base_url, viewport=viewport)
    try:
        console = context.new_page()
        sign_in(console, staff)
        queue = by_id(console, "console-queue-item")
        expect(queue.first).to_contain_text("possible fraud", timeout=TIMEOUT_MS)  # the risk first, in words
        queue.first.click()
        ticket = by_id(console, "console-ticket")
        expect(by_id(console, "console-summary")).to_contain_text("someone used my card")
        expect(ticket.locator("#ticket-title")).to_contain_text("possible fraud")

        # The order look-up is a small table, not JSON.
        tool = by_id(console, "console-transcript").locator("[data-role=tool]").first
        expect(tool).to_contain_text("Order details · #W6247578")
        tool.locator("summary").click()  # folded until opened
        table = tool.get_by_test_id("console-tool-table").first
        expect(table.locator("th", has_text="Order id")).to_be_visible()
        expect(table).to_contain_text("#W6247578")
        for internal in ("risk:fraud", "get_order_details", '{"', "explicit_request"):
            assert internal not in console.locator("#desk").inner_text()

        # The chart says what its axes are.
        expect(by_id(console, "console-chart-x")).to_have_text("Customer turn")
        expect(by_id(console, "console-chart-y")).to_have_text("Frustration")

        # The pending order can be cancelled (for either reason); nothing read-only waits for approval.
        actions = by_id(console, "console-action")
        expect(actions.first).to_be_visible()
        assert set(actions.evaluate_all("items => items.map(i => i.dataset.tool)")) == {"cancel_pending_order"}
        expect(actions.first).to_contain_text("Cancel pending order #W6247578")
        # The first draft thanks the customer once, and does not apologise on top.
        first = by_id(console, "console-draft").first.inner_text().lower()
        assert first.count("thank you") == 1 and "sorry" not in first

        fits_the_width(console, viewport["width"])
        page_shot = tmp_path / name
        console.screenshot(path=str(page_shot), full_page=True)
        if os.environ.get("SHOPAGENT_DOCS_SCREENSHOTS"):  # the pictures in docs/ are made by this test
            DOCS.joinpath(name).write_bytes(page_shot.read_bytes())
    finally:
        context.close()


def fits_the_width(page: Any, width: int) -> None:
    """No horizontal scrolling, and nothing visible reaches past the right edge (a wide table scrolls inside its
    own box instead)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    overflowing = page.evaluate("""width => [...document.querySelectorAll('#desk *')].filter(node => {
        if (node.parentElement.closest('.table-wrap')) return false;  // inside a box that scrolls itself
        const box = node.getBoundingClientRect();
        return box.width > 0 && box.right > width + 0.5;
    }).map(node => node.tagName + '.' + node.className + ' ' + (node.textContent || '').slice(0, 40))""", width)
    assert overflowing == []
