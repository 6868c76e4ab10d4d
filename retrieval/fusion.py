"""Weighted reciprocal rank fusion: combines rankings by position, so BM25 scores, cosines and
fuzzy ratios never need calibrating against each other."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

DEFAULT_RRF_K = 60.0


def rrf(
    rankings: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    k: float = DEFAULT_RRF_K,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse rankings (doc indices, best first) into (doc indices, fused scores), best first.

    score(d) = sum over methods m of weight_m / (k + rank_m(d)), rank starting at 1; a method that
    did not rank d contributes nothing. Ties keep the order of first appearance (stable sort).
    """
    parts = [(np.asarray(r, dtype=np.int64), float(weights.get(m, 0.0))) for m, r in rankings.items()]
    parts = [(r, w) for r, w in parts if len(r) and w > 0]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    pool, inverse = np.unique(np.concatenate([r for r, _ in parts]), return_inverse=True)
    scores = np.zeros(len(pool), dtype=np.float64)
    first_seen = np.full(len(pool), np.iinfo(np.int64).max, dtype=np.int64)
    offset = 0
    for ranking, weight in parts:
        pos = inverse[offset:offset + len(ranking)]
        scores[pos] += weight / (k + np.arange(1, len(ranking) + 1))
        first_seen[pos] = np.minimum(first_seen[pos], np.arange(len(ranking)))
        offset += len(ranking)
    order = np.lexsort((first_seen, -scores))
    return pool[order], scores[order]
