"""Conversations persisted in the store database as they happen: a restart loses nothing and resumes the state."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from agent import live_notify  # noqa: F401  (installs the NOTIFY of live messages)
from tools.receipts import ActionReceipt
from tools.retail.data_model import Base, utcnow
from tools.store import Store


class ChatSession(Base):
    __tablename__ = "chat_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    channel: Mapped[str] = mapped_column(String(32), default="widget")
    customer_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChatMessage(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | tool
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Tool name/arguments/result for tool rows; product cards, handoff and repair flags for assistant rows."""


@dataclass
class DialogueState:
    """What the dialogue manager must remember between turns (stored as JSON on the session row)."""

    customer_id: str | None = None
    pending: dict[str, Any] | None = None  # {"tool", "arguments", "summary"} awaiting the customer's yes
    order_id: str | None = None  # the order being discussed
    intent: str | None = None  # an unfinished request, waiting for identity or an order id
    request: str = ""  # the customer's words for that request, with their answers to the agent's questions
    batch: dict[str, Any] | None = None  # {"intent", "order_ids"}: orders a request for "all my orders" still covers
    queued: list[str] = field(default_factory=list)  # the message's further requests, taken up in turn
    new_address: dict[str, str] | None = None  # a new address the customer described (looked up), for "the new home"
    refunds: list[float] | None = None  # what this request's actions refund, when the customer asked for the total
    name: list[str] | None = None  # a first and last name given before the zip code
    code_sent: bool = False  # a one-time sign-in code is out: a 6-digit number in a message is read as the code
    handed_off: bool = False
    asked: str | None = None  # the question the last reply left open (a reader Context value), to read the next by
    misunderstood: int = 0  # consecutive turns the agent could not place
    # The last product search (agent/searching.py): its words, and the items it found in the order shown (the first
    # few were the cards), for follow-ups like "the second one" or "which is cheapest?".
    searched: str = ""
    found: list[dict[str, Any]] = field(default_factory=list)
    # Proactive suggestions (agent/proactive.py); defaults keep older sessions loading.
    suggestions_off: bool = False  # the customer asked for no suggestions
    suggestion_open: dict[str, Any] | None = None  # the suggestion just offered, which a "no" declines
    suggestions_declined: list[str] = field(default_factory=list)  # never offered again
    suggestions_made: list[str] = field(default_factory=list)  # not repeated within the conversation
    turns: int = 0  # turns the engine has seen, to space suggestions out (ProactiveEngine.every_turns)
    suggested_turn: int | None = None  # the turn of the last suggestion
    cards_shown: list[str] = field(default_factory=list)  # "product:<id>" / "item:<id>" of every card shown
    language: str = "en"  # the language the conversation answers in: the customer's latest (retrieval/language.py)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DialogueState:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SessionNotFound(LookupError):
    pass


class ConversationStore:
    """Reads and writes sessions and messages; every write is its own committed transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # The receipts of confirmed actions too: a store made before them gets the table on its first conversation.
        tables = [ChatSession.__table__, ChatMessage.__table__, ActionReceipt.__table__]
        Base.metadata.create_all(store.engine, tables=tables)

    def create(self, *, customer_id: str | None = None, channel: str = "widget", language: str = "en") -> ChatSession:
        state = DialogueState(customer_id=customer_id, language=language)
        row = ChatSession(id=secrets.token_urlsafe(18), channel=channel, customer_id=customer_id, state=state.to_json())
        with self.store.transaction() as session:
            session.add(row)
        return row

    def get(self, session_id: str) -> ChatSession:
        with self.store.session() as session:
            row = session.get(ChatSession, session_id)
        if row is None:
            raise SessionNotFound(f"no chat session {session_id!r}")
        return row

    def state(self, session_id: str) -> DialogueState:
        return DialogueState.from_json(self.get(session_id).state)

    def save_state(self, session_id: str, state: DialogueState) -> None:
        with self.store.transaction() as session:
            _write_state(session, session_id, state)

    def finish(self, session_id: str, state: DialogueState, text: str, payload: dict[str, Any]) -> ChatMessage:
        """The turn's reply and the state it leaves, in one transaction: a crash keeps both or neither, so a
        proposal still open after a crash was never answered."""
        message = ChatMessage(session_id=session_id, role="assistant", text=text, payload=payload)
        with self.store.transaction() as session:
            _write_state(session, session_id, state)
            session.add(message)
        return message

    def append(self, session_id: str, role: str, text: str = "", payload: dict[str, Any] | None = None) -> ChatMessage:
        message = ChatMessage(session_id=session_id, role=role, text=text, payload=payload or {})
        with self.store.transaction() as session:
            session.add(message)
        return message

    def messages(self, session_id: str, *, roles: tuple[str, ...] | None = None) -> list[ChatMessage]:
        self.get(session_id)
        query = select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
        if roles:
            query = query.where(ChatMessage.role.in_(roles))
        with self.store.session() as session:
            return list(session.scalars(query))


def _write_state(session: Session, session_id: str, state: DialogueState) -> None:
    row = session.get(ChatSession, session_id)
    if row is None:
        raise SessionNotFound(f"no chat session {session_id!r}")
    row.state = state.to_json()
    row.customer_id = state.customer_id
