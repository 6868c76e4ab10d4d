"""The storefront chat widget in a real browser (headless Debian Chromium) against the real server.

The server runs in a background thread on a free port (uvicorn, `server.app.create_app`), on a private copy
of the demo store. The turn tests go through the whole stack; a few widget-only checks (XSS safety, network
failure, the stream parser) replace just the turn request with Playwright's request routing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing: pip install playwright (no browser download)"
)
Page = sync_api.Page
expect = sync_api.expect

QUESTION = "do you have a mechanical keyboard?"
TURN_TIMEOUT_MS = 60_000  # generous: a turn runs the real agent (flows, tools, search) in a worker thread


# --- the server --------------------------------------------------------------------------------------------


def _free_socket() -> socket.socket:
    # Bind port 0 and hand the bound socket to uvicorn: no race with another process taking the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def app(store_template: Path, retriever: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The real app on a private copy of the demo store, sharing the session's search index.

    No language model (the agent answers from its flows): fast and deterministic, and the widget sees the
    same events either way. The rate limit is lifted: these tests open many sessions from one address.
    """
    from agent.manager import Agent
    from server.app import create_app
    from server.config import Settings
    from tools.store import Store, sqlite_url

    home = tmp_path_factory.mktemp("browser-home")
    shutil.copy(store_template, home / "store.db")
    settings = Settings(
        home=home, database_url=sqlite_url(home / "store.db"), backend="none", rate_limit_per_minute=10_000
    )
    store = Store(settings.store_url)
    yield create_app(settings, agent=Agent(store, retriever=retriever))
    store.dispose()


