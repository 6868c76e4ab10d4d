"""Chinese descriptions read by the English cues (agent/locales/cues.py, agent/locales/zh/cues.toml): which order
("最近下的那个订单", "所有待处理的订单"), which of two alike items ("贵的那台"), which option ("小一码", "容量更大",
"zoom 最大的", "优先 A，其次 B"); and a whole Chinese conversation that names its orders only by their status."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent import resolve
from agent.flows import cues
from agent.locales import catalogue
from agent.locales.cues import alternatives, with_words
from agent.manager import Agent
from agent.nlu import ALL_ORDERS, counted_product
from server.app import create_app
from server.config import Settings
from tests.test_api import events_of, new_session
from tools.context import IdentityPolicy
from tools.retail.data_model import Order, User
from tools.store import Store

AGENT_DIR = Path(__file__).resolve().parents[1] / "agent"


def test_every_cue_of_the_chinese_lexicon_is_read_by_a_pattern() -> None:
    """A lexicon entry no pattern reads would be a word list that does nothing."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in AGENT_DIR.rglob("*.py"))
    for cue in catalogue("cues", "zh"):
        assert re.search(rf"""["']{cue}["']""", source), cue


def test_a_gap_in_a_word_stays_inside_one_clause() -> None:
    every_order = re.compile(alternatives("all_orders"))
    assert every_order.search("帮我把所有待处理的订单都取消")
    assert not every_order.search("所有东西都退了，订单号我不记得")  # a comma ends the gap


def test_an_english_pattern_is_unchanged_without_words_for_it() -> None:
    plain = re.compile(r"\bplain\b", re.I)
    assert with_words(plain, "no such cue") is plain


def test_the_english_cues_still_read_english() -> None:
    assert cues.MOST_RECENT.search("the order I just placed") and not cues.MOST_RECENT.search("my order from May")
    assert ALL_ORDERS.search("cancel all my pending orders") and not ALL_ORDERS.search("cancel my order")


@pytest.mark.parametrize(("text", "status"), [
    ("待发货的那个订单帮我取消", "pending"), ("还没发货的 boots 改成 size 8", "pending"),
    ("我已经签收的 tablet 要退", "delivered"), ("查一下已取消的订单的物流", "cancelled"),
])
def test_a_chinese_status_word_names_the_orders_status(text: str, status: str) -> None:
    assert cues.status_hinted(text, status)
    assert not cues.status_hinted(text, "processed")


def test_the_most_recent_order_and_every_order_in_chinese() -> None:
    assert cues.MOST_RECENT.search("我上一单付了多少钱") and cues.OTHER_ORDER.search("另外一个订单里的 laptop")
    assert ALL_ORDERS.search("全部订单都改地址") and not cues.ITEMS_IN_ORDERS.search("全部订单都改地址")
    assert cues.ITEMS_IN_ORDERS.search("所有待处理订单里的 tshirt")  # the items are meant, not every order


def test_a_chinese_count_question_counts_the_product_it_names() -> None:
    assert counted_product("请问 hiking boots 一共有几种颜色？").strip() == "请问 hiking boots 一共"
    assert counted_product("推荐几款 hiking boots") is None  # 几 alone is "a few", no count
    assert counted_product("how many tshirt options are there") == "tshirt"
    assert counted_product("hiking boots 有货吗") is None


def line(item_id: str, price: float, **options: str) -> dict[str, Any]:
    return {"item_id": item_id, "name": "Tablet", "price": price, "options": options, "product_id": "p"}


TWO_TABLETS = {"items": [line("1", 900.0, color="gold"), line("2", 1000.0, color="gold")]}


@pytest.mark.parametrize(("text", "item_id"), [("我想退掉贵的那台 tablet", "2"), ("价格更高的 tablet 退了", "2"),
                                              ("便宜的那台 tablet 不要了", "1"), ("tablet 退最便宜的", "1")])
def test_of_two_alike_items_the_pricier_or_cheaper_one(text: str, item_id: str) -> None:
    assert [chosen["item_id"] for chosen in resolve.order_lines(TWO_TABLETS, text, []) or []] == [item_id]


def variant(name: str, **options: str) -> dict[str, Any]:
    """A variant whose item id is a number (as the store's are: no word of a message names it), kept by name."""
    return {"item_id": str(1000000000 + sum(map(ord, name))), "name": name, "options": options, "available": True,
            "price": 50.0}


def product(*variants: dict[str, Any]) -> dict[str, Any]:
    return {"variants": {v["name"]: v for v in variants}}


SHIRTS = product(*(variant(size, size=size, color="black") for size in ("S", "M", "L", "XL")))
BOTTLES = product(*(variant(ml, capacity=ml, color="red") for ml in ("500ml", "750ml", "1000ml")))
CAMERAS = product(*(variant(zoom, zoom=zoom, storage="SD card") for zoom in ("3x", "5x", "10x")))
LAMPS = product(variant("usb", brightness="low", power="USB"), variant("battery", brightness="low", power="battery"),
                variant("ac", brightness="low", power="AC adapter"), variant("now", brightness="high", power="USB"))


