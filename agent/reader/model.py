"""The reader's learned part: classifiers that read a message's request, move and cancel reason.

Features are character n-grams (robust to typos, and they read Chinese characters as well as English words) and a
multilingual sentence embedding (agent/reader/embedding.py: meaning beyond the words seen in training). Every
head is a logistic regression: trained in seconds on 2 cores, read in about a millisecond, calibrated enough that
a low probability can mean "no request" rather than a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agent.reader import extract
from agent.reader.acts import Context

HEADS = ("request", "move", "reason")
NONE = "none"
CONTEXTS = [NONE, *(c.value for c in Context)]  # one column each: the agent's last question, or none

# Values are copied by the extractors; the classifiers see their kind only, so no id is learned as a word.
# (The order-id spelling here is the one the shipped heads were trained with: narrower than extract.ORDER_ID, which
# also takes "order number 1234567" whole.)
_PLACEHOLDERS = [
    (extract.EMAIL, " emailaddress "),
    (re.compile(r"(?:#\s*)?\bw\s*(?:-\s*)?\d{7}\b|#\s*\d{7}\b", re.I), " orderid "),  # linear: no overlapping runs
    (extract.ITEM_ID, " itemid "),
    (re.compile(r"\d+(?:\.\d+)?"), " 0 "),
]


def normalise(text: str) -> str:
    """Full-width forms folded (＃Ｗ１２３ is #W123), lower case, values replaced by their kind."""
    text = extract.fold(text).lower()
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass
class ReaderModel:
    """Feature makers and one classifier per head; `embed` is None when trained without the sentence encoder."""

    chars: Any  # a fitted TfidfVectorizer over character n-grams
    words: Any  # a fitted TfidfVectorizer over word uni- and bigrams
    heads: dict[str, Any]  # head name -> fitted LogisticRegression
    embed_weight: float = 0.0  # 0: no embeddings
    meta: dict[str, Any] = field(default_factory=dict)
    context_weight: float = 0.0  # 0: trained without the agent's last question

    def features(self, texts: Sequence[str], embedder: Any = None, contexts: Sequence[str | None] | None = None) -> Any:
        from scipy.sparse import csr_matrix, hstack

        cleaned = [normalise(t) for t in texts]
        parts = [self.chars.transform(cleaned), self.words.transform(cleaned)]
        if self.embed_weight:
            dim = int(self.meta.get("embedding_dim", 512))
            vectors = embedder.encode(list(texts)) if embedder is not None else np.zeros((len(texts), dim))
            parts.append(csr_matrix(np.asarray(vectors, dtype=np.float32) * self.embed_weight))
        if self.context_weight:
            parts.append(csr_matrix(_one_hot(contexts or [None] * len(texts)) * self.context_weight))
        return hstack(parts, format="csr")

    def predict(self, texts: Sequence[str], embedder: Any = None,
                contexts: Sequence[str | None] | None = None) -> list[dict[str, tuple[str, float]]]:
        """For each text (read after the agent's question `contexts[i]`) and head: the best label, its probability."""
        matrix = self.features(texts, embedder, contexts)
        out: list[dict[str, tuple[str, float]]] = [{} for _ in texts]
        for name, head in self.heads.items():
            probabilities = head.predict_proba(matrix)
            for row, probs in zip(out, probabilities, strict=True):
                best = int(np.argmax(probs))
                row[name] = (str(head.classes_[best]), float(probs[best]))
        return out

    def save(self, path: Path) -> None:
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)

    @staticmethod
    def load(path: Path) -> ReaderModel:
        import joblib

        model = joblib.load(path)
        if not isinstance(model, ReaderModel):
            raise TypeError(f"{path} holds no reader model")
        return model


def _one_hot(contexts: Sequence[str | None]) -> np.ndarray:
    matrix = np.zeros((len(contexts), len(CONTEXTS)), dtype=np.float32)
    for row, context in enumerate(contexts):
        matrix[row, CONTEXTS.index(context if context in CONTEXTS else NONE)] = 1.0
    return matrix


def fit(texts: Sequence[str], labels: dict[str, Sequence[str]], *, embedder: Any = None, embed_weight: float = 0.0,
        c: float = 8.0, meta: dict[str, Any] | None = None, contexts: Sequence[str | None] | None = None,
        context_weight: float = 0.0) -> ReaderModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    cleaned = [normalise(t) for t in texts]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True, max_features=60000)
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                            token_pattern=r"(?u)\b\w+\b|[^\w\s]")
    chars.fit(cleaned)
    words.fit(cleaned)
    model = ReaderModel(chars, words, {}, embed_weight if embedder is not None else 0.0, meta or {},
                        context_weight if contexts is not None else 0.0)
    matrix = model.features(texts, embedder, contexts)
    for name in HEADS:
        head = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        head.fit(matrix, list(labels[name]))
        model.heads[name] = head
    return model
