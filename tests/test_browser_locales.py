# ruff: noqa: F811 - the fixtures imported from test_browser.py are taken by name as arguments
"""The widget in a real browser speaks the conversation's language: a Chinese message turns its `lang` and its
own words to Chinese, and an English one turns them back (the server and browser fixtures of test_browser.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from agent import locales
from tests.test_browser import (  # noqa: F401 - the fixtures are used by name
    TURN_TIMEOUT_MS,
    app,
    base_url,
    browser,
    by_id,
    expect,
    new_page,
    open_chat,
    page,
    wait_for_turn_end,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-send").click()
    wait_for_turn_end(page)


@pytest.mark.usefixtures("app", "base_url", "browser", "new_page")
def test_the_widget_follows_the_conversations_language(page) -> None:  # type: ignore[no-untyped-def]
    open_chat(page)
    root = by_id(page, "shopagent-root")
    send(page, "你好")
    expect(root).to_have_attribute("lang", "zh", timeout=TURN_TIMEOUT_MS)
    handoff_button = by_id(page, "shopagent-handoff-button")
    expect(handoff_button).to_have_text(re.compile(CJK.pattern))
    expect(by_id(page, "shopagent-input")).to_have_attribute("placeholder", re.compile(CJK.pattern))
    font = root.evaluate("node => getComputedStyle(node).getPropertyValue('--shopagent-font')")
    assert "Noto Sans CJK SC" in font

    send(page, "Can you help me find a keyboard?")
    expect(root).to_have_attribute("lang", "en", timeout=TURN_TIMEOUT_MS)
    expect(handoff_button).to_have_text("Talk to a person")


@pytest.mark.usefixtures("app", "base_url", "browser", "new_page")
def test_the_widgets_title_and_labels_follow_the_conversations_language(page) -> None:  # type: ignore[no-untyped-def]
    """The header's title and the words a screen reader hears (the launcher, the conversation log) are the
    catalogue's, in the conversation's language, and back in English after an English message."""
    chinese, english = locales.catalogue("widget", "zh"), locales.catalogue("widget")
    open_chat(page)
    title, log = page.locator("#shopagent-title"), by_id(page, "shopagent-log")
    launcher = by_id(page, "shopagent-launcher")
    expect(title).to_have_text(english["title"])
    send(page, "你好")
    expect(title).to_have_text(chinese["title"], timeout=TURN_TIMEOUT_MS)
    expect(log).to_have_attribute("aria-label", chinese["conversationLabel"])
    expect(launcher).to_have_attribute("aria-label", chinese["closeLabel"])
    by_id(page, "shopagent-close").click()
    expect(launcher).to_have_attribute("aria-label", chinese["openChat"].format(name=chinese["title"]))

    open_chat(page)
    send(page, "Can you help me find a keyboard?")
    expect(title).to_have_text(english["title"], timeout=TURN_TIMEOUT_MS)
    expect(log).to_have_attribute("aria-label", english["conversationLabel"])


PHONE = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.usefixtures("app", "base_url", "browser")
def test_a_chinese_conversation_at_phone_width(new_page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Chinese shopper on a phone: a greeting, a product search, then a person asked for; every reply in Chinese,
    the cards' panel inside the screen's width, Chinese rendered (the CJK font stack is on the widget)."""
    page = new_page(**PHONE)
    open_chat(page)
    for text in ("你好", "有没有蓝牙音箱？", "我要转人工"):
        send(page, text)
    replies = page.locator("[data-role=assistant] .shopagent-bubble").all_inner_texts()
    assert len(replies) >= 4 and all(CJK.search(reply) for reply in replies[1:]), replies
    expect(page.locator("[data-testid=shopagent-product-card]").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot = tmp_path / "widget-zh-phone.png"
    page.screenshot(path=str(shot))
    if os.environ.get("SHOPAGENT_DOCS_SCREENSHOTS"):  # the picture in docs/ is made by this test
        DOCS.joinpath("widget-zh-phone.png").write_bytes(shot.read_bytes())
