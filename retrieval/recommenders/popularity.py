"""Popularity: what most customers buy. The cold-start answer when nothing is known about the customer."""

from __future__ import annotations

import numpy as np

from .base import Interactions, Query, Recommender


class Popularity(Recommender):
    name = "popularity"

    def fit(self, data: Interactions) -> Popularity:
        self.data = data
        # Customers who bought each item (not units): one bulk buyer does not make an item popular.
        self.counts = np.asarray((data.user_items() > 0).sum(axis=0), dtype=np.float64).ravel()
        return self

    def scores(self, query: Query) -> np.ndarray:
        return self.counts.copy()

    def explain(self, query: Query, item: int) -> str:
        category = self.data.categories.get(self.data.items[item])
        return f"popular in {category}" if category else "popular in our store"
