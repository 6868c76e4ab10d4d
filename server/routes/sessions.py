"""Chat sessions: open one, post a message and stream the turn, read the history, hand over to a person."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, field_validator
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.escalation.presence import person_in
from agent.feedback.store import FeedbackStore, NotThisConversationsReply
from agent.feedback.tables import FeedbackKind
from agent.memory import DialogueState
from retrieval.language import conversation_language
from server.customer_events import for_customer, history_for_customer
from server.deps import AgentDep, RateLimited, SettingsDep
from server.tokens import InvalidToken, verify_customer_token
from server.turns import Queue, start_turn

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
log = logging.getLogger(__name__)


class SessionCreate(BaseModel):
    token: str | None = Field(default=None, max_length=1024, description="A signed customer token from the storefront")
    language: str | None = Field(default=None, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$",
                                 description="The customer's language tag (e.g. the page's or browser's 'zh-CN'): "
                                             "the greeting's; one not served gets English")


class SessionCreated(BaseModel):
    session_id: str
    customer_id: str | None
    created_at: str
    greeting: str
    language: str  # the conversation's language so far (the greeting's)


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is empty")
        return text.strip()


class FeedbackIn(BaseModel):
    message_id: int = Field(ge=1, description="The assistant's reply it is about (the `message` event's id)")
    kind: Literal["thumbs_up", "thumbs_down", "solved_yes", "solved_no"]  # the customer's kinds (CUSTOMER_KINDS)
    comment: str = Field(default="", max_length=500)


class FeedbackStored(BaseModel):
    id: int
    message_id: int
    kind: str


class Handoff(BaseModel):
    notice: str  # what the customer is told; the staff summary goes to the console's ticket only


@router.post("", status_code=201, response_model=SessionCreated, dependencies=[RateLimited])
def create_session(body: SessionCreate, agent: AgentDep, settings: SettingsDep) -> SessionCreated:
    customer_id = None
    if body.token:
        try:
            customer_id = verify_customer_token(settings.secret(), body.token)
        except InvalidToken as error:
            raise HTTPException(status_code=401, detail=f"Invalid customer token: {error}.") from None
        if not agent.customer_exists(customer_id):
            raise HTTPException(status_code=401, detail="Invalid customer token: unknown customer.")
    session, greeting = agent.open_session(customer_id=customer_id, language=body.language)
    return SessionCreated(
        session_id=session.id, customer_id=customer_id, created_at=session.created_at.isoformat(), greeting=greeting,
        language=DialogueState.from_json(session.state).language,
    )


@router.get("/{session_id}/messages")
def read_messages(session_id: str, agent: AgentDep) -> dict[str, Any]:
    session = agent.conversations.get(session_id)
    messages = history_for_customer(agent.history(session_id))
    return {"session_id": session_id, "customer_id": session.customer_id, "messages": messages,
            "person": person_in(agent.store, session_id),
            "language": agent.conversations.state(session_id).language}


@router.post("/{session_id}/messages", dependencies=[RateLimited])
async def post_message(
    session_id: str, body: MessageIn, agent: AgentDep, settings: SettingsDep, request: Request
) -> EventSourceResponse:
    arrived = time.monotonic()
    if len(body.text) > settings.max_message_chars:
        raise HTTPException(status_code=422, detail=f"Messages are limited to {settings.max_message_chars} characters.")
    session = await asyncio.to_thread(agent.conversations.get, session_id)  # 404 now, no database call on the loop
    # The language the turn will answer in, for the apology should it run out of time.
    language = conversation_language(body.text, DialogueState.from_json(session.state).language)
    slot = await request.app.state.turn_line.admit(request.app.state.turn_slots, settings.turn_queue_seconds)
    if slot is None:
        raise HTTPException(status_code=503, detail="The assistant is busy right now; please try again in a moment.",
                            headers={"Retry-After": "5"})
    queue = start_turn(agent, session_id, body.text, slot, settings.turn_budget_seconds,
                       request.app.state.turn_workers, language=language, arrived=arrived,
                       opening_wait_limit=settings.opening_wait_limit_seconds)
    return EventSourceResponse(_events(queue), ping=15)


@router.post("/{session_id}/handoff", response_model=Handoff, dependencies=[RateLimited])
def hand_off(session_id: str, agent: AgentDep) -> Handoff:
    return Handoff(notice=agent.handoff(session_id))


@router.post("/{session_id}/feedback", status_code=201, response_model=FeedbackStored, dependencies=[RateLimited])
def give_feedback(session_id: str, body: FeedbackIn, agent: AgentDep) -> FeedbackStored:
    agent.conversations.get(session_id)  # 404 for an unknown session
    try:
        row = FeedbackStore(agent.store).rate(session_id, body.message_id, FeedbackKind(body.kind),
                                              body.comment.strip())
    except NotThisConversationsReply:
        raise HTTPException(status_code=404, detail="No such reply in this conversation.") from None
    return FeedbackStored(id=row.id, message_id=row.message_id, kind=row.kind)


async def _events(queue: Queue) -> AsyncIterator[ServerSentEvent]:
    while (event := await queue.get()) is not None:
        shown = for_customer(event)
        if shown is not None:
            yield ServerSentEvent(data=json.dumps(shown.data), event=shown.type)
        if event.type == "done":
            return
