"""Vector search over L2-normalised embeddings with FAISS (inner product = cosine).

Exact IndexFlatIP below HNSW_THRESHOLD documents, IndexHNSWFlat above. For a single query on the
flat index we score with one BLAS mat-vec over FAISS's own storage (zero-copy view): measured 4 ms vs
9 ms for faiss's nq=1 path on 54k x 384 with 2 cores, and it makes filtering a free mask. Filters on
HNSW go through faiss's IDSelector so the graph walk skips excluded ids; when only a small fraction
of documents is allowed, the graph walk would rarely reach them, so we score that subset exactly.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from .lexical import top_k

HNSW_THRESHOLD = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# Below this allowed fraction, filtered HNSW search loses recall; exact scoring of the subset is cheap.
HNSW_EXACT_FRACTION = 0.05


class DenseIndex:
    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"
        if self.kind == "hnsw":
            index.hnsw.efSearch = max(index.hnsw.efSearch, HNSW_EF_SEARCH)
        storage = faiss.downcast_index(index.storage) if self.kind == "hnsw" else index
        n, d = index.ntotal, index.d
        # Zero-copy view of the stored vectors (kept alive by self.index).
        self.vectors = faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d) if n else np.empty((0, d), "f4")

    @classmethod
    def build(cls, vectors: np.ndarray, hnsw_threshold: int = HNSW_THRESHOLD) -> DenseIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        d = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(d)
        index.add(vectors)
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> DenseIndex:
        return cls(faiss.read_index(str(path)))

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc indices, cosine) for one normalised query vector, restricted to mask if given."""
        n = len(self)
        if n == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if self.kind == "flat":
            scores = self.vectors @ query
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            idx, sc = top_k(scores, min(k, n))
            keep = np.isfinite(sc)
            return idx[keep], sc[keep]
        if mask is None:
            return self._hnsw(query, k, None)
        allowed = np.flatnonzero(mask)
        if len(allowed) <= max(k, HNSW_EXACT_FRACTION * n):
            sub = self.vectors[allowed] @ query
            order, sc = top_k(sub, min(k, len(allowed)))
            return allowed[order], sc
        bits = np.packbits(mask.astype(bool), bitorder="little")
        sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
        return self._hnsw(query, k, faiss.SearchParametersHNSW(sel=sel, efSearch=max(HNSW_EF_SEARCH, k)))

    def _hnsw(self, query: np.ndarray, k: int, params) -> tuple[np.ndarray, np.ndarray]:
        if params is None:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
        sc, idx = self.index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = idx[0] >= 0
        return idx[0][keep].astype(np.int64), sc[0][keep]

    def search_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Unfiltered batch search (FAISS's BLAS path): for benchmarks and bulk jobs. Returns (idx, scores)."""
        sc, idx = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, len(self)))
        return idx, sc
