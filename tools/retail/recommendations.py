"""Recommendations for the store: the recommenders fitted on its orders (per product), served with live stock.

    recommender = StoreRecommender.fit(session, retriever)          # or store_recommender(store, retriever)
    recommender.recommend(session, customer_id="james_li_5688", product_ids=["4760268021"], limit=3)

Each suggestion is one available item of a recommended product, with a short reason. Never a product given as
a seed, one without an available item, or one from the customer's latest order (except "buy again" suggestions
of products the customer has bought in at least two orders).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from retrieval.recommenders import (
    Blend,
    BuyAgain,
    ContentSimilarity,
    CoPurchase,
    ImplicitALS,
    Interactions,
    Popularity,
    Recommendation,
    Recommender,
    tuned_blend,
)
from tools.retail.data_model import Item, Order, Product

if TYPE_CHECKING:
    from retrieval import HybridRetriever
    from tools.store import Store

Strategy = Literal["auto", "complementary", "similar", "buy_again", "popular"]
STRATEGIES: tuple[str, ...] = ("auto", "complementary", "similar", "buy_again", "popular")


def product_vectors(retriever: HybridRetriever) -> dict[str, np.ndarray]:
    """Each product's embedding: the mean of its items' vectors in the retriever's dense index."""
    grouped: dict[str, list[int]] = defaultdict(list)
    for row, doc in enumerate(retriever.docs):
        grouped[doc.product_id].append(row)
    vectors = np.asarray(retriever.dense.vectors)
    return {product_id: vectors[rows].mean(axis=0) for product_id, rows in grouped.items()}


class StoreRecommender:
    """One fitted backend per strategy, over the store's products; stock is read live at every call."""

    def __init__(self, models: dict[str, Recommender], item_counts: Counter[str], has_content: bool) -> None:
        self.models = models
        self.item_counts = item_counts  # how often each item (variant) was ordered: picks the variant to show
        self.has_content = has_content

    @classmethod
    def fit(cls, session: Session, retriever: HybridRetriever | None = None, seed: int = 13) -> StoreRecommender:
        orders = session.scalars(
            select(Order).where(Order.status != "cancelled").options(selectinload(Order.items))
            .order_by(Order.user_id, Order.user_position)
        )
        baskets: dict[str, list[list[str]]] = defaultdict(list)
        item_counts: Counter[str] = Counter()
        for order in orders:
            baskets[order.user_id].append([line.product_id for line in order.items])
            item_counts.update(line.item_id for line in order.items)
        products = list(session.execute(select(Product.product_id, Product.name, Product.category)))
        data = Interactions(
            baskets,
            names={p.product_id: p.name for p in products},
            categories={p.product_id: p.category for p in products if p.category},
            items=sorted(p.product_id for p in products),
        )
        vectors = product_vectors(retriever) if retriever is not None else None
        content = ContentSimilarity(vectors) if vectors else None
        models: dict[str, Recommender] = {
            "auto": tuned_blend(embeddings=vectors, seed=seed, min_purchases=2),
            # What goes with a product: shared baskets first; the factor model and popularity fill in.
            "complementary": Blend(
                {"copurchase": CoPurchase(), "als": ImplicitALS(factors=16, seed=seed), "popularity": Popularity()},
                {"copurchase": 1.0, "als": 0.2, "popularity": 0.02},
            ),
            "similar": content or Popularity(),
            "buy_again": BuyAgain(min_purchases=2),
            "popular": Popularity(),
        }
        for model in models.values():
            model.fit(data)
        return cls(models, item_counts, has_content=content is not None)

    def recommend(
        self,
        session: Session,
        *,
        customer_id: str | None = None,
        product_ids: Iterable[str] = (),
        strategy: Strategy = "auto",
        limit: int = 3,
        exclude: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """Up to `limit` suggestions as item cards with a reason, best first."""
        model = self.models[strategy]
        seeds = [self._product_of(session, pid) for pid in product_ids]
        seeds = [pid for pid in seeds if pid]
        in_stock = self._products_in_stock(session)
        banned = set(exclude) | (self._latest_order(session, customer_id) if strategy != "buy_again" else set())
        picks = model.recommend(customer_id, seeds, k=limit, exclude=banned, available=in_stock.__contains__)
        if not picks and strategy != "popular" and not seeds:
            return self.recommend(session, product_ids=(), strategy="popular", limit=limit, exclude=banned)
        return [self._card(session, pick, self._available_items(session, pick.item_id)) for pick in picks]

    # --- live store data ---------------------------------------------------------------------------------------

    @staticmethod
    def _product_of(session: Session, product_or_item_id: str) -> str | None:
        """Customers and models mix product and item ids: accept either."""
        key = product_or_item_id.strip()
        if session.get(Product, key) is not None:
            return key
        item = session.get(Item, key)
        return item.product_id if item is not None else None

    @staticmethod
    def _products_in_stock(session: Session) -> set[str]:
        """Ids only: loading every available item of the catalogue was a fifth of a turn's time."""
        return set(session.scalars(select(Item.product_id).where(Item.available).distinct()))

    @staticmethod
    def _available_items(session: Session, product_id: str) -> list[Item]:
        return list(session.scalars(select(Item).where(Item.product_id == product_id, Item.available)
                                    .order_by(Item.position)))

    @staticmethod
    def _latest_order(session: Session, customer_id: str | None) -> set[str]:
        """The products of the customer's latest order: what they have just bought."""
        if customer_id is None:
            return set()
        latest = session.scalars(
            select(Order).where(Order.user_id == customer_id).order_by(Order.user_position.desc()).limit(1)
        ).first()
        return {line.product_id for line in latest.items} if latest else set()

    def _card(self, session: Session, pick: Recommendation, items: list[Item]) -> dict[str, Any]:
        item = max(items, key=lambda i: (self.item_counts[i.item_id], -i.position))  # the favourite variant
        product = session.get(Product, item.product_id)
        return {
            "product_id": item.product_id,
            "item_id": item.item_id,
            "name": product.name if product else item.product_id,
            "options": dict(item.options),
            "price": None if item.price is None else float(item.price),
            "available": True,
            "reason": pick.reason,
        }


_FITTED: weakref.WeakKeyDictionary[Store, StoreRecommender] = weakref.WeakKeyDictionary()
_FITTING = threading.Lock()


def store_recommender(store: Store, session: Session, retriever: HybridRetriever | None = None) -> StoreRecommender:
    """The store's recommender, fitted on first use and kept for the life of the Store handle."""
    with _FITTING:
        fitted = _FITTED.get(store)
        if fitted is None or (retriever is not None and not fitted.has_content):
            fitted = _FITTED[store] = StoreRecommender.fit(session, retriever)
        return fitted
