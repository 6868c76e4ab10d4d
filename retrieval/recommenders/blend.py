"""A weighted blend of the backends; its weights come from the recommender benchmark's grid search
(evals/suites/recommender.py, validation split), saved in blend_weights.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .als import ImplicitALS
from .base import Interactions, Query, Recommender
from .buy_again import BuyAgain
from .content import ContentSimilarity, Embed
from .copurchase import CoPurchase
from .popularity import Popularity

WEIGHTS_FILE = Path(__file__).with_name("blend_weights.json")
DEFAULT_SETTINGS: dict[str, Any] = {
    "weights": {"buy_again": 1.0, "copurchase": 0.25, "als": 0.25, "content": 0.1, "popularity": 0.05},
    "decay": 0.9,
}


def normalised(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the query's best score, so that backends on different scales can be added."""
    top = float(scores.max(initial=0.0))
    return scores / top if top > 0 else scores


class Blend(Recommender):
    """Σ weight × score / max score over the backends; the reason is that of the largest contribution."""

    name = "blend"

    def __init__(self, components: Mapping[str, Recommender], weights: Mapping[str, float]) -> None:
        self.components = {name: r for name, r in components.items() if weights.get(name, 0.0) > 0}
        self.weights = {name: float(weights[name]) for name in self.components}

    def fit(self, data: Interactions) -> Blend:
        self.data = data
        for component in self.components.values():
            component.fit(data)
        return self

    def contributions(self, query: Query) -> dict[str, np.ndarray]:
        return {name: self.weights[name] * normalised(r.scores(query)) for name, r in self.components.items()}

    def scores(self, query: Query) -> np.ndarray:
        parts = self.contributions(query)
        return sum(parts.values(), np.zeros(self.data.n_items))

    def decisive(self, query: Query, item: int) -> Recommender:
        parts = self.contributions(query)
        best = max(parts, key=lambda name: (parts[name][item], name))
        return self.components[best]

    def explain(self, query: Query, item: int) -> str:
        return self.decisive(query, item).explain(query, item)


def tuned_settings(path: Path = WEIGHTS_FILE) -> dict[str, Any]:
    """The benchmark's chosen weights and decay (defaults before it has run)."""
    try:
        saved = json.loads(path.read_text())
        return {"weights": dict(saved["weights"]), "decay": float(saved.get("decay", 1.0))}
    except (OSError, ValueError, KeyError):
        return {"weights": dict(DEFAULT_SETTINGS["weights"]), "decay": DEFAULT_SETTINGS["decay"]}


def components(
    *,
    decay: float = 1.0,
    embeddings: Mapping[str, np.ndarray] | Embed | None = None,
    seed: int = 13,
    threads: int = 1,
    min_purchases: int = 1,
) -> dict[str, Recommender]:
    """One of each backend (content only with embeddings)."""
    made: dict[str, Recommender] = {
        "buy_again": BuyAgain(decay=decay, min_purchases=min_purchases),
        "copurchase": CoPurchase(decay=decay),
        "als": ImplicitALS(seed=seed, threads=threads),
        "popularity": Popularity(),
    }
    if embeddings is not None:
        made["content"] = ContentSimilarity(embeddings, decay=decay)
    return made


def tuned_blend(
    *,
    embeddings: Mapping[str, np.ndarray] | Embed | None = None,
    seed: int = 13,
    path: Path = WEIGHTS_FILE,
    min_purchases: int = 1,
) -> Blend:
    """The benchmark's blend; min_purchases=2 keeps "buy again" to goods the customer has re-bought."""
    settings = tuned_settings(path)
    made = components(decay=settings["decay"], embeddings=embeddings, seed=seed, min_purchases=min_purchases)
    return Blend(made, settings["weights"])
