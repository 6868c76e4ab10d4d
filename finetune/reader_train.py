"""Train the reader's classifiers on the train phrasings and report them on the dev phrasings (never on the
test-only sets, which `shopagent eval understanding` reads)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agent.reader import embedding
from agent.reader.model import HEADS, ReaderModel, fit
from finetune.reader_data import Labelled, reader_examples
from tools.retail.loader import DEMO_STORE_JSON

EMBED_WEIGHT = 1.0  # the sentence embedding's scale beside the unit-length n-gram vectors (best of 0, 1, 2 on dev)
CONTEXT_WEIGHT = 0.0  # the agent's last question, one column per question (0: not a feature; see docs/evals.md)


def _labels(examples: list[Labelled]) -> dict[str, list[str]]:
    return {head: [getattr(e, head) for e in examples] for head in HEADS}


def accuracy(model: ReaderModel, examples: list[Labelled], embedder: Any = None) -> dict[str, float]:
    predicted = model.predict([e.text for e in examples], embedder, [e.context for e in examples])
    return {head: sum(p[head][0] == getattr(e, head) for p, e in zip(predicted, examples, strict=True))
            / max(1, len(examples)) for head in HEADS}


def train_reader(out: Path, data_dir: Path | None, *, embeddings: bool = True, seed: int = 7) -> dict[str, Any]:
    """Fit the heads on the train split, measure them on dev, write the model and its card figures."""
    started = time.perf_counter()
    train = reader_examples("train", DEMO_STORE_JSON, data_dir, seed)
    dev = reader_examples("dev", DEMO_STORE_JSON, data_dir, seed + 1)
    embedder = None
    if embeddings:
        from agent.reader.embedding import SentenceEmbedder

        embedder = SentenceEmbedder()
    model = fit([e.text for e in train], _labels(train), embedder=embedder, embed_weight=EMBED_WEIGHT,
                contexts=[e.context for e in train], context_weight=CONTEXT_WEIGHT,
                meta={"seed": seed, "train_examples": len(train), "dev_examples": len(dev),
                      "embedding": embedding.NAME, "embedding_dim": embedding.DIM})
    summary = {
        "train_examples": len(train),
        "dev_examples": len(dev),
        "requests": dict(Counter(e.request for e in train)),
        "dev_accuracy": accuracy(model, dev, embedder),
        "embeddings": bool(embedder),
        "seconds": round(time.perf_counter() - started, 1),
    }
    model.meta.update(summary)
    model.save(out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
