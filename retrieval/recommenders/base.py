"""The recommender interface: fit on customers' baskets, then score items for a customer and/or seed items.

Every backend returns one non-negative score per item (0 = no opinion) and can say in a few words why it
picked an item; `recommend` turns scores into ranked, explained suggestions under the exclusion rules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str  # "often bought with …", "similar to …", "popular in …", "you buy this regularly"
    source: str  # the backend whose signal decided it


class Interactions:
    """Customers' baskets in time order (oldest first) over one item vocabulary, with names and categories."""

    def __init__(
        self,
        baskets: Mapping[str, Sequence[Iterable[str]]],
        *,
        names: Mapping[str, str] | None = None,
        categories: Mapping[str, str] | None = None,
        items: Sequence[str] | None = None,
    ) -> None:
        seen = dict.fromkeys(items or ())
        for orders in baskets.values():
            for basket in orders:
                seen.update(dict.fromkeys(basket))
        self.items: list[str] = list(seen)
        self.item_index = {item: i for i, item in enumerate(self.items)}
        self.users: list[str] = list(baskets)
        self.user_index = {user: u for u, user in enumerate(self.users)}
        # Each basket as sorted unique item indices: a basket is a set of purchases.
        self.baskets: list[list[np.ndarray]] = [
            [np.unique([self.item_index[i] for i in basket]).astype(np.int64) for basket in baskets[user]]
            for user in self.users
        ]
        self.names = dict(names or {})
        self.categories = dict(categories or {})

    @property
    def n_items(self) -> int:
        return len(self.items)

    def name(self, index: int) -> str:
        item = self.items[index]
        return self.names.get(item, item)

    def history(self, user: str | None) -> list[np.ndarray]:
        """The customer's baskets, oldest first (none for an unknown customer)."""
        if user is None or user not in self.user_index:
            return []
        return self.baskets[self.user_index[user]]

    def user_items(self) -> sparse.csr_matrix:
        """customers × items: how many baskets of each customer held each item."""
        rows, cols = [], []
        for u, orders in enumerate(self.baskets):
            for basket in orders:
                rows.extend([u] * len(basket))
                cols.extend(basket.tolist())
        data = np.ones(len(rows), dtype=np.float32)
        matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(self.users), self.n_items))
        matrix.sum_duplicates()
        return matrix

    def basket_items(self) -> sparse.csr_matrix:
        """baskets × items, binary (every basket of every customer)."""
        rows, cols, row = [], [], 0
        for orders in self.baskets:
            for basket in orders:
                rows.extend([row] * len(basket))
                cols.extend(basket.tolist())
                row += 1
        data = np.ones(len(rows), dtype=np.float32)
        return sparse.csr_matrix((data, (rows, cols)), shape=(row, self.n_items))


@dataclass(frozen=True)
class Query:
    """Who and what to recommend for: a customer's history (oldest first) and/or seed items, as indices."""

    history: Sequence[np.ndarray] = ()
    seeds: Sequence[int] = ()
    user: str | None = None

    def profile(self, n_items: int, decay: float = 1.0) -> np.ndarray:
        """Seeds if given, else the history: each basket counts decay**age (age 0 = the latest basket)."""
        weights = np.zeros(n_items, dtype=np.float64)
        if self.seeds:
            weights[list(self.seeds)] = 1.0
            return weights
        for age, basket in enumerate(reversed(self.history)):
            weights[basket] += decay**age
        return weights


def contributing_seed(data: Interactions, query: Query, item: int, similarity: Callable[[int, int], float]) -> str:
    """The name of the seed (or history item) most similar to item: what a reason refers to."""
    profile = query.profile(data.n_items)
    candidates = [int(i) for i in np.flatnonzero(profile) if i != item]
    if not candidates:
        return "your earlier orders"
    best = max(candidates, key=lambda seed: (similarity(seed, item) * profile[seed], -seed))
    return data.name(best)


class Recommender(ABC):
    """Fit once on Interactions, then query. Subclasses implement `fit`, `scores` and `explain`."""

    name: str = "recommender"
    repeats_ok: bool = False  # may suggest what the customer has just bought (buy again)

    data: Interactions

    @abstractmethod
    def fit(self, data: Interactions) -> Recommender:
        """Learn from every customer's baskets; returns self."""

    @abstractmethod
    def scores(self, query: Query) -> np.ndarray:
        """One non-negative score per item of the fitted vocabulary (0 = no opinion)."""

    @abstractmethod
    def explain(self, query: Query, item: int) -> str:
        """A short reason for suggesting item to this query."""

    def query(self, user: str | None = None, items: Iterable[str] = ()) -> Query:
        seeds = [self.data.item_index[i] for i in items if i in self.data.item_index]
        return Query(history=self.data.history(user), seeds=seeds, user=user)

    def recommend(
        self,
        user: str | None = None,
        items: Iterable[str] = (),
        *,
        k: int = 10,
        exclude: Collection[str] = (),
        available: Callable[[str], bool] | None = None,
        exclude_recent: bool = True,
    ) -> list[Recommendation]:
        """The top-k items for a customer and/or seed items, best first.

        Never the seeds themselves, anything in `exclude`, or an item `available` says is unavailable; nor,
        with exclude_recent, what is in the customer's latest basket (unless this backend suggests repeats).
        """
        query = self.query(user, items)
        scores = np.asarray(self.scores(query), dtype=np.float64).copy()
        banned = set(query.seeds) | {self.data.item_index[i] for i in exclude if i in self.data.item_index}
        if exclude_recent and not self.repeats_ok and query.history:
            banned.update(query.history[-1].tolist())
        if banned:
            scores[list(banned)] = 0.0
        order = np.lexsort((np.arange(len(scores)), -scores))  # best first; ties by vocabulary order
        picked: list[Recommendation] = []
        for index in order:
            if scores[index] <= 0 or len(picked) >= k:
                break
            item = self.data.items[index]
            if available is not None and not available(item):
                continue
            picked.append(Recommendation(item, float(scores[index]), self.explain(query, int(index)), self.name))
        return picked
