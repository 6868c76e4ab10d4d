"""Implicit-feedback matrix factorisation: ALS from the `implicit` library, seeded and on 1-2 threads."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from .base import Interactions, Query, Recommender, contributing_seed


class ImplicitALS(Recommender):
    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        seed: int = 13,
        threads: int = 1,
    ) -> None:
        self.params = {"factors": factors, "regularization": regularization, "alpha": alpha, "iterations": iterations}
        self.seed = seed
        self.threads = max(1, min(threads, 2))

    def fit(self, data: Interactions) -> ImplicitALS:
        from implicit.cpu.als import AlternatingLeastSquares

        self.data = data
        self.user_items = data.user_items().astype(np.float32)
        # BLAS threads would multiply implicit's own threads on a small machine (and change float summation order).
        with threadpool_limits(limits=1, user_api="blas"):
            self.model = AlternatingLeastSquares(
                **self.params, random_state=self.seed, num_threads=self.threads, calculate_training_loss=False
            )
            self.model.fit(self.user_items, show_progress=False)
        self.item_factors = np.asarray(self.model.item_factors)
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        self.unit_factors = self.item_factors / np.maximum(norms, 1e-9)
        return self

    def user_vector(self, query: Query) -> np.ndarray | None:
        if not query.seeds and query.user in self.data.user_index:
            return np.asarray(self.model.user_factors[self.data.user_index[query.user]])
        profile = query.profile(self.data.n_items)
        if not profile.any():
            return None
        row = sparse.csr_matrix(profile.astype(np.float32).reshape(1, -1))
        with threadpool_limits(limits=1, user_api="blas"):
            return np.asarray(self.model.recalculate_user(0, row)).ravel()

    def scores(self, query: Query) -> np.ndarray:
        vector = self.user_vector(query)
        if vector is None:
            return np.zeros(self.data.n_items)
        return np.maximum(self.item_factors @ vector, 0.0).astype(np.float64)

    def explain(self, query: Query, item: int) -> str:
        if query.seeds:
            name = contributing_seed(
                self.data, query, item, lambda seed, other: float(self.unit_factors[seed] @ self.unit_factors[other])
            )
            return f"customers who buy {name} like it"
        return "customers with tastes like yours buy it"
