"""Which of the catalogue's products a message names, in any language the multilingual encoder reads: "蓝牙音箱"
names the Bluetooth Speaker without sharing a word with it. The chat uses it to tell a product search from small
talk when the words are not the catalogue's own (agent/searching.py)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .multilingual import MultilingualEncoder

# Cosine between a message and a product name. Chosen on the Chinese chat-search dev queries (product words
# alone: 0.38 to 0.81; those lower carry an option or a price, which make them searches anyway) against 30 Chinese
# messages about orders, greetings and thanks (0.09 to 0.33; see tests/test_zh_search.py).
NAMES_MIN = 0.40


class ProductNames:
    def __init__(self, titles: Iterable[str], encoder: MultilingualEncoder) -> None:
        self.titles = sorted(set(titles))
        self.encoder = encoder
        self.vectors = encoder.encode(self.titles)

    def named(self, text: str, threshold: float = NAMES_MIN) -> list[str]:
        """The product names the text is about, most similar first (none for "我要退货")."""
        if not self.titles or not text.strip():
            return []
        sims = self.vectors @ self.encoder.encode_query(text)
        order = np.argsort(-sims, kind="stable")
        return [self.titles[i] for i in order.tolist() if sims[i] >= threshold]
