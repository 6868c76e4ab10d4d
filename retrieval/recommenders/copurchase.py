"""Item-to-item co-purchase: items that share baskets with the seeds (or the customer's recent baskets)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .base import Interactions, Query, Recommender, contributing_seed


class CoPurchase(Recommender):
    """Cosine similarity of items over baskets: co-counts / sqrt(count_i * count_j), self-pairs removed."""

    name = "copurchase"

    def __init__(self, decay: float = 1.0) -> None:
        self.decay = decay

    def fit(self, data: Interactions) -> CoPurchase:
        self.data = data
        baskets = data.basket_items()
        counts = np.asarray(baskets.sum(axis=0), dtype=np.float64).ravel()
        co = (baskets.T @ baskets).tocsr().astype(np.float64)
        co.setdiag(0.0)
        co.eliminate_zeros()
        norm = 1.0 / np.sqrt(np.maximum(counts, 1.0))
        self.similarity = sparse.csr_matrix(sparse.diags(norm) @ co @ sparse.diags(norm))
        return self

    def scores(self, query: Query) -> np.ndarray:
        profile = query.profile(self.data.n_items, self.decay)
        active = np.flatnonzero(profile)
        if not len(active):
            return np.zeros(self.data.n_items)
        return np.asarray(profile[active] @ self.similarity[active], dtype=np.float64).ravel()

    def explain(self, query: Query, item: int) -> str:
        return "often bought with " + contributing_seed(
            self.data, query, item, lambda seed, other: float(self.similarity[seed, other])
        )
