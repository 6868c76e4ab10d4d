"""Vector search over L2-normalised embeddings with FAISS (inner product = cosine).

Exact IndexFlatIP below HNSW_THRESHOLD documents, IndexHNSWFlat above. For a single query on the
flat index we score with one BLAS mat-vec over FAISS's own storage (zero-copy view): measured 4.4 ms
vs 9 ms for faiss's nq=1 path on 54k x 384 with 2 cores, and it makes filtering a free mask.

That scan is memory-bound (84 MB per query), so large flat indexes first pick candidates with an
int8 copy of the vectors (21 MB, ORT's integer mat-mul: 1.3 ms) and then rescore the best
RESCORE_FACTOR x k of them exactly in fp32: returned scores are exact cosines, and on Home Depot
(54,667 titles) the top-100 matches exact search for 99.98 % of ids, for 2.1 ms instead of 5.

Filters on HNSW go through faiss's IDSelector so the graph walk skips excluded ids; when only a
small fraction of documents is allowed, the walk would rarely reach them, so that subset is scored
exactly instead.
"""

from __future__ import annotations

import os
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
# Flat indexes at least this big use the int8 candidate pass (smaller ones scan in well under 2 ms).
INT8_MIN_DOCS = 20_000
RESCORE_FACTOR = 3
MIN_RESCORE = 300


class _Int8Scorer:
    """Approximate inner products against int8-quantised vectors (per-dimension symmetric scales).

    x ~= q8 * scale, so x . q ~= q8 . (scale * q): the scale folds into the query and the catalogue
    side is a plain int8 matrix for ORT's MatMulInteger (MLAS u8 x s8 kernels).
    """

    def __init__(self, vectors: np.ndarray, threads: int) -> None:
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper

        n, d = vectors.shape
        scale = (np.abs(vectors).max(axis=0) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        q8 = np.ascontiguousarray(np.round(vectors / scale).astype(np.int8).T)  # [d, n]
        nodes = [
            helper.make_node("Mul", ["q", "scale"], ["qs"]),
            helper.make_node("DynamicQuantizeLinear", ["qs"], ["qq", "qscale", "qzero"]),
            helper.make_node("MatMulInteger", ["qq", "x8", "qzero"], ["acc"]),
            helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["accf", "qscale"], ["scores"]),
        ]
        graph = helper.make_graph(
            nodes, "int8_inner_product",
            [helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, d])],
            [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, n])],
            [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(q8, "x8")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])

    def __call__(self, query: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"q": query.reshape(1, -1).astype(np.float32)})[0][0]


class DenseIndex:
    def __init__(self, index: faiss.Index, int8_min_docs: int = INT8_MIN_DOCS, threads: int | None = None) -> None:
        self.index = index
        self.kind = "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"
        if self.kind == "hnsw":
            index.hnsw.efSearch = max(index.hnsw.efSearch, HNSW_EF_SEARCH)
        storage = faiss.downcast_index(index.storage) if self.kind == "hnsw" else index
        n, d = index.ntotal, index.d
        # Zero-copy view of the stored vectors (kept alive by self.index).
        self.vectors = faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d) if n else np.empty((0, d), "f4")
        self._int8: _Int8Scorer | None = None
        if self.kind == "flat" and n >= int8_min_docs:
            try:
                self._int8 = _Int8Scorer(self.vectors, threads or min(2, os.cpu_count() or 1))
            except Exception:  # an ORT without the integer kernels: exact scan only
                self._int8 = None

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        hnsw_threshold: int = HNSW_THRESHOLD,
        int8_min_docs: int = INT8_MIN_DOCS,
        threads: int | None = None,
    ) -> DenseIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        d = vectors.shape[1]
        if len(vectors) >= hnsw_threshold:
            index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        else:
            index = faiss.IndexFlatIP(d)
        index.add(vectors)
        return cls(index, int8_min_docs, threads)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, int8_min_docs: int = INT8_MIN_DOCS, threads: int | None = None) -> DenseIndex:
        return cls(faiss.read_index(str(path)), int8_min_docs, threads)

    def __len__(self) -> int:
        return self.index.ntotal

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (doc indices, cosine) for one normalised query vector, restricted to mask if given."""
        n = len(self)
        if n == 0 or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        if self.kind == "flat":
            approx = self._int8 is not None and max(RESCORE_FACTOR * k, MIN_RESCORE) < n
            scores = self._int8(query) if approx else self.vectors @ query
            if mask is not None:
                scores = np.where(mask, scores, -np.inf)
            if approx:
                cand, sc = top_k(scores, max(RESCORE_FACTOR * k, MIN_RESCORE))
                cand = cand[np.isfinite(sc)]
                exact = self.vectors[cand] @ query
                order = np.argsort(-exact, kind="stable")[:k]
                return cand[order], exact[order]
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
