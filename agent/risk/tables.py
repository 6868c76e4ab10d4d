"""Held actions (store database): what the customer confirmed, why it is held, and what a person decided."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agent.memory import ChatSession
from tools.retail.data_model import Base, utcnow

HELD = "held"  # then approved (the action ran), failed (approved, but the store refused it) or rejected


class RiskHold(Base):
    __tablename__ = "risk_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey(ChatSession.id), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    tool: Mapped[str] = mapped_column(String(64))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[str] = mapped_column(Text, default="")  # the confirmation the customer said yes to
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)  # the rules that held it (staff only)
    approver: Mapped[str] = mapped_column(String(16), default="supervisor")  # the role that may decide
    status: Mapped[str] = mapped_column(String(16), default=HELD, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str | None] = mapped_column(Text, default=None)  # the store's refusal, when it failed

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "session_id": self.session_id, "customer_id": self.customer_id, "tool": self.tool,
            "arguments": self.arguments, "summary": self.summary, "rules": self.rules, "approver": self.approver,
            "status": self.status, "created_at": _iso(self.created_at), "decided_at": _iso(self.decided_at),
            "decided_by": self.decided_by, "outcome": self.outcome,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
