"""Recommenders with one interface and interchangeable backends (one file each), in the spirit of `implicit`.

    data = Interactions({"ann": [["milk", "bread"], ["milk", "eggs"]], ...}, names={...})
    model = CoPurchase().fit(data)
    model.recommend(items=["milk"], k=5, available=lambda item: in_stock[item])
"""

from .als import ImplicitALS
from .base import Interactions, Query, Recommendation, Recommender
from .blend import Blend, components, tuned_blend, tuned_settings
from .buy_again import BuyAgain
from .content import ContentSimilarity
from .copurchase import CoPurchase
from .popularity import Popularity

__all__ = [
    "Blend",
    "BuyAgain",
    "CoPurchase",
    "ContentSimilarity",
    "ImplicitALS",
    "Interactions",
    "Popularity",
    "Query",
    "Recommendation",
    "Recommender",
    "components",
    "tuned_blend",
    "tuned_settings",
]
