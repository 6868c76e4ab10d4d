"""The FastAPI application: chat API, health, and the storefront widget."""

from __future__ import annotations

import logging
import os
import threading

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights ship in packages; never reach for a model hub

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware

from agent.manager import Agent
from agent.memory import SessionNotFound
from agent.privacy import install_log_masking
from server.config import Settings, get_settings
from server.dev_mail import DevOutbox
from server.errors import session_not_found, validation_failed
from server.limits import BodySizeLimit
from server.live_listener import LiveListener
from server.rate_limits import RateLimiter
from server.routes import console, demo, health, live, sessions, widget
from server.security_headers import SecurityHeaders
from server.services import build_agent
from server.sign_in_throttle import SignInThrottle
from tools.store import Store

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, agent: Agent | None = None,
               outbox: DevOutbox | None = None) -> FastAPI:
    """The app; pass an agent to share one (tests, the CLI), or it is built from the settings. In demo mode the
    outbox is the local SMTP sink the agent mails its sign-in codes to (started here when the agent is too)."""
    install_log_masking()  # every record of the process, whoever logs it and whichever handler prints it
    settings = settings or get_settings()
    docs = settings.api_docs  # the schema maps every route for a visitor: off unless asked for
    app = FastAPI(
        title="shopagent",
        summary="A conversational shopping agent for online stores.",
        version="0.1.0",
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.settings = settings
    if settings.demo and agent is None and outbox is None:
        outbox = DevOutbox(sender=settings.mail_from).start()
    app.state.agent = agent or build_agent(settings, outbox=outbox)
    app.state.outbox = outbox if settings.demo else None  # the outbox page: demo mode only
    store = app.state.agent.store
    app.state.rate_limiter = RateLimiter(store, "requests", settings.rate_limit_per_minute)
    app.state.sign_in_throttle = SignInThrottle(store, settings)
    # Turn slots and workers are this process's compute (its model, its threads), so they are counted per process
    # on purpose: N processes serve N times the turns. What is per client (the rate limit) is in the database.
    app.state.turn_slots = threading.BoundedSemaphore(settings.max_concurrent_turns)
    app.state.turn_workers = threading.BoundedSemaphore(max(1, settings.turn_workers))
    app.state.live_listener = _live_listener(app, store)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["content-type", "authorization", "last-event-id"],
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: on every response, errors and 413s included
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(SessionNotFound, session_not_found)
    for module in (sessions, health, widget, live, console, demo):
        app.include_router(module.router)
    app.include_router(console.pages)
    app.include_router(demo.pages)
    return app


def create_worker_app() -> FastAPI:
    """The app of one `shopagent serve --workers N` process, built from the environment's settings (uvicorn
    calls this in each worker it starts)."""
    from server.startup import quiet_third_party

    quiet_third_party()
    return create_app()


def _live_listener(app: FastAPI, store: Store) -> LiveListener | None:
    """PostgreSQL: one LISTEN connection for the process's live streams (started by the first, stopped with the
    app). SQLite: None, the streams poll the database."""
    if store.engine.dialect.name != "postgresql":
        return None
    listener = LiveListener(store.url)
    app.router.on_shutdown.append(listener.stop)
    return listener
