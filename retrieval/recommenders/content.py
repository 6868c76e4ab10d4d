"""Content similarity: cosine of the retriever's product embeddings (MiniLM) to the seeds or recent baskets."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .base import Interactions, Query, Recommender, contributing_seed

Embed = Callable[[Sequence[str]], np.ndarray]  # item ids -> one vector per item


class ContentSimilarity(Recommender):
    """embeddings: item id -> vector, or a function embedding a list of item ids (called once, at fit)."""

    name = "content"

    def __init__(self, embeddings: Mapping[str, np.ndarray] | Embed, decay: float = 1.0, max_seeds: int = 50) -> None:
        self.embeddings = embeddings
        self.decay = decay
        self.max_seeds = max_seeds  # a long history is summarised by its most weighted items

    def fit(self, data: Interactions) -> ContentSimilarity:
        self.data = data
        if callable(self.embeddings):
            vectors = np.asarray(self.embeddings(data.items), dtype=np.float32)
        else:
            first = next(iter(self.embeddings.values()))
            blank = np.zeros_like(np.asarray(first, dtype=np.float32))
            vectors = np.stack([np.asarray(self.embeddings.get(i, blank), dtype=np.float32) for i in data.items])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = vectors / np.maximum(norms, 1e-9)
        return self

    def scores(self, query: Query) -> np.ndarray:
        profile = query.profile(self.data.n_items, self.decay)
        active = np.flatnonzero(profile)
        if not len(active):
            return np.zeros(self.data.n_items)
        if len(active) > self.max_seeds:
            active = np.sort(active[np.lexsort((active, -profile[active]))[: self.max_seeds]])
        similarity = np.maximum(self.vectors[active] @ self.vectors.T, 0.0)
        scores = (profile[active, None] * similarity).sum(axis=0).astype(np.float64)
        scores[active] = 0.0 if query.seeds else scores[active]  # a seed is not similar to itself, usefully
        return scores

    def explain(self, query: Query, item: int) -> str:
        return "similar to " + contributing_seed(
            self.data, query, item, lambda seed, other: float(self.vectors[seed] @ self.vectors[other])
        )
