"""Live messages announce themselves: a person's reply or notice stored for a conversation sends a PostgreSQL
NOTIFY on LIVE_CHANNEL (payload: the session id) inside the transaction that stores it, so every server process
listening (server/live_listener.py) learns of it when it commits, and never of one that rolled back.

SQLite has no NOTIFY: the live stream polls there (one process). The hook is on every ORM session, so whoever
writes the message (a console route, the CLI, a held action's approval) announces it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

LIVE_CHANNEL = "shopagent_live"


def is_live(message: Any) -> bool:
    """A message on the customer's live stream: a person's words or notices (payload "live")."""
    return message.role == "assistant" and bool((message.payload or {}).get("live"))


@event.listens_for(Session, "after_flush")
def _announce(session: Session, _flush_context: Any) -> None:
    from agent.memory import ChatMessage  # the hook is installed by agent.memory, which imports this module

    sessions = {m.session_id for m in session.new if isinstance(m, ChatMessage) and is_live(m)}
    if not sessions or session.get_bind().dialect.name != "postgresql":
        return
    for session_id in sorted(sessions):
        session.execute(text("SELECT pg_notify(:channel, :session_id)"),
                        {"channel": LIVE_CHANNEL, "session_id": session_id})
