"""Shared, lazily built services: the store database and its search index."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from server.config import Settings, get_settings
from tools.store import Store

if TYPE_CHECKING:
    from agent.llm.base import ChatModel
    from agent.manager import Agent
    from retrieval import HybridRetriever

log = logging.getLogger(__name__)


class StoreNotReadyError(RuntimeError):
    pass


def open_store(*, create: bool = False, settings: Settings | None = None) -> Store:
    """The configured store; with create=False an empty database is an error, not a silent empty shop."""
    store = Store((settings or get_settings()).store_url)
    if create:
        store.create_schema()
    elif store.is_empty():
        raise StoreNotReadyError(
            f"the store at {store.url} is empty: run `shopagent store load` (or `shopagent run`) first"
        )
    return store


def open_retriever(store: Store, settings: Settings | None = None) -> HybridRetriever:
    """The catalogue's search index, rebuilt when the catalogue or the model changed since it was built."""
    from retrieval import HybridRetriever, RetrieverConfig
    from tools.retail.catalog import store_documents

    settings = settings or get_settings()
    with store.session() as session:
        documents = store_documents(session)
    config = RetrieverConfig(encoder_cache_dir=settings.cache_dir / "onnx")
    return HybridRetriever.open(documents, settings.index_dir, config)


def open_model(settings: Settings) -> ChatModel | None:
    """The configured language model; None with backend "none" (the agent then answers from its flows alone)."""
    if settings.backend == "none":
        return None
    from agent.llm.registry import load_chat_model

    return load_chat_model(
        backend=settings.backend,
        model=settings.model,
        adapter=settings.adapter,
        cache_dir=settings.cache_dir / "models",
        threads=settings.threads,
    )


def build_agent(settings: Settings) -> Agent:
    """Everything the chat needs, from configuration: the store (loaded if empty), its index and the model."""
    from agent.manager import Agent
    from agent.proactive import ProactiveEngine
    from tools.logistics.api import late_risk
    from tools.logistics.backfill import backfill_history
    from tools.retail.loader import load_store

    store = open_store(create=True, settings=settings)
    if store.is_empty():
        log.info("the store is empty: loading the bundled demo store")
        load_store(store)
    backfill_history(store)  # a demo store loaded before order histories existed gets them now (idempotent)
    # The proactive engine warns about orders the delivery predictor finds likely to be late.
    proactive = ProactiveEngine(
        late_risk=lambda order_id: late_risk(store, order_id), every_turns=settings.suggestion_every_turns
    )
    return Agent(store, model=open_model(settings), retriever=open_retriever(store, settings), proactive=proactive)
