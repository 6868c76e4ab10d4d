"""HybridRetriever: BM25 + dense + fuzzy candidates fused by weighted RRF, under hard filters,
persisted to an index directory that is rebuilt when the catalogue or the model changes.

Across languages: a second dense index, built with a multilingual encoder over the same item texts, ranks the
items for a query written in Chinese (whatever the catalogue's language); such a query is fused with weights of its
own, since the English-only MiniLM index and the fuzzy matcher have little to say about Chinese words."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .dense import HNSW_THRESHOLD, INT8_MIN_DOCS, DenseIndex
from .documents import Document, catalogue_hash
from .encoder import Backend, Encoder
from .filters import FilterIndex, ParsedQuery, QueryParser, SearchFilters
from .fusion import DEFAULT_RRF_K, rrf
from .fuzzy import IdMatcher, TypoCorrector, fuzzy_scores, normalise
from .language import has_han
from .lexical import LexicalIndex, raw_words, stem, tokenize, top_k
from .multilingual import MultilingualEncoder
from .multilingual import model_hash as multilingual_hash
from .product_names import ProductNames

log = logging.getLogger(__name__)

# Bump when anything persisted changes meaning (tokeniser, BM25 parameters, file layout).
FORMAT_VERSION = 4
WEIGHTS_FILE = Path(__file__).with_name("fusion_weights.json")
METHODS = ("bm25", "dense", "fuzzy", "multilingual")
Method = Literal["bm25", "dense", "fuzzy", "multilingual", "hybrid"]
# Fusion weights for a query with Chinese in it, chosen on the Chinese chat-search dev queries (never on the
# benchmark's; docs/evals.md): the multilingual ranking leads; BM25 still meets Latin words ("RGB", "HomeKit") and
# Chinese catalogue text; MiniLM reads Chinese as noise.
CHINESE_WEIGHTS = {"bm25": 1.0, "dense": 0.0, "fuzzy": 0.5, "multilingual": 2.0}
# Catalogues up to this size get the multilingual index by default (encoding: ~400 item texts/s on one core).
MULTILINGUAL_AUTO_MAX_DOCS = 20_000


class StaleIndexError(RuntimeError):
    """The persisted index was built from another catalogue, model or format version."""


def _tuned() -> dict:
    """Fusion settings chosen by `evals.retrieval_benchmark --tune` (fallback: untuned RRF)."""
    try:
        return json.loads(WEIGHTS_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _default_weights() -> dict[str, float]:
    weights = _tuned().get("weights") or {"bm25": 1.0, "dense": 1.0, "fuzzy": 1.0}
    return {m: float(w) for m, w in weights.items()}


def _default_rrf_k() -> float:
    return float(_tuned().get("rrf_k", DEFAULT_RRF_K))


class RetrieverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(default_factory=_default_weights)
    rrf_k: float = Field(default_factory=_default_rrf_k)
    candidate_depth: int = 100  # per-method depth of the pool that fusion and fuzzy scoring see
    typo_correction: bool = True
    # Drop a parsed (never an explicit) option constraint that the query's best-matching product
    # cannot satisfy: "LED light bulb" must not become skin tone=light, "electric kettle" type=electric.
    relax_parsed_options: bool = True
    hnsw_threshold: int = HNSW_THRESHOLD
    # Flat indexes this large pick dense candidates with int8 vectors, then rescore exactly (dense.py).
    int8_min_docs: int = INT8_MIN_DOCS
    encoder_backend: Backend = "auto"
    # The multilingual index: "auto" builds it for catalogues up to MULTILINGUAL_AUTO_MAX_DOCS items.
    multilingual: Literal["auto", "on", "off"] = "auto"
    chinese_weights: dict[str, float] = Field(default_factory=lambda: dict(CHINESE_WEIGHTS))
    # Intra-op threads of the query-time ORT sessions (encoder, int8 scorer); None = min(2, cpus).
    threads: int | None = None
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


@dataclass
class PreparedQuery:
    """A query after parsing and typo correction, ready for the rankers."""

    query: str
    text: str  # what is ranked: price/stock phrases removed, typos fixed
    terms: list[str]  # BM25 terms of text
    filters: SearchFilters  # explicit merged over parsed
    parsed_option_keys: list[str]  # option constraints that came from the text (may be relaxed)
    corrections: dict[str, str]
    id_hits: list[int]  # documents whose id was pasted into the query
    vector: np.ndarray | None = None
    ml_vector: np.ndarray | None = None  # the multilingual encoder's, for a Chinese query

    @property
    def chinese(self) -> bool:
        return has_han(self.query)


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
        multilingual: DenseIndex | None = None,
    ) -> None:
        self.docs = list(docs)
        self.dense = dense
        self.multilingual = multilingual
        self._ml_encoder: MultilingualEncoder | None = None
        self._names: ProductNames | None = None
        # Most items written in Chinese: MiniLM and the fuzzy matcher read nothing of them, whatever the query.
        self._chinese_catalogue = sum(has_han(d.text) for d in self.docs) > len(self.docs) / 2
        self.lexical = lexical
        self.typos = words
        self.encoder = encoder
        self.config = config
        self.manifest = manifest
        self.built = False  # True when this instance encoded the catalogue (not loaded from disk)
        self.filter_index = FilterIndex(self.docs)
        self.parser = QueryParser(self.filter_index)
        self.ids = IdMatcher(self.docs)
        self._titles = {d.title.strip().lower() for d in self.docs}
        self._fuzzy_texts = [normalise(d.text) for d in self.docs]
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
        dense = DenseIndex.build(vectors, config.hnsw_threshold, config.int8_min_docs, config.threads)
        multilingual = _multilingual_index(texts, digest, config)
        lexical = LexicalIndex.build(texts, show_progress=len(texts) > 10_000)
        words = TypoCorrector.from_texts(texts, encoder.whole_words())
        manifest = {
            "format_version": FORMAT_VERSION,
            "model_name": encoder.model_name,
            "model_hash": encoder.model_hash,
            "multilingual_hash": None if multilingual is None else multilingual_hash(),
            "catalogue_hash": digest,
            "doc_count": len(docs),
            "index_type": dense.kind,
            "build_seconds": round(time.perf_counter() - start, 3),
            "encode_seconds": None if encode_seconds is None else round(encode_seconds, 3),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        retriever = cls(docs, dense, lexical, words, encoder, config, manifest, multilingual)
        retriever.built = True
        log.info("built retrieval index: %d docs, %s, %.1fs", len(docs), dense.kind, manifest["build_seconds"])
        return retriever

    def save(self, index_dir: Path) -> None:
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        self.dense.save(index_dir / "dense.faiss")
        if self.multilingual is not None:
            self.multilingual.save(index_dir / "multilingual.faiss")
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
            "multilingual_hash": multilingual_hash() if _wants_multilingual(config, len(docs)) else None,
        }
        for key, expected in checks.items():
            if manifest.get(key) != expected:
                raise StaleIndexError(
                    f"index in {index_dir} is stale: {key} is {manifest.get(key)!r}, expected {expected!r}"
                )
        dense = DenseIndex.load(index_dir / "dense.faiss", config.int8_min_docs, config.threads)
        multilingual = None
        if manifest["multilingual_hash"] is not None:
            multilingual = DenseIndex.load(index_dir / "multilingual.faiss", config.int8_min_docs, config.threads)
        lexical = LexicalIndex.load(index_dir / "bm25")
        words = TypoCorrector(json.loads((index_dir / "vocab.json").read_text()), encoder.whole_words())
        sizes = {len(dense), lexical.num_docs, len(docs) if multilingual is None else len(multilingual)}
        if sizes != {len(docs)}:
            raise StaleIndexError(f"index files in {index_dir} do not match the manifest")
        return cls(docs, dense, lexical, words, encoder, config, manifest, multilingual)

    # ------------------------------------------------------------------ searching

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, parse: bool = True
    ) -> SearchResponse:
        """Hybrid search. Filters parsed from the query merge under explicit ones (which win); all
        are hard constraints, except that a parsed option constraint the best-matching product cannot
        satisfy is dropped and reported in `relaxed_options` (see RetrieverConfig)."""
        return self.search_prepared(self.prepare(query, filters, parse), k)

    def prepare(self, query: str, filters: SearchFilters | None = None, parse: bool = True) -> PreparedQuery:
        """Parse filters, fix typos and find pasted ids; the query vector is computed lazily (batch
        jobs may set it)."""
        parsed = self.parser.parse(query) if parse else ParsedQuery(SearchFilters(), query.strip())
        parsed.filters = self._without_product_names(parsed.filters)
        explicit = filters or SearchFilters()
        text, corrections = self._correct(parsed.text)
        return PreparedQuery(
            query=query,
            text=text,
            terms=tokenize(text),
            filters=explicit.merged_over(parsed.filters),
            parsed_option_keys=[key for key in parsed.filters.options if key not in explicit.options],
            corrections=corrections,
            id_hits=self.ids.match(query),
        )

    def _without_product_names(self, filters: SearchFilters) -> SearchFilters:
        """A parsed value that is a product's name names that product, not an option of another ("laptop" is no
        backpack's laptop compartment)."""
        named = [key for key, value in filters.options.items()
                 if any(v.strip().lower() in self._titles for v in value.split("|"))]
        return _without_options(filters, named) if named else filters

    def search_prepared(self, q: PreparedQuery, k: int = 10) -> SearchResponse:
        filters = q.filters
        if not q.text.strip() and not q.id_hits:
            return self._browse(q, k)
        if q.vector is None:
            q.vector = self.encoder.encode_query(q.text)
        depth = max(self.config.candidate_depth, k)

        relaxed: dict[str, str] = {}
        parsed_keys = [key for key in q.parsed_option_keys if key in filters.options]
        if parsed_keys and self.config.relax_parsed_options:
            base = _without_options(filters, parsed_keys)
            order, _, _ = self._fused(q, self.filter_index.mask(base), depth)
            if len(order):
                variants = self._by_product[self.docs[order[0]].product_id]
                for key in parsed_keys:
                    if not self.filter_index.option_mask(key, filters.options[key])[variants].any():
                        relaxed[key] = filters.options[key]
                filters = _without_options(filters, list(relaxed))

        mask = self.filter_index.mask(filters)
        order, scores, rankings = self._fused(q, mask, depth)
        pinned = [i for i in q.id_hits if mask is None or mask[i]]
        if pinned:  # a pasted id is what the user wants first, whatever the text similarity
            rest = ~np.isin(order, pinned)
            top = max(scores[0], 0.0) if len(scores) else 0.0
            order = np.concatenate([np.array(pinned, dtype=np.int64), order[rest]])
            scores = np.concatenate([np.full(len(pinned), top), scores[rest]])
        order, scores = order[:k], scores[:k]
        rank_of = {m: {d: r for r, d in enumerate(rk.tolist(), 1)} for m, rk in rankings.items()}
        hits = [
            SearchHit(
                doc=self.docs[i],
                score=s,
                ranks={m: rank_of.get(m, {}).get(i) for m in METHODS},
                id_match=i in pinned,
            )
            for i, s in zip(order.tolist(), scores.tolist(), strict=True)
        ]
        return SearchResponse(
            query=q.query, query_used=q.text, filters=filters, hits=hits,
            corrections=q.corrections, relaxed_options=relaxed,
        )

    def rankings(self, q: PreparedQuery, mask: np.ndarray | None, depth: int | None = None) -> dict[str, np.ndarray]:
        """Per-method rankings (doc indices, best first): BM25 and dense top-depth, and the fuzzy
        ranking of their union (plus pasted ids)."""
        depth = depth or self.config.candidate_depth
        if q.vector is None:
            q.vector = self.encoder.encode_query(q.text)
        bm25, _ = self.lexical.search(q.terms, depth, mask)
        dense, _ = self.dense.search(q.vector, depth, mask)
        found = {"bm25": bm25, "dense": dense}
        if self.multilingual is not None and self.weights(q).get("multilingual", 0.0) > 0:
            found["multilingual"], _ = self.multilingual.search(self.multilingual_vector(q), depth, mask)
        pool = np.unique(np.concatenate([*found.values(), np.asarray(q.id_hits, dtype=np.int64)]))
        if mask is not None:
            pool = pool[mask[pool]]
        fz = fuzzy_scores(q.text, [self._fuzzy_texts[i] for i in pool.tolist()])
        keep = fz > 0
        found["fuzzy"] = pool[keep][np.argsort(-fz[keep], kind="stable")]
        return found

    def multilingual_vector(self, q: PreparedQuery) -> np.ndarray:
        if q.ml_vector is None:
            q.ml_vector = self.multilingual_encoder().encode_query(q.text)
        return q.ml_vector

    def multilingual_encoder(self) -> MultilingualEncoder:
        """Loaded on first use: a catalogue that only ever sees English queries never pays for it."""
        if self._ml_encoder is None:
            self._ml_encoder = MultilingualEncoder()
        return self._ml_encoder

    def named_products(self, text: str) -> list[str]:
        """The catalogue's product names that text names in any language (empty without the multilingual index)."""
        if self.multilingual is None:
            return []
        if self._names is None:
            self._names = ProductNames((d.title for d in self.docs), self.multilingual_encoder())
        return self._names.named(text)

    def weights(self, q: PreparedQuery) -> dict[str, float]:
        """Chinese weights for a Chinese query, and for any query on a Chinese catalogue (an English query meets
        Chinese items through the multilingual index only)."""
        chinese = q.chinese or self._chinese_catalogue
        return self.config.chinese_weights if chinese and self.multilingual is not None else self.config.weights

    def fuse(self, rankings: dict[str, np.ndarray], weights: dict[str, float] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
        return rrf(rankings, self.config.weights if weights is None else weights, self.config.rrf_k)

    def _fused(
        self, q: PreparedQuery, mask: np.ndarray | None, depth: int
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        rankings = self.rankings(q, mask, depth)
        order, scores = self.fuse(rankings, self.weights(q))
        return order, scores, rankings

    def _correct(self, text: str) -> tuple[str, dict[str, str]]:
        if not self.config.typo_correction:
            return text, {}
        known = {w for w in raw_words(text) if stem(w) in self.lexical.vocab}
        return self.typos.correct(text, known)

    def _browse(self, q: PreparedQuery, k: int) -> SearchResponse:
        """A query with no words left ("under $50"): the allowed items in catalogue order."""
        mask = self.filter_index.mask(q.filters)
        idx = [] if mask is None else np.flatnonzero(mask)[:k].tolist()
        hits = [SearchHit(doc=self.docs[i], score=0.0, ranks=dict.fromkeys(METHODS)) for i in idx]
        return SearchResponse(query=q.query, query_used="", filters=q.filters, hits=hits, corrections=q.corrections)

    def search_method(self, query: str, method: Method, k: int = 10) -> list[Document]:
        """Top-k documents by one method alone (benchmarks and diagnostics). "fuzzy" scores every
        document (slow on large catalogues); "hybrid" is search()."""
        if method == "hybrid":
            return [h.doc for h in self.search(query, k).hits]
        q = self.prepare(query)
        mask = self.filter_index.mask(q.filters)
        if method == "bm25":
            idx = self.lexical.search(q.terms, k, mask)[0]
        elif method == "dense":
            idx = self.dense.search(self.encoder.encode_query(q.text), k, mask)[0]
        elif method == "multilingual":
            if self.multilingual is None:
                raise ValueError("this index was built without the multilingual encoder")
            idx = self.multilingual.search(self.multilingual_vector(q), k, mask)[0]
        elif method == "fuzzy":
            scores = fuzzy_scores(q.text, self._fuzzy_texts)
            if mask is not None:
                scores = np.where(mask, scores, 0)
            idx = top_k(scores, k, positive_only=True)[0]
        else:
            raise ValueError(f"unknown method {method!r}; expected one of bm25, dense, fuzzy, multilingual, hybrid")
        return [self.docs[i] for i in idx.tolist()]


def _without_options(filters: SearchFilters, keys: Sequence[str]) -> SearchFilters:
    options = {key: val for key, val in filters.options.items() if key not in keys}
    return filters.model_copy(update={"options": options})


def _encoder(config: RetrieverConfig) -> Encoder:
    return Encoder(cache_dir=config.encoder_cache_dir, backend=config.encoder_backend, threads=config.threads)


def _wants_multilingual(config: RetrieverConfig, n_docs: int) -> bool:
    return config.multilingual == "on" or (config.multilingual == "auto" and n_docs <= MULTILINGUAL_AUTO_MAX_DOCS)


def _multilingual_index(texts: Sequence[str], digest: str, config: RetrieverConfig) -> DenseIndex | None:
    if not _wants_multilingual(config, len(texts)):
        return None
    vectors, _ = _cached_embeddings(texts, digest, MultilingualEncoder(), config)
    return DenseIndex.build(vectors, config.hnsw_threshold, config.int8_min_docs, config.threads)


def _cached_embeddings(
    texts: Sequence[str], digest: str, encoder: Encoder | MultilingualEncoder, config: RetrieverConfig
) -> tuple[np.ndarray, float | None]:
    """Encode the catalogue (and the seconds it took; None when reused from the cache)."""
    path = None
    if config.embedding_cache_dir is not None:
        path = Path(config.embedding_cache_dir) / f"emb-{digest[:16]}-{encoder.model_hash[:12]}.npy"
        if path.exists():
            vectors = np.load(path)
            if len(vectors) == len(texts):
                log.info("reusing cached embeddings %s", path)
                return vectors, None
    start = time.perf_counter()
    vectors = _encode(encoder, texts, config)
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors, seconds


def _encode(encoder: Encoder | MultilingualEncoder, texts: Sequence[str], config: RetrieverConfig) -> np.ndarray:
    if isinstance(encoder, MultilingualEncoder):
        return encoder.encode(texts, batch_size=config.batch_size)
    return encoder.encode(texts, batch_size=config.batch_size, progress=len(texts) > 1000)


__all__ = [
    "HybridRetriever",
    "PreparedQuery",
    "RetrieverConfig",
    "SearchHit",
    "SearchResponse",
    "StaleIndexError",
]