@pytest.fixture(scope="module")
def base_url(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a background thread; yields its http://127.0.0.1:PORT."""
    import uvicorn

    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the server did not start (see the log above)")
        time.sleep(0.05)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


# --- the browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        # Debian's chromium, not a Playwright download (none is possible here); no sandbox as root in CI.
        handle = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield handle
        handle.close()


@pytest.fixture
def new_page(browser: Any, base_url: str) -> Iterator[Callable[..., Page]]:
    """new_page(width=1280, height=800): a page in a fresh context (empty localStorage), on the demo store."""
    contexts = []

    pages = []

    def make(width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        pages.append(page)
        return page

    yield make
    try:  # every browser flow, at its end: the customer saw no internals (issue: no internals in front of them)
        for page in pages:
            assert not internals_shown(page), internals_shown(page)
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


# --- helpers -----------------------------------------------------------------------------------------------


def internals_shown(page: Page) -> list[str]:
    """What of the widget's visible text is internal: a tool's name, JSON, a staff summary, or an id the customer
    never typed (evals/customer_stream.py, the same scan the tasks suite runs on every turn)."""
    from evals.customer_stream import internals, tool_names

    root = page.locator("[data-testid=shopagent-root]")
    if page.is_closed() or root.count() == 0:
        return []
    said = " ".join(page.locator("[data-role=user]").all_inner_texts())
    return internals([root.inner_text()], said, tool_names())


def by_id(page: Page, test_id: str) -> Any:
    return page.get_by_test_id(test_id)


def open_chat(page: Page) -> None:
    by_id(page, "shopagent-launcher").click()
    expect(by_id(page, "shopagent-panel")).to_be_visible()
    # The greeting shows once the session exists: the widget is ready to talk.
    expect(page.locator("[data-testid=shopagent-message][data-kind=greeting]")).to_have_count(1)


def watch_turn(page: Page) -> None:
    """Record, from inside the page, whether the send button was ever disabled, every status line shown, and
    whether streamed token text in an assistant bubble was replaced by the final message. Mutation records
    are kept even when a fast server delivers the whole turn in one chunk, long before Python could look."""
    page.evaluate("""() => {
        window.__seen = {sendDisabled: false, tokensReplaced: false, statusLines: []};
        const send = document.querySelector('[data-testid=shopagent-send]');
        const status = document.querySelector('[data-testid=shopagent-status]');
        new MutationObserver(records => {
            for (const record of records) {
                if (record.target === send && send.disabled) window.__seen.sendDisabled = true;
                if (record.target === status) {
                    for (const node of record.addedNodes) window.__seen.statusLines.push(node.textContent);
                }
                const bubble = record.target.closest
                    && record.target.closest('[data-role=assistant] .shopagent-bubble');
                if (bubble && [...record.removedNodes].some(node => node.nodeType === Node.TEXT_NODE)) {
                    window.__seen.tokensReplaced = true;
                }
            }
        }).observe(document.querySelector('[data-testid=shopagent-root]'),
                   {subtree: true, childList: true, attributes: true, attributeFilter: ['disabled']});
    }""")


def user_bubbles(page: Page) -> Any:
    return page.locator("[data-testid=shopagent-message][data-role=user] [data-testid=shopagent-bubble]")


def assistant_replies(page: Page) -> Any:
    """Assistant messages other than the greeting."""
    return page.locator("[data-testid=shopagent-message][data-role=assistant]:not([data-kind=greeting])")


def wait_for_turn_end(page: Page) -> None:
    # `done` re-enables the send button (with text typed) and makes the field editable again.
    expect(by_id(page, "shopagent-input")).to_be_editable(timeout=TURN_TIMEOUT_MS)
    expect(by_id(page, "shopagent-send")).to_be_enabled()


def sse_body(*events: tuple[str, dict[str, Any]]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


# --- through the whole stack -------------------------------------------------------------------------------


def test_a_product_question_streams_a_reply_with_product_cards(page: Page) -> None:
    open_chat(page)
    expect(by_id(page, "shopagent-input")).to_be_focused()  # focus moved into the panel on open

    watch_turn(page)
    by_id(page, "shopagent-input").fill(QUESTION)
    by_id(page, "shopagent-send").click()

    expect(user_bubbles(page)).to_have_text([QUESTION])
    reply = assistant_replies(page).last
    expect(reply).to_have_attribute("data-state", "final", timeout=TURN_TIMEOUT_MS)
    wait_for_turn_end(page)
    assert reply.locator("[data-testid=shopagent-bubble]").inner_text().strip(), "the reply has no text"

    cards = page.get_by_test_id("shopagent-product-card")
    assert cards.count() >= 1, "no product card for a mechanical keyboard question"
    first = cards.first
    assert first.get_by_test_id("shopagent-product-name").inner_text().strip()
    assert re.search(r"\d", first.get_by_test_id("shopagent-product-price").inner_text())
    expect(first.get_by_test_id("shopagent-product-availability")).to_have_text(re.compile("^(In stock|Out of stock)$"))

    seen = page.evaluate("window.__seen")
    assert seen["sendDisabled"], "the send button stayed enabled while the turn streamed"
    assert seen["tokensReplaced"], "no token text was streamed into the bubble before the final message"
    assert "Searching the catalogue…" in seen["statusLines"], seen["statusLines"]  # tool_started's status line
    expect(by_id(page, "shopagent-error")).to_have_count(0)


def test_the_storefront_has_no_demo_sign_in_outside_demo_mode(page: Page) -> None:
    open_chat(page)  # demo-account.js mounted the widget
    expect(by_id(page, "demo-account")).to_be_hidden()
    expect(by_id(page, "demo-sign-in")).to_be_hidden()


def test_enter_sends_shift_enter_adds_a_line_and_escape_closes(page: Page) -> None:
    open_chat(page)
    field = by_id(page, "shopagent-input")
    field.press_sequentially("hello")
    field.press("Shift+Enter")
    field.press_sequentially("there")
    expect(user_bubbles(page)).to_have_count(0)
    assert field.input_value() == "hello\nthere"

    field.press("Enter")
    expect(user_bubbles(page)).to_have_text(["hello\nthere"])
    expect(assistant_replies(page).last).to_have_attribute("data-state", "final", timeout=TURN_TIMEOUT_MS)
    expect(field).to_have_value("")
    expect(field).to_be_editable(timeout=TURN_TIMEOUT_MS)

    page.keyboard.press("Escape")
    expect(by_id(page, "shopagent-panel")).to_be_hidden()
    expect(by_id(page, "shopagent-launcher")).to_be_focused()  # focus returns to where the chat was opened
    expect(by_id(page, "shopagent-launcher")).to_have_attribute("aria-expanded", "false")


def test_talk_to_a_person_shows_the_customer_notice(page: Page) -> None:
    open_chat(page)
    button = page.get_by_role("button", name="Talk to a person")
    expect(button).to_be_visible()
    button.click()
    notice = by_id(page, "shopagent-handoff")
    expect(notice).to_be_visible(timeout=TURN_TIMEOUT_MS)
    expect(notice.get_by_test_id("shopagent-handoff-summary")).to_contain_text("repeat yourself")
    expect(notice).not_to_contain_text("Customer said")  # the staff summary stays on the console
    expect(button).to_be_enabled()


def test_the_conversation_survives_a_reload(page: Page) -> None:
    open_chat(page)
    by_id(page, "shopagent-input").fill("hi")
    by_id(page, "shopagent-input").press("Enter")
    expect(assistant_replies(page).last).to_have_attribute("data-state", "final", timeout=TURN_TIMEOUT_MS)
    wait_for_turn_end(page)
    session_before = page.evaluate("JSON.stringify(localStorage)")

    page.reload()
    open_chat(page)
    expect(user_bubbles(page)).to_have_text(["hi"])
    expect(assistant_replies(page)).to_have_count(1)
    assert page.evaluate("JSON.stringify(localStorage)") == session_before


def test_an_open_confirmation_survives_a_reload(browser: Any, app: Any, base_url: str) -> None:
    """Signed in, the customer asks to cancel; after a reload the Yes button is back and confirms for real."""
    from server.tokens import sign_customer_token

    token = sign_customer_token(app.state.settings.secret(), "emma_smith_8564")
    context = embedded_page(browser, base_url, {"shop": token})
    page = context.new_page()
    page.goto("/page/shop")
    open_chat(page)
    by_id(page, "shopagent-input").fill("please cancel #W3614011, I ordered it by mistake")
    by_id(page, "shopagent-input").press("Enter")
    expect(by_id(page, "shopagent-confirm-yes")).to_be_visible(timeout=TURN_TIMEOUT_MS)
    wait_for_turn_end(page)

    page.reload()
    open_chat(page)
    yes = by_id(page, "shopagent-confirm-yes")
    expect(yes).to_have_count(1)
    yes.click()
    expect(assistant_replies(page).last).to_contain_text("is now cancelled", timeout=TURN_TIMEOUT_MS)
    context.close()


def test_a_session_the_server_forgot_is_replaced(browser: Any, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    key = f"shopagent:session:{base_url}"
    stale = json.dumps({"id": "no-such-session", "greeting": "old", "who": ""})
    context.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(stale)})")
    page = context.new_page()
    page.goto("/")
    open_chat(page)
    expect(page.locator("[data-kind=greeting]")).not_to_have_text("old")
    stored = json.loads(page.evaluate(f"localStorage.getItem({json.dumps(key)})"))
    assert stored["id"] != "no-such-session"
    expect(by_id(page, "shopagent-error")).to_have_count(0)
    context.close()


def embedded_page(browser: Any, base_url: str, tokens: dict[str, str]) -> Any:
    """A context whose storefront pages /page/NAME embed the widget with the one tag and tokens[NAME]."""
    context = browser.new_context(base_url=base_url)

    def storefront(route: Any) -> None:
        token = tokens[route.request.url.rsplit("/", 1)[-1]]
        tag = f'<script src="{base_url}/widget.js" data-shopagent-url="{base_url}" data-token="{token}"></script>'
        route.fulfill(content_type="text/html", body=f"<!doctype html><title>Shop</title><p>A product</p>{tag}")

    context.route(re.compile(r"/page/\w+$"), storefront)
    return context


def stored_session_id(page: Page, base_url: str) -> str:
    return json.loads(page.evaluate(f"localStorage.getItem({json.dumps(f'shopagent:session:{base_url}')})"))["id"]


def test_a_signed_in_customer_keeps_their_session_across_pages(browser: Any, app: Any, base_url: str) -> None:
    from server.tokens import sign_customer_token

    secret = app.state.settings.secret()
    context = embedded_page(
        browser,
        base_url,
        {
            "first": sign_customer_token(secret, "james_li_5688", ttl_seconds=3600),
            "next": sign_customer_token(secret, "james_li_5688", ttl_seconds=7200),  # re-signed: a new expiry
            "other": sign_customer_token(secret, "emma_smith_8564"),  # someone else signs in on this browser
        },
    )
    page = context.new_page()
    page.goto("/page/first")
    open_chat(page)
    expect(page.locator("[data-kind=greeting]")).to_contain_text("signed in")
    by_id(page, "shopagent-input").fill("hi")
    by_id(page, "shopagent-input").press("Enter")
    wait_for_turn_end(page)
    james_session = stored_session_id(page, base_url)

    page.goto("/page/next")
    open_chat(page)
    expect(user_bubbles(page)).to_have_text(["hi"])
    assert stored_session_id(page, base_url) == james_session

    page.goto("/page/other")
    open_chat(page)
    expect(user_bubbles(page)).to_have_count(0)  # never another customer's conversation
    assert stored_session_id(page, base_url) != james_session
    context.close()


def test_a_refused_token_falls_back_to_a_guest_session(browser: Any, base_url: str) -> None:
    context = embedded_page(browser, base_url, {"forged": "Zm9yZ2Vk.9999999999." + "0" * 64})
    page = context.new_page()
    page.goto("/page/forged")
    open_chat(page)  # 401 for the token: the widget carries on as a guest instead of leaving a dead chat
    expect(page.locator("[data-kind=greeting]")).not_to_contain_text("signed in")
    expect(by_id(page, "shopagent-error")).to_have_count(0)
    context.close()


def test_on_a_phone_the_panel_fills_the_screen(new_page: Callable[..., Page]) -> None:
    page = new_page(width=375, height=667)
    open_chat(page)
    panel = by_id(page, "shopagent-panel")
    panel.evaluate("panel => Promise.all(panel.getAnimations().map(a => a.finished))")  # the opening pop-in
    box = panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"]) == (0, 0)
    assert abs(box["width"] - 375) <= 1 and abs(box["height"] - 667) <= 1, box
    for test_id in ("shopagent-input", "shopagent-send", "shopagent-close", "shopagent-handoff-button"):
        control = by_id(page, test_id).bounding_box()
        assert control is not None and control["x"] >= 0 and control["x"] + control["width"] <= 375, test_id
        assert control["y"] >= 0 and control["y"] + control["height"] <= 667, test_id
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing pokes out sideways

    # Full screen, the page behind is covered: Tab and Shift+Tab cycle inside the panel.
    in_panel = "document.querySelector('[data-testid=shopagent-panel]').contains(document.activeElement)"
    for key in ["Tab"] * 6 + ["Shift+Tab"] * 6:
        page.keyboard.press(key)
        assert page.evaluate(in_panel), f"{key} left the full-screen panel"


def test_reduced_motion_turns_animations_off(new_page: Callable[..., Page]) -> None:
    page = new_page()
    page.emulate_media(reduced_motion="reduce")
    open_chat(page)
    assert by_id(page, "shopagent-panel").evaluate("panel => panel.getAnimations().length") == 0


# --- the widget alone (only the turn request is replaced) --------------------------------------------------


def route_turn(page: Page, body: str) -> None:
    def fulfil(route: Any) -> None:
        if route.request.method == "POST":
            route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)
        else:
            route.fallback()

    page.route(re.compile(r"/api/sessions/[^/]+/messages$"), fulfil)


def test_server_text_is_never_interpreted_as_html(page: Page) -> None:
    evil = '<img src=x onerror="window.__pwned=1">'
    card = {
        "product_id": "1",
        "item_id": "2",
        "name": f"Keyboard {evil}",
        "options": {"color": evil},
        "price": "12.99",
        "available": False,
    }
    route_turn(
        page,
        sse_body(
            ("status", {"text": evil}),
            ("products", {"products": [card]}),
            ("confirmation", {"action": "cancel_pending_order", "summary": evil}),
            ("token", {"text": evil}),
            ("message", {"id": 7, "text": f"Final {evil}", "repaired": False}),
            ("handoff", {"notice": evil}),
            ("done", {}),
        ),
    )
    open_chat(page)
    by_id(page, "shopagent-input").fill("show me")
    by_id(page, "shopagent-input").press("Enter")
    reply = assistant_replies(page).last
    expect(reply).to_have_attribute("data-state", "final")
    wait_for_turn_end(page)

    expect(reply.get_by_test_id("shopagent-bubble")).to_have_text(f"Final {evil}")
    expect(page.get_by_test_id("shopagent-product-name")).to_have_text(f"Keyboard {evil}")
    expect(page.get_by_test_id("shopagent-product-availability")).to_have_text("Out of stock")
    expect(page.get_by_test_id("shopagent-handoff-summary")).to_have_text(evil)
    assert page.locator("[data-testid=shopagent-root] img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_confirmation_offers_yes_and_no_that_send_a_reply(page: Page) -> None:
    route_turn(
        page,
        sse_body(
            ("confirmation", {"action": "cancel_pending_order", "summary": "Cancel order #W1"}),
            ("token", {"text": "Shall I cancel it?"}),
            ("message", {"id": 1, "text": "Shall I cancel it?", "repaired": False}),
            ("done", {}),
        ),
    )
    open_chat(page)
    by_id(page, "shopagent-input").fill("cancel my order")
    by_id(page, "shopagent-input").press("Enter")
    yes = by_id(page, "shopagent-confirm-yes").first
    expect(yes).to_be_enabled()
    expect(by_id(page, "shopagent-confirm-no")).to_be_enabled()
    yes.click()
    expect(user_bubbles(page)).to_have_text(["cancel my order", "Yes"])  # the button's own word is the reply
    wait_for_turn_end(page)
    expect(yes).to_be_disabled()  # answered: an old Yes must not confirm a later question
    expect(by_id(page, "shopagent-confirm-yes").last).to_be_enabled()  # the new question's buttons work


@pytest.mark.parametrize(
    ("failure", "apology"),
    [
        ("network", "couldn't reach the assistant"),
        ("rate limit", "too quickly"),
        ("cut off", "interrupted"),
    ],
)
def test_a_failed_turn_shows_an_error_and_re_enables_input(page: Page, failure: str, apology: str) -> None:
    def fail(route: Any) -> None:
        if route.request.method != "POST":
            route.fallback()
        elif failure == "network":
            route.abort()
        elif failure == "rate limit":
            route.fulfill(status=429, json={"detail": "Too many requests"})
        else:  # the stream ends without `done`: a proxy timeout, a server restart
            route.fulfill(
                status=200,
                headers={"Content-Type": "text/event-stream"},
                body=sse_body(("token", {"text": "Half a rep"})),
            )

    open_chat(page)
    page.route(re.compile(r"/api/sessions/[^/]+/messages$"), fail)
    by_id(page, "shopagent-input").fill("anyone there?")
    by_id(page, "shopagent-send").click()
    expect(by_id(page, "shopagent-error")).to_contain_text(apology)
    expect(by_id(page, "shopagent-input")).to_be_editable()
    expect(by_id(page, "shopagent-input")).to_be_focused()
    by_id(page, "shopagent-input").fill("retry")
    expect(by_id(page, "shopagent-send")).to_be_enabled()


def test_the_stream_parser_handles_any_chunking_and_line_ending(page: Page) -> None:
    events = page.evaluate("""() => {
        const stream = ': keep-alive\\r\\nevent: token\\r\\ndata: {"text": "h\\u00e9"}\\r\\n\\r\\n'
            + 'event: message\\rdata: {"id": 1,\\rdata:  "text": "x"}\\r\\r'
            + 'event: done\\ndata: {}';  // no final blank line: still delivered at end()
        const results = [];
        for (let size = 1; size <= stream.length; size++) {
            const seen = [];
            const parser = ShopAgent.createSseParser((name, data) => seen.push([name, JSON.parse(data)]));
            for (let i = 0; i < stream.length; i += size) parser.push(stream.slice(i, i + size));
            parser.end();
            results.push(JSON.stringify(seen));
        }
        return results;
    }""")
    expected = json.dumps(
        [["token", {"text": "hé"}], ["message", {"id": 1, "text": "x"}], ["done", {}]],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert set(events) == {expected}


def test_the_end_of_flow_scan_sees_what_the_widget_shows(page: Page) -> None:
    """The scan each browser flow ends with reads the widget's visible text: an internal put there is found."""
    open_chat(page)
    assert internals_shown(page) == []
    page.evaluate("""() => { const leak = document.createElement('p'); leak.id = 'leak';
        leak.textContent = 'refunded to credit_card_7815826';
        document.querySelector('[data-testid=shopagent-root]').append(leak); }""")
    assert internals_shown(page) == ["id credit_card_7815826"]
    page.evaluate("() => document.getElementById('leak').remove()")


@pytest.mark.parametrize(("width", "height", "name"),
                         [(1280, 800, "widget-desktop.png"), (390, 844, "widget-phone.png")])
def test_a_search_and_a_hand_off_fit_the_screen(new_page: Callable[..., Page], tmp_path: Path, width: int,
                                                height: int, name: str) -> None:
    """A product search and a hand-off, at desktop and phone width: cards, ratings and the notice inside the
    screen's width (the pictures in docs/ are made by this test with SHOPAGENT_DOCS_SCREENSHOTS=1)."""
    page = new_page(width, height)
    open_chat(page)
    for text in ("do you have a mechanical keyboard?", "I want to talk to a person"):
        by_id(page, "shopagent-input").fill(text)
        by_id(page, "shopagent-send").click()
        wait_for_turn_end(page)
    expect(page.locator("[data-testid=shopagent-product-card]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    if os.environ.get("SHOPAGENT_DOCS_SCREENSHOTS"):
        (Path(__file__).resolve().parents[1] / "docs" / name).write_bytes(shot.read_bytes())
