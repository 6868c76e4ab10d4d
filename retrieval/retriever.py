"""HybridRetriever: BM25 + dense + fuzzy candidates fused by weighted RRF, under hard filters,
persisted to an index directory that is rebuilt when the catalogue or the model changes."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .dense import HNSW_THRESHOLD, DenseIndex
from .documents import Document, catalogue_hash
from .encoder import Backend, Encoder
from .filters import ALT, FilterIndex, ParsedQuery, QueryParser, SearchFilters
from .fusion import DEFAULT_RRF_K, rrf
from .fuzzy import IdMatcher, TypoCorrector, fuzzy_scores
from .lexical import LexicalIndex, raw_words, stem, tokenize

log = logging.getLogger(__name__)

# Bump when anything persisted changes meaning (tokeniser, BM25 parameters, file layout).
FORMAT_VERSION = 1
WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
METHODS = ("bm25", "dense", "fuzzy")
Method = Literal["bm25", "dense", "fuzzy", "hybrid"]


class StaleIndexError(RuntimeError):
    """The persisted index was built from another catalogue, model or format version."""


def _default_weights() -> dict[str, float]:
    """Weights chosen by `evals.retrieval_benchmark --tune` (fallback: equal BM25/dense, half fuzzy)."""
    try:
        return {m: float(w) for m, w in json.loads(WEIGHTS_FILE.read_text())["weights"].items()}
    except (OSError, ValueError, KeyError):
        return {"bm25": 1.0, "dense": 1.0, "fuzzy": 0.5}


class RetrieverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(default_factory=_default_weights)
    rrf_k: float = DEFAULT_RRF_K
    candidate_depth: int = 100  # per-method depth of the pool that fusion and fuzzy scoring see
    typo_correction: bool = True
    # Drop a parsed (never an explicit) option constraint that the query's best-matching product
    # cannot satisfy: "LED light bulb" must not become skin tone=light, "electric kettle" type=electric.
    relax_parsed_options: bool = True
    hnsw_threshold: int = HNSW_THRESHOLD
    encoder_backend: Backend = "auto"
    encoder_threads: int | None = None
    encoder_cache_dir: Path | None = None  # ONNX export cache; None = ~/.cache/shopagent/onnx
    embedding_cache_dir: Path | None = None  # document embeddings by catalogue hash; None = no cache
    batch_size: int = 64


class SearchHit(BaseModel):
    doc: Document
    score: float  # fused RRF score (id matches come first regardless)
    ranks: dict[str, int | None]  # 1-based rank per method within the candidate pool
    id_match: bool = False


class SearchResponse(BaseModel):
    query: str  # as given
    query_used: str  # after removing price/stock phrases and correcting typos
    filters: SearchFilters  # what every hit satisfies
    hits: list[SearchHit]
    corrections: dict[str, str] = Field(default_factory=dict)
    relaxed_options: dict[str, str] = Field(default_factory=dict)  # parsed constraints dropped


class HybridRetriever:
    def __init__(
        self,
        docs: Sequence[Document],
        dense: DenseIndex,
        lexical: LexicalIndex,
        words: TypoCorrector,
        encoder: Encoder,
        config: RetrieverConfig,
        manifest: dict,
    ) -> None:
        self.docs = list(docs)
        self.dense = dense
        self.lexical = lexical
        self.typos = words
        self.encoder = encoder
        self.config = config
        self.manifest = manifest
        self.built = False  # True when this instance encoded the catalogue (not loaded from disk)
        self.filter_index = FilterIndex(self.docs)
        self.parser = QueryParser(self.filter_index)
        self.ids = IdMatcher(self.docs)
        self._texts = [d.text for d in self.docs]
        self._pos = {d.doc_id: i for i, d in enumerate(self.docs)}
        by_product: dict[str, list[int]] = {}
        for i, doc in enumerate(self.docs):
            by_product.setdefault(doc.product_id, []).append(i)
        self._by_product = {p: np.array(ix, dtype=np.int64) for p, ix in by_product.items()}

    # ------------------------------------------------------------------ building and persistence

    @classmethod
    def open(
        cls,
        docs: Sequence[Document],
        index_dir: Path,
        config: RetrieverConfig | None = None,
        encoder: Encoder | None = None,
    ) -> HybridRetriever:
        """Load the index in index_dir if it matches docs and the model; otherwise build and save it."""
        config = config or RetrieverConfig()
        encoder = encoder or _encoder(config)
        digest = catalogue_hash(docs)
        if (Path(index_dir) / "manifest.json").exists():
            try:
                return cls.load(docs, index_dir, config, encoder, _digest=digest)
            except StaleIndexError as exc:
                log.warning("rebuilding retrieval index in %s: %s", index_dir, exc)
        else:
            log.info("no retrieval index in %s; building one", index_dir)
        retriever = cls.build(docs, config, encoder, _digest=digest)
        retriever.save(index_dir)
        return retriever

    @classmethod
    def build(
        cls,
        docs: Sequence[Document],
        config: RetrieverConfig | None = None,
        encoder: Encoder | None = None,
        *,
        _digest: str | None = None,
    ) -> HybridRetriever:
        config = config or RetrieverConfig()
        encoder = encoder or _encoder(config)
        digest = _digest or catalogue_hash(docs)
        start = time.perf_counter()
        texts = [d.text for d in docs]
        vectors, encode_seconds = _cached_embeddings(texts, digest, encoder, config)
        dense = DenseIndex.build(vectors, config.hnsw_threshold)
        lexical = LexicalIndex.build(texts, show_progress=len(texts) > 10_000)
        words = TypoCorrector.from_texts(texts, encoder.whole_words())
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_name": encoder.model_name,
            "model_hash": encoder.model_hash,
            "catalogue_hash": digest,
            "doc_count": len(docs),
            "index_type": dense.kind,
            "build_seconds": round(time.perf_counter() - start, 3),
            "encode_seconds": None if encode_seconds is None else round(encode_seconds, 3),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        retriever = cls(docs, dense, lexical, words, encoder, config, manifest)
        retriever.built = True
        log.info("built retrieval index: %d docs, %s, %.1fs", len(docs), dense.kind, manifest["build_seconds"])
        return retriever

    def save(self, index_dir: Path) -> None:
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        self.dense.save(index_dir / "dense.faiss")
        self.lexical.save(index_dir / "bm25")
        (index_dir / "doc_ids.json").write_text(json.dumps([d.doc_id for d in self.docs]))
        (index_dir / "vocab.json").write_text(json.dumps(self.typos.freq))
        # The manifest goes last: a crash mid-save leaves no manifest, hence no half index to load.
        (index_dir / "manifest.json").write_text(json.dumps(self.manifest, indent=2))

    @classmethod
    def load(
        cls,
        docs: Sequence[Document],
        index_dir: Path,
        config: RetrieverConfig | None = None,
        encoder: Encoder | None = None,
        *,
        _digest: str | None = None,
    ) -> HybridRetriever:
        """Load a persisted index for docs; StaleIndexError if it was built from something else."""
        config = config or RetrieverConfig()
        index_dir = Path(index_dir)
        try:
            manifest = json.loads((index_dir / "manifest.json").read_text())
        except (OSError, ValueError) as exc:
            raise StaleIndexError(f"no readable manifest in {index_dir}: {exc}") from exc
        encoder = encoder or _encoder(config)
        checks = {
            "format_version": FORMAT_VERSION,
            "model_hash": encoder.model_hash,
            "catalogue_hash": _digest or catalogue_hash(docs),
            "doc_count": len(docs),
        }
        for key, expected in checks.items():
            if manifest.get(key) != expected:
                raise StaleIndexError(
                    f"index in {index_dir} is stale: {key} is {manifest.get(key)!r}, expected {expected!r}"
                )
        dense = DenseIndex.load(index_dir / "dense.faiss")
        lexical = LexicalIndex.load(index_dir / "bm25")
        words = TypoCorrector(json.loads((index_dir / "vocab.json").read_text()), encoder.whole_words())
        if len(dense) != len(docs) or lexical.num_docs != len(docs):
            raise StaleIndexError(f"index files in {index_dir} do not match the manifest")
        return cls(docs, dense, lexical, words, encoder, config, manifest)

    # ------------------------------------------------------------------ searching

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, parse: bool = True
    ) -> SearchResponse:
        """Hybrid search. Filters parsed from the query merge under explicit ones; all are hard
        constraints (a parsed option constraint may be relaxed, see RetrieverConfig)."""
        return self._search(query, k, filters, parse)

    def _search(
        self,
        query: str,
        k: int,
        filters: SearchFilters | None,
        parse: bool,
        query_vector: np.ndarray | None = None,
        depth: int | None = None,
    ) -> SearchResponse:
        parsed = self.parser.parse(query) if parse else ParsedQuery(SearchFilters(), query.strip())
        explicit = filters or SearchFilters()
        merged = explicit.merged_over(parsed.filters)
        text, corrections = self._correct(parsed.text)
        id_hits = self.ids.match(query)
        depth = max(depth or self.config.candidate_depth, k)

        if not text.strip() and not id_hits:
            return self._browse(query, k, merged, corrections)

        terms = tokenize(text)
        qvec = query_vector if query_vector is not None else self.encoder.encode_query(text)
        parsed_keys = [key for key in merged.options if key not in explicit.options]
        relaxed: dict[str, str] = {}
        if parsed_keys and self.config.relax_parsed_options:
            base = merged.model_copy(update={"options": {
                key: val for key, val in merged.options.items() if key not in parsed_keys
            }})
            order, _, _ = self._rank(text, terms, qvec, self.filter_index.mask(base), id_hits, depth)
            if len(order):
                variants = self._by_product[self.docs[order[0]].product_id]
                for key in parsed_keys:
                    if not self.filter_index.option_mask(key, merged.options[key])[variants].any():
                        relaxed[key] = merged.options[key]
                merged = merged.model_copy(update={"options": {
                    key: val for key, val in merged.options.items() if key not in relaxed
                }})

        mask = self.filter_index.mask(merged)
        order, scores, rankings = self._rank(text, terms, qvec, mask, id_hits, depth)
        pinned = [i for i in id_hits if mask is None or mask[i]]
        if pinned:
            rest = ~np.isin(order, pinned)
            top = max(scores[0], 0.0) if len(scores) else 0.0
            order = np.concatenate([np.array(pinned, dtype=np.int64), order[rest]])
            scores = np.concatenate([np.full(len(pinned), top), scores[rest]])
        order, scores = order[:k], scores[:k]
        rank_of = {m: {int(d): r for r, d in enumerate(rk.tolist(), 1)} for m, rk in rankings.items()}
        hits = [
            SearchHit(
                doc=self.docs[i],
                score=float(s),
                ranks={m: rank_of[m].get(int(i)) for m in rank_of},
                id_match=int(i) in pinned,
            )
            for i, s in zip(order.tolist(), scores.tolist(), strict=True)
        ]
        return SearchResponse(
            query=query, query_used=text, filters=merged, hits=hits,
            corrections=corrections, relaxed_options=relaxed,
        )

    def _correct(self, text: str) -> tuple[str, dict[str, str]]:
        if not self.config.typo_correction:
            return text, {}
        known = {w for w in raw_words(text) if stem(w) in self.lexical.vocab}
        return self.typos.correct(text, known)

    def rankings(
        self, text: str, terms: Sequence[str], qvec: np.ndarray, mask: np.ndarray | None,
        extra: Sequence[int] = (), depth: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Per-method rankings (doc indices, best first) over the candidate pool."""
        depth = depth or self.config.candidate_depth
        bm25, _ = self.lexical.search(terms, depth, mask)
        dense, _ = self.dense.search(qvec, depth, mask)
        pool = np.unique(np.concatenate([bm25, dense, np.asarray(extra, dtype=np.int64)]))
        if mask is not None:
            pool = pool[mask[pool]]
        fz = fuzzy_scores(text, [self._texts[i] for i in pool.tolist()])
        keep = fz > 0
        fuzzy = pool[keep][np.argsort(-fz[keep], kind="stable")]
        return {"bm25": bm25, "dense": dense, "fuzzy": fuzzy}

    def _rank(self, text, terms, qvec, mask, extra, depth):
        rankings = self.rankings(text, terms, qvec, mask, extra, depth)
        order, scores = rrf(rankings, self.config.weights, self.config.rrf_k)
        return order, scores, rankings

    def _browse(self, query: str, k: int, filters: SearchFilters, corrections: dict) -> SearchResponse:
        """A query with no words left ("under $50"): the allowed items in catalogue order."""
        mask = self.filter_index.mask(filters)
        if mask is None:
            idx: list[int] = []
        else:
            idx = np.flatnonzero(mask)[:k].tolist()
        hits = [SearchHit(doc=self.docs[i], score=0.0, ranks=dict.fromkeys(METHODS)) for i in idx]
        return SearchResponse(query=query, query_used="", filters=filters, hits=hits, corrections=corrections)

    def search_method(self, query: str, method: Method, k: int = 10) -> list[Document]:
        """Top-k documents by one method alone (benchmarks). fuzzy scores the whole catalogue: slow."""
        if method == "hybrid":
            return [h.doc for h in self.search(query, k).hits]
        idx = self.method_indices(query, method, k)
        return [self.docs[i] for i in idx]

    def method_indices(self, query: str, method: str, k: int, query_vector: np.ndarray | None = None) -> np.ndarray:
        parsed = self.parser.parse(query)
        mask = self.filter_index.mask(parsed.filters)
        text, _ = self._correct(parsed.text)
        if method == "bm25":
            return self.lexical.search(tokenize(text), k, mask)[0]
        if method == "dense":
            qvec = query_vector if query_vector is not None else self.encoder.encode_query(text)
            return self.dense.search(qvec, k, mask)[0]
        if method == "fuzzy":
            scores = fuzzy_scores(text, self._texts)
            if mask is not None:
                scores = np.where(mask, scores, 0)
            from .lexical import top_k

            return top_k(scores, k, positive_only=True)[0]
        if method == "hybrid":
            hits = self._search(query, k, None, True, query_vector=query_vector).hits
            return np.array([self._pos[h.doc.doc_id] for h in hits], dtype=np.int64)
        raise ValueError(f"unknown method {method!r}; expected one of bm25, dense, fuzzy, hybrid")


def _encoder(config: RetrieverConfig) -> Encoder:
    return Encoder(cache_dir=config.encoder_cache_dir, backend=config.encoder_backend, threads=config.encoder_threads)


def _cached_embeddings(
    texts: Sequence[str], digest: str, encoder: Encoder, config: RetrieverConfig
) -> tuple[np.ndarray, float | None]:
    """Encode the catalogue (and the seconds it took; None when reused from the cache)."""
    path = None
    if config.embedding_cache_dir is not None:
        path = Path(config.embedding_cache_dir) / f"emb-{digest[:16]}-{encoder.model_hash[:12]}.npy"
        if path.exists():
            vectors = np.load(path)
            if vectors.shape == (len(texts), 384):
                log.info("reusing cached embeddings %s", path)
                return vectors, None
    start = time.perf_counter()
    vectors = encoder.encode(texts, batch_size=config.batch_size, progress=len(texts) > 1000)
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors, seconds


__all__ = [
    "ALT",
    "HybridRetriever",
    "RetrieverConfig",
    "SearchHit",
    "SearchResponse",
    "StaleIndexError",
]