@pytest.mark.parametrize(("catalogue_product", "current", "text", "wanted"), [
    (SHIRTS, "L", "T-Shirt 太大了，想换小一码的", "M"),
    (SHIRTS, "M", "tshirt 有点紧，换大一号", "L"),
    (BOTTLES, "500ml", "water bottle 想换个容量更大的", "750ml"),
    (CAMERAS, "3x", "想换一台 zoom 最大的 camera", "10x"),
    (CAMERAS, "10x", "换个 zoom 最小的吧", "3x"),
    (LAMPS, "now", "desk lamp 换个暗一点的，供电优先 battery，其次 USB", "battery"),
    (LAMPS, "now", "desk lamp 要亮度低的，最好是 AC adapter 而不是 battery", "ac"),
])
def test_the_option_a_chinese_description_asks_for(catalogue_product: dict[str, Any], current: str, text: str,
                                                   wanted: str) -> None:
    held = catalogue_product["variants"][current]
    chosen, _ = resolve.replacement_variant(catalogue_product, held, text)
    assert chosen is not None and chosen["name"] == wanted


# --- a whole conversation ---------------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path, store: Store, retriever) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="test-secret",
                        rate_limit_per_minute=1000)
    agent = Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK)
    with TestClient(create_app(settings, agent=agent)) as test_client:
        yield test_client


def reply(client: TestClient, session_id: str, text: str) -> str:
    response = client.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    return next(data for name, data in events_of(response) if name == "message")["text"]


def customer_with_pending_orders(store: Store) -> tuple[str, dict[str, str]]:
    """A customer with two or more pending orders: their email, and each of their orders' status."""
    with store.session() as session:
        user_id = session.scalars(select(Order.user_id).where(Order.status == "pending").group_by(Order.user_id)
                                  .having(func.count() >= 2).order_by(Order.user_id)).first()
        statuses = {order.order_id: order.status
                    for order in session.scalars(select(Order).where(Order.user_id == user_id))}
        return session.get(User, user_id).email, statuses


def statuses_now(store: Store, order_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    with store.session() as session:
        return {order_id: (order.status, order.cancel_reason)
                for order_id in order_ids if (order := session.get(Order, order_id)) is not None}


def test_the_pending_orders_are_cancelled_in_turn_for_a_reason_stated_in_a_sentence(client: TestClient,
                                                                                   store: Store) -> None:
    """"所有待处理的订单" names the orders by their status, "是我拍错了" states the reason: the first pending order is
    proposed for that reason and cancelled on its yes, then the next is proposed the same way; nothing else changes
    (a second cancellation in a row may be held for staff review: that is the risk policy's, not tested here)."""
    email, before = customer_with_pending_orders(store)
    pending = [order_id for order_id, status in before.items() if status == "pending"]
    session_id = new_session(client)
    reply(client, session_id, "您好，我想把所有待处理的订单都取消掉")
    asked = reply(client, session_id, email)
    assert "原因" in asked and any(order_id in asked for order_id in pending)  # a pending order, and why
    proposal = reply(client, session_id, "这些都是我拍错了")
    first = [order_id for order_id in pending if order_id in proposal]
    assert len(first) == 1 and "确认" in proposal and "下错单" in proposal
    assert statuses_now(store, first)[first[0]] == ("pending", None)  # nothing changes before the yes
    following = reply(client, session_id, "是")
    assert statuses_now(store, first)[first[0]] == ("cancelled", "ordered by mistake")
    second = [order_id for order_id in pending if order_id in following and order_id not in first]
    assert len(second) == 1 and "确认" in following and "下错单" in following.split(second[0])[-1]
    after = statuses_now(store, list(before))
    assert {order_id: status for order_id, (status, _) in after.items() if order_id not in first} == {
        order_id: status for order_id, status in before.items() if order_id not in first}


@pytest.mark.parametrize("question", ["店里现在 hiking boots 有多少种款式有货？",
                                      "how many hiking boots options are available?"])
def test_a_count_question_is_answered_with_the_count_however_it_is_read(client: TestClient, store: Store,
                                                                       question: str) -> None:
    """The reader may read a count question as a search, a product question or none: the answer is the number of
    the product's available options, from the store."""
    from tools.retail.data_model import Item, Product

    with store.session() as session:
        available = session.scalar(select(func.count()).select_from(Item).join(Product).where(
            Product.name == "Hiking Boots", Item.available.is_(True)))
    assert available > 4  # more than a search shows: the number is the count's, not a list's
    answer = reply(client, new_session(client), question)
    assert re.search(rf"(?<!\d){available}(?!\d)", answer) and "Hiking Boots" in answer
