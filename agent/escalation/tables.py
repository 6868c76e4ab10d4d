"""The escalation tables: the per-turn sentiment timeline, handoff tickets and staff users (store database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.memory import ChatSession
from tools.retail.data_model import Base, utcnow

OPEN_STATUSES = ("waiting", "active")  # a ticket waiting in the queue, or taken by a person


class EscalationTurn(Base):
    """One customer turn as the policy saw it: the sentiment timeline and the policy's running state."""

    __tablename__ = "chat_escalation_turns"  # part of the conversation record, like chat_messages

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(ChatSession.id), index=True)
    message_id: Mapped[int | None] = mapped_column(Integer, default=None)  # the customer's chat message
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    frustration: Mapped[float] = mapped_column(Float)
    smoothed: Mapped[float] = mapped_column(Float)
    signals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision: Mapped[str | None] = mapped_column(String(64), default=None)


class HandoffTicket(Base):
    """A conversation handed to a person: why, what happened, and who has it."""

    __tablename__ = "handoff_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(ChatSession.id), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting|active|returned|resolved
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    staff_id: Mapped[str | None] = mapped_column(String(64), default=None)
    summary: Mapped[str] = mapped_column(Text, default="")
    actions_done: Mapped[list[Any]] = mapped_column(JSON, default=list)  # tool calls of the conversation
    orders: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the customer's relevant orders
    order_value: Mapped[float] = mapped_column(Float, default=0.0)
    timeline: Mapped[list[Any]] = mapped_column(JSON, default=list)  # frustration per turn at filing time
    peak_frustration: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (Index("ix_handoff_tickets_status_created", "status", "created_at"),)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "session_id": self.session_id, "customer_id": self.customer_id, "status": self.status,
            "reason": self.reason, "created_at": _iso(self.created_at), "taken_at": _iso(self.taken_at),
            "closed_at": _iso(self.closed_at), "staff_id": self.staff_id, "summary": self.summary,
            "actions_done": self.actions_done, "orders": self.orders, "order_value": self.order_value,
            "timeline": self.timeline, "peak_frustration": self.peak_frustration,
        }


class StaffUser(Base):
    """A human service agent who signs in to the console (password stored as a salted scrypt hash)."""

    __tablename__ = "staff_users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the login name
    display_name: Mapped[str] = mapped_column(String(128))
    avatar_url: Mapped[str | None] = mapped_column(String(2048), default=None)  # their picture in the widget
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")  # agent|supervisor
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
