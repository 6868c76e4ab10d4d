"""Product cards (agent/cards.py): the catalogue's links join each card, a suggestion's card included."""

from __future__ import annotations

from sqlalchemy import select, update

from agent.cards import product_cards, suggestion_with_links
from tools.retail.data_model import Item, Product
from tools.store import Store


def a_hit(store: Store, product_name: str) -> dict:
    with store.session() as session:
        item = session.scalars(select(Item).join(Product).where(Product.name == product_name)).first()
        return {"product_id": item.product_id, "item_id": item.item_id, "name": product_name,
                "options": dict(item.options), "price": item.price, "available": item.available}


def test_each_card_gets_its_own_products_links(store: Store) -> None:
    with store.transaction() as session:
        session.execute(update(Product).where(Product.name == "Hiking Boots")
                        .values(product_url="/p/boots", image_url="https://cdn.example.com/boots.jpg"))
    boots, lamp = a_hit(store, "Hiking Boots"), a_hit(store, "Desk Lamp")
    cards = product_cards(store, [boots, lamp])
    assert [(c["url"], c["image_url"]) for c in cards] == [("/p/boots", "https://cdn.example.com/boots.jpg"),
                                                           (None, None)]
    assert cards[0]["price"] == f"{boots['price']:.2f}" and cards[0]["item_id"] == boots["item_id"]
    assert product_cards(store, []) == []


def test_a_suggestions_card_gets_the_links_too(store: Store) -> None:
    with store.transaction() as session:
        session.execute(update(Product).where(Product.name == "Desk Lamp").values(product_url="/p/lamp"))
    lamp = a_hit(store, "Desk Lamp")
    suggestion = {"id": f"product:{lamp['product_id']}", "kind": "complementary", "text": "…",
                  "product": {**lamp, "price": "20.00"}}
    linked = suggestion_with_links(store, suggestion)
    assert linked["product"]["url"] == "/p/lamp" and linked["product"]["image_url"] is None
    assert suggestion["product"].get("url") is None  # the engine's own record is left as it was
    late = {"id": "late:#W1", "kind": "late_order", "text": "…", "product": None}
    assert suggestion_with_links(store, late) == late and suggestion_with_links(store, None) is None
