"""Shared, lazily built services: the store database and its search index."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from server.config import get_settings
from tools.store import Store

if TYPE_CHECKING:
    from retrieval import HybridRetriever

log = logging.getLogger(__name__)


class StoreNotReadyError(RuntimeError):
    pass


def open_store(*, create: bool = False) -> Store:
    """The configured store; with create=False an empty database is an error, not a silent empty shop."""
    store = Store(get_settings().store_url)
    if create:
        store.create_schema()
    elif store.is_empty():
        raise StoreNotReadyError(
            f"the store at {store.url} is empty: run `shopagent store load` (or `shopagent run`) first"
        )
    return store


def open_retriever(store: Store) -> HybridRetriever:
    """The catalogue's search index, rebuilt when the catalogue or the model changed since it was built."""
    from retrieval import HybridRetriever, RetrieverConfig
    from tools.retail.catalog import store_documents

    settings = get_settings()
    with store.session() as session:
        documents = store_documents(session)
    config = RetrieverConfig(encoder_cache_dir=settings.cache_dir / "onnx")
    return HybridRetriever.open(documents, settings.index_dir, config)
