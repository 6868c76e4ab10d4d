"""Shared, lazily built services: the store database and its search index."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from server.config import Settings, get_settings
from server.startup import StartupSteps
from tools.store import Store

if TYPE_CHECKING:
    from agent.llm.base import ChatModel
    from agent.manager import Agent
    from agent.sign_in_mail import CodeMailer
    from retrieval import HybridRetriever
    from server.dev_mail import DevOutbox

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
    else:
        store.upgrade_schema()  # a store made by an older version gets the optional columns added since
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


def code_mailer(settings: Settings, outbox: DevOutbox | None = None) -> CodeMailer:
    """How sign-in codes are mailed: to the demo's local sink when there is one, else to the configured server."""
    from agent.sign_in_mail import CodeMailer
    from tools.mail import Mailer

    return CodeMailer(Mailer(outbox.smtp if outbox is not None else settings.smtp()))


def build_agent(settings: Settings, steps: StartupSteps | None = None, *, outbox: DevOutbox | None = None) -> Agent:
    """Everything the chat needs, from configuration: the store (loaded if empty), its index and the model.

    Each part is a step of `steps` (shown by `shopagent serve`; silent by default)."""
    from agent.manager import Agent, AgentConfig
    from agent.proactive import ProactiveEngine
    from agent.reader import default_reader
    from agent.risk.rules import DEFAULT_RULES
    from tools.logistics.api import late_risk

    steps = steps or StartupSteps()
    store = _ready_store(settings, steps)
    retriever = _index(store, settings, steps)
    with steps.step("Loading the reader") as step:
        default_reader()  # cached: the Agent below gets this copy instead of loading it unannounced
        step.result = "Reader loaded (every message as a dialogue act)"
    with steps.step(f"Loading the model ({settings.backend})") as step:
        model = open_model(settings)
        step.result = _model_result(settings, model)
    with steps.step("Starting the agent") as step:
        # The proactive engine warns about orders the delivery predictor finds likely to be late.
        proactive = ProactiveEngine(late_risk=lambda order_id: late_risk(store, order_id),
                                    every_turns=settings.suggestion_every_turns)
        config = AgentConfig(risk_rules=settings.risk_rules or DEFAULT_RULES)
        agent = Agent(store, model=model, retriever=retriever, proactive=proactive, config=config,
                      identity=settings.identity, code_mail=code_mailer(settings, outbox))
        step.result = f"Agent ready ({len(agent.runner.guard.rules) if agent.runner.guard else 0} risk rules)"
    return agent


def prepare_store(settings: Settings, steps: StartupSteps | None = None) -> Store:
    """The store ready for server processes to open: migrated, loaded if empty, its search index built (the
    parent of `serve --workers` does this once, so the workers only load)."""
    steps = steps or StartupSteps()
    store = _ready_store(settings, steps)
    _index(store, settings, steps)
    return store


def _index(store: Store, settings: Settings, steps: StartupSteps) -> HybridRetriever:
    with steps.step("Building or loading the search index") as step:
        retriever = open_retriever(store, settings)
        step.result = f"Search index {'built' if retriever.built else 'loaded'}: {len(retriever.docs)} items"
    return retriever


def _ready_store(settings: Settings, steps: StartupSteps) -> Store:
    """The store opened and migrated, with the demo catalogue loaded into an empty one."""
    from tools.logistics.backfill import backfill_history
    from tools.retail.loader import load_store

    with steps.step("Opening the store") as step:
        store = open_store(create=True, settings=settings)
        step.result = f"Store open: {safe_url(store.url)}"
    with steps.step("Loading the demo store") as step:
        if store.is_empty():
            log.info("the store is empty: loading the bundled demo store")
            counts = load_store(store)
            step.result = (f"Demo store loaded: {counts['products']} products, {counts['users']} customers, "
                           f"{counts['orders']} orders")
        else:
            step.result = "Catalogue already in the store"
        backfill_history(store)  # a demo store loaded before order histories existed gets them now (idempotent)
    return store


def _model_result(settings: Settings, model: ChatModel | None) -> str:
    if model is None:
        return "No language model (backend none): the flows answer alone"
    adapter = f", adapter {settings.adapter}" if settings.adapter else ""
    return f"Model loaded: {settings.model} ({settings.backend}{adapter})"


def safe_url(url: str) -> str:
    """The database URL without its password: start-up output lands in terminals and service logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
