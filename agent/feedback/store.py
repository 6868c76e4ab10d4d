"""Records feedback, each in one transaction: a customer's rating of a reply of their own conversation, and a
person's reply that changed the copilot's draft (the message and the edit stored together, or neither)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.feedback.tables import Feedback, FeedbackKind
from agent.memory import ChatMessage
from tools.store import Store

# A rating replaces the earlier one of its pair: a 👍 then a 👎 on one reply is a change of mind, not two votes.
PAIRS = {FeedbackKind.THUMBS_UP: (FeedbackKind.THUMBS_UP, FeedbackKind.THUMBS_DOWN),
         FeedbackKind.THUMBS_DOWN: (FeedbackKind.THUMBS_UP, FeedbackKind.THUMBS_DOWN),
         FeedbackKind.SOLVED_YES: (FeedbackKind.SOLVED_YES, FeedbackKind.SOLVED_NO),
         FeedbackKind.SOLVED_NO: (FeedbackKind.SOLVED_YES, FeedbackKind.SOLVED_NO)}


class NotThisConversationsReply(LookupError):
    """The message is not a reply of the assistant in this conversation."""


class FeedbackStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def rate(self, session_id: str, message_id: int, kind: FeedbackKind, comment: str = "") -> Feedback:
        """The customer's rating of one of the assistant's replies in their own conversation; a repeat or a change
        of mind updates the one row (a solved answer is one per conversation)."""
        with self.store.transaction() as db:
            message = db.get(ChatMessage, message_id)
            if message is None or message.session_id != session_id or message.role != "assistant":
                raise NotThisConversationsReply(f"no reply {message_id} in this conversation")
            row = _earlier(db, session_id, message_id, kind)
            if row is None:
                row = Feedback(session_id=session_id, message_id=message_id)
                db.add(row)
            row.message_id, row.kind, row.comment = message_id, kind.value, comment
            db.flush()
            db.expunge(row)
        return row

    def staff_reply(self, session_id: str, text: str, payload: dict[str, Any], *, draft: str | None,
                    staff_id: str) -> ChatMessage:
        """A person's reply; when it changed the copilot's draft it came from, the edit is recorded with it."""
        with self.store.transaction() as db:
            message = ChatMessage(session_id=session_id, role="assistant", text=text, payload=payload)
            db.add(message)
            db.flush()
            if draft and draft.strip() != text.strip():
                db.add(Feedback(session_id=session_id, message_id=message.id, kind=FeedbackKind.STAFF_EDIT.value,
                                draft=draft, staff_id=staff_id))
            db.flush()
            db.expunge(message)
        return message

    def all(self) -> list[Feedback]:
        with self.store.session() as db:
            return list(db.scalars(select(Feedback).order_by(Feedback.id)))


def _earlier(db: Session, session_id: str, message_id: int, kind: FeedbackKind) -> Feedback | None:
    query = select(Feedback).where(Feedback.session_id == session_id, Feedback.kind.in_([k.value for k in PAIRS[kind]]))
    if kind in (FeedbackKind.THUMBS_UP, FeedbackKind.THUMBS_DOWN):
        query = query.where(Feedback.message_id == message_id)
    return db.scalars(query).first()
