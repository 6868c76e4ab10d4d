"""Product cards as the widget shows them (server/API.md, Card): the item the flows found, plus where the
storefront shows the product and its picture, read from the catalogue when the turn is delivered. The links stay
out of the tools' results, so the model's prompt and the grounding checker never see them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tools.retail.data_model import Product
from tools.store import Store

NO_LINKS: dict[str, str | None] = {"url": None, "image_url": None}


def product_cards(store: Store, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cards of a turn's hits, each with its product's `url` and `image_url` (None when the catalogue has none)."""
    links = _links(store, {hit["product_id"] for hit in hits})
    return [{**_card(hit), **links.get(hit["product_id"], NO_LINKS)} for hit in hits]


def suggestion_with_links(store: Store, suggestion: dict[str, Any] | None) -> dict[str, Any] | None:
    """A suggestion's product card (if it has one) with its links, as the result cards have them."""
    product = (suggestion or {}).get("product")
    if not product:
        return suggestion
    links = _links(store, {product["product_id"]}).get(product["product_id"], NO_LINKS)
    return {**suggestion, "product": {**product, **links}}


def _card(hit: dict[str, Any]) -> dict[str, Any]:
    return {
        "product_id": hit["product_id"],
        "item_id": hit["item_id"],
        "name": hit["name"],
        "options": hit["options"],
        "price": f"{float(hit['price']):.2f}",
        "available": bool(hit["available"]),
    }


def _links(store: Store, product_ids: set[str]) -> dict[str, dict[str, str | None]]:
    if not product_ids:
        return {}
    query = select(Product.product_id, Product.product_url, Product.image_url).where(
        Product.product_id.in_(product_ids))
    with store.session() as session:
        return {pid: {"url": url, "image_url": image} for pid, url, image in session.execute(query)}
