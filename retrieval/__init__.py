"""Hybrid product retrieval: BM25 + MiniLM dense vectors + fuzzy matching, fused by weighted RRF."""

from .documents import Document, catalogue_hash
from .encoder import Encoder
from .filters import FilterIndex, ParsedQuery, QueryParser, SearchFilters
from .fusion import rrf
from .retriever import (
    HybridRetriever,
    PreparedQuery,
    RetrieverConfig,
    SearchHit,
    SearchResponse,
    StaleIndexError,
)

__all__ = [
    "Document",
    "Encoder",
    "FilterIndex",
    "HybridRetriever",
    "ParsedQuery",
    "PreparedQuery",
    "QueryParser",
    "RetrieverConfig",
    "SearchFilters",
    "SearchHit",
    "SearchResponse",
    "StaleIndexError",
    "catalogue_hash",
    "rrf",
]
