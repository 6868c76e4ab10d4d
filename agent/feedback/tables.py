"""The feedback table: one row per rating, answer or staff edit, tied to the assistant message it is about."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tools.retail.data_model import Base, utcnow


class FeedbackKind(StrEnum):
    THUMBS_UP = "thumbs_up"
    THUMBS_DOWN = "thumbs_down"
    SOLVED_YES = "solved_yes"
    SOLVED_NO = "solved_no"
    STAFF_EDIT = "staff_edit"  # a person changed a copilot draft: `draft` was suggested, the message is what went


CUSTOMER_KINDS = (FeedbackKind.THUMBS_UP, FeedbackKind.THUMBS_DOWN, FeedbackKind.SOLVED_YES, FeedbackKind.SOLVED_NO)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    draft: Mapped[str] = mapped_column(Text, default="")  # staff edits: the draft as the copilot suggested it
    staff_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
