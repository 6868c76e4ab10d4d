"""What a person from the team says reaches the customer's widget: GET /api/sessions/{id}/events, a server-sent
event stream of the conversation's live messages (a person's replies and notices) after a cursor.

The stream ends after `wait` seconds; the browser's EventSource reconnects by itself, sending the last event id,
so nothing is missed or repeated. The database is the source of truth, so it works across restarts and workers:
on PostgreSQL a stream reads it when the process's listener hears a NOTIFY of the conversation (a message stored
by any process), on SQLite every POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.escalation.presence import live_fields
from agent.live_notify import is_live
from agent.manager import Agent
from agent.memory import ChatMessage
from server.deps import AgentDep
from server.live_listener import LiveListener

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
POLL_SECONDS = 0.5  # SQLite (one process): how often an open stream reads the database
LISTEN_CHECK_SECONDS = 5.0  # PostgreSQL: a stream waits for a NOTIFY, reading again at least this often


@router.get("/{session_id}/events")
async def live_events(
    session_id: str,
    agent: AgentDep,
    request: Request,
    after: Annotated[int, Query(ge=0)] = 0,
    wait: Annotated[float, Query(ge=0, le=60)] = 25.0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    agent.conversations.get(session_id)  # 404 for an unknown session
    cursor = max(after, int(last_event_id) if last_event_id and last_event_id.isdigit() else 0)
    return EventSourceResponse(_stream(agent, session_id, cursor, wait, request), ping=15)


def live_messages(agent: Agent, session_id: str, after: int) -> list[dict[str, Any]]:
    query = (select(ChatMessage).where(ChatMessage.session_id == session_id, ChatMessage.role == "assistant",
                                       ChatMessage.id > after).order_by(ChatMessage.id))
    with agent.store.session() as session:
        rows = list(session.scalars(query))
    return [{"id": r.id, "text": r.text, **live_fields(r.payload)} for r in rows if is_live(r)]


async def _stream(agent: Agent, session_id: str, cursor: int, wait: float,
                  request: Request) -> AsyncIterator[ServerSentEvent]:
    listener: LiveListener | None = request.app.state.live_listener
    deadline = asyncio.get_running_loop().time() + wait
    with listener.watching(session_id) if listener else contextlib.nullcontext() as woken:
        while True:
            if woken is not None:
                woken.clear()  # before reading: a message stored after the read wakes the wait below
            for message in await asyncio.to_thread(live_messages, agent, session_id, cursor):
                cursor = message["id"]
                yield ServerSentEvent(data=json.dumps(message), event="person", id=str(message["id"]), retry=1000)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or await request.is_disconnected():
                return
            await _next_chance(woken, min(left, LISTEN_CHECK_SECONDS if woken is not None else POLL_SECONDS))


async def _next_chance(woken: asyncio.Event | None, seconds: float) -> None:
    """Until a NOTIFY wakes the stream (PostgreSQL) or `seconds` pass (the poll of SQLite, and with a listener the
    check that the customer is still there)."""
    if woken is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(woken.wait(), seconds)
