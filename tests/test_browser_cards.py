"""Product cards a storefront can wire, in a real browser against the real server (fixtures from test_browser.py):
the picture (or the product's initials), the name linked to the product page, and "Add to cart", whose
`shopagent:add-to-cart` event the demo storefront's cart receives."""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import test_browser as ui
from test_browser import (
    QUESTION,
    Page,
    by_id,
    expect,
    open_chat,
    route_turn,
    sse_body,
    wait_for_turn_end,
)

# The server, browser and pages of test_browser.py, as fixtures of this module too (on this module's app).
base_url, browser, new_page, page = ui.base_url, ui.browser, ui.new_page, ui.page

PRODUCT_PAGE = "/products/mechanical-keyboard"
PICTURE = "/images/mechanical-keyboard.png"


@pytest.fixture(scope="module")
def app(store_template: Path, retriever: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """test_browser's app, on a demo store whose Mechanical Keyboard has a product page and a picture."""
    from sqlalchemy import update

    from agent.manager import Agent
    from server.app import create_app
    from server.config import Settings
    from tools.retail.data_model import Product
    from tools.store import Store, sqlite_url

    home = tmp_path_factory.mktemp("cards-home")
    shutil.copy(store_template, home / "store.db")
    settings = Settings(
        home=home, database_url=sqlite_url(home / "store.db"), backend="none", rate_limit_per_minute=10_000
    )
    store = Store(settings.store_url)
    with store.transaction() as session:
        session.execute(update(Product).where(Product.name == "Mechanical Keyboard")
                        .values(product_url=PRODUCT_PAGE, image_url=PICTURE))
    yield create_app(settings, agent=Agent(store, retriever=retriever))
    store.dispose()


def png(size: int = 8, colour: tuple[int, int, int] = (36, 80, 201)) -> bytes:
    """A real PNG file of one colour (the format's own chunks, so no imaging library is needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(colour) * size for _ in range(size))  # filter 0, then RGB pixels
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def serve_picture(page: Page) -> None:
    """The storefront's image server: the demo app has none, so the browser's request is answered here."""
    page.route(f"**{PICTURE}", lambda route: route.fulfill(status=200, content_type="image/png", body=png()))


def record_add_to_cart(page: Page) -> None:
    page.evaluate("""() => {
        window.__carted = [];
        document.addEventListener('shopagent:add-to-cart', event => window.__carted.push(
            {detail: event.detail, bubbles: event.bubbles, from: event.target.getAttribute('data-testid')}));
    }""")


def ask(page: Page, text: str) -> None:
    by_id(page, "shopagent-input").fill(text)
    by_id(page, "shopagent-input").press("Enter")
    wait_for_turn_end(page)


def test_a_search_shows_linked_cards_whose_add_to_cart_reaches_the_page(page: Page, base_url: str) -> None:
    serve_picture(page)
    record_add_to_cart(page)
    open_chat(page)
    ask(page, QUESTION)

    cards = by_id(page, "shopagent-product-card")
    expect(cards.first).to_be_visible()
    for index in range(cards.count()):
        card = cards.nth(index)
        link = card.get_by_test_id("shopagent-product-link")
        expect(link).to_have_attribute("href", base_url + PRODUCT_PAGE)
        expect(link).to_have_text("Mechanical Keyboard")
        picture = card.locator("img[data-testid=shopagent-product-image]")
        expect(picture).to_have_attribute("alt", "")  # the name beside it says what it is
        picture.scroll_into_view_if_needed()
        assert picture.evaluate("img => img.decode().then(() => img.naturalWidth)") == 8
        in_stock = card.get_by_test_id("shopagent-product-availability").get_attribute("data-available") == "true"
        expect(card.get_by_test_id("shopagent-add-to-cart")).to_be_enabled(enabled=in_stock)  # none out of stock

    chosen = cards.filter(has=page.locator("[data-available=true]")).first
    button = chosen.get_by_test_id("shopagent-add-to-cart")
    options = chosen.get_by_test_id("shopagent-product-options").inner_text()
    expect(button).to_have_accessible_name(f"Add Mechanical Keyboard ({options}) to cart")
    button.click()
    button.click()

    expect(by_id(page, "cart-count")).to_have_text("2")  # the demo storefront's own cart took both
    expect(by_id(page, "cart-item")).to_have_count(1)
    expect(by_id(page, "cart-item")).to_contain_text("2 × Mechanical Keyboard")
    carted = page.evaluate("window.__carted")
    assert len(carted) == 2 and carted[0]["bubbles"] and carted[0]["from"] == "shopagent-add-to-cart"
    detail = carted[0]["detail"]
    assert set(detail) == {"product_id", "item_id", "name", "price", "options"}
    assert detail["item_id"] == chosen.get_attribute("data-item-id")
    assert detail["product_id"] == chosen.get_attribute("data-product-id")
    assert detail["name"] == "Mechanical Keyboard" and detail["options"]
    assert f"{float(detail['price']):.2f}" == detail["price"]
    expect(by_id(page, "shopagent-error")).to_have_count(0)


def test_a_product_without_links_shows_its_initials_and_no_link(page: Page) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    open_chat(page)
    ask(page, "show me hiking boots")

    card = by_id(page, "shopagent-product-card").first
    expect(card.get_by_test_id("shopagent-product-name")).to_have_text("Hiking Boots")
    expect(card.get_by_test_id("shopagent-product-link")).to_have_count(0)  # no page: no link at all
    placeholder = card.get_by_test_id("shopagent-product-image")
    expect(placeholder).to_have_text("HB")
    expect(placeholder).to_have_attribute("aria-hidden", "true")
    assert page.locator("[data-testid=shopagent-root] img").count() == 0
    assert not [url for url in requested if "image" in url]  # nothing fetched for a picture


def test_a_hostile_or_broken_address_is_never_a_link_or_a_broken_image(page: Page) -> None:
    page.route("**/missing.png", lambda route: route.fulfill(status=404, body="not found"))
    hostile = {"product_id": "1", "item_id": "11", "name": "Desk Lamp", "options": {}, "price": "20.00",
               "available": True, "url": "javascript:window.__pwned=1", "image_url": "javascript:window.__pwned=2"}
    broken = {**hostile, "product_id": "2", "item_id": "22", "name": "Floor lamp",
              "url": "data:text/html,<script>window.__pwned=3</script>", "image_url": "/missing.png"}
    route_turn(page, sse_body(("products", {"products": [hostile, broken]}),
                              ("message", {"id": 9, "text": "Two lamps.", "repaired": False}), ("done", {})))
    open_chat(page)
    ask(page, "lamps")

    cards = by_id(page, "shopagent-product-card")
    expect(cards).to_have_count(2)
    expect(page.locator("[data-testid=shopagent-root] a")).to_have_count(0)
    # The broken picture gives way to the initials once the browser reports it missing.
    expect(cards.nth(1).get_by_test_id("shopagent-product-image")).to_have_text("FL")
    expect(page.locator("[data-testid=shopagent-root] img")).to_have_count(0)
    expect(cards.nth(0).get_by_test_id("shopagent-product-image")).to_have_text("DL")
    cards.nth(0).get_by_test_id("shopagent-add-to-cart").click()
    expect(by_id(page, "cart-count")).to_have_text("1")
    assert page.evaluate("window.__pwned") is None
