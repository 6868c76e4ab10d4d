"""The store's catalogue as retriever documents: one per item (variant)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from retrieval.documents import Document, describe
from tools.retail.data_model import Item


def store_documents(session: Session) -> list[Document]:
    items = session.scalars(
        select(Item).options(joinedload(Item.product)).order_by(Item.product_id, Item.position, Item.item_id)
    )
    return [
        Document(
            doc_id=item.item_id,
            title=item.product.name,
            text=describe(item.product.name, item.options, item.product.description),
            product_id=item.product_id,
            price=None if item.price is None else float(item.price),
            available=item.available,
            options={key: str(value) for key, value in item.options.items()},
        )
        for item in items
    ]
