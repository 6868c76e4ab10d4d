"""Buy again: the customer's own repeat purchases, more recent baskets counting more (decay per basket)."""

from __future__ import annotations

import numpy as np

from .base import Interactions, Query, Recommender


class BuyAgain(Recommender):
    """Items the customer bought at least `min_purchases` times, of goods that people re-buy.

    decay=1.0 is plain repurchase frequency; below 1 the latest baskets weigh more. min_repeat_rate keeps
    to repeat-purchase goods: the share of an item's buyers who bought it in more than one basket.
    """

    name = "buy_again"
    repeats_ok = True

    def __init__(self, decay: float = 1.0, min_purchases: int = 1, min_repeat_rate: float = 0.0) -> None:
        self.decay = decay
        self.min_purchases = min_purchases
        self.min_repeat_rate = min_repeat_rate

    def fit(self, data: Interactions) -> BuyAgain:
        self.data = data
        counts = data.user_items()
        buyers = np.asarray((counts > 0).sum(axis=0), dtype=np.float64).ravel()
        repeaters = np.asarray((counts > 1).sum(axis=0), dtype=np.float64).ravel()
        self.repeat_rate = np.divide(repeaters, buyers, out=np.zeros_like(buyers), where=buyers > 0)
        # A whisker of popularity breaks ties between equally frequent items, deterministically.
        self.tiebreak = 1e-6 * buyers / max(buyers.max(initial=0.0), 1.0)
        return self

    def scores(self, query: Query) -> np.ndarray:
        times = Query(history=query.history).profile(self.data.n_items)  # purchases, whatever the seeds
        weighted = Query(history=query.history).profile(self.data.n_items, self.decay)
        keep = (times >= self.min_purchases) & (self.repeat_rate >= self.min_repeat_rate) & (times > 0)
        return np.where(keep, weighted + self.tiebreak, 0.0)

    def explain(self, query: Query, item: int) -> str:
        times = Query(history=query.history).profile(self.data.n_items)[item]
        return "you buy this regularly" if times >= 2 else "you bought this before"
