"""Who from the team the customer is talking to, as the widget shows them: a name and a picture, never the
staff member's login or any other internal id. A person is there from taking the ticket until handing back or
resolving it; the notices of those two moments carry `presence` ("joined" / "left") on the live stream."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agent.escalation.tables import HandoffTicket, StaffUser
from tools.store import Store

JOINED, LEFT = "joined", "left"


def person_view(staff: StaffUser) -> dict[str, Any]:
    return {"name": staff.display_name, "avatar_url": staff.avatar_url}


def person_in(store: Store, session_id: str) -> dict[str, Any] | None:
    """The person who has the conversation's ticket now; None while the bot (or nobody yet) answers."""
    query = (select(StaffUser).join(HandoffTicket, HandoffTicket.staff_id == StaffUser.id)
             .where(HandoffTicket.session_id == session_id, HandoffTicket.status == "active"))
    with store.session() as session:
        staff = session.scalars(query.order_by(HandoffTicket.id.desc())).first()
    return person_view(staff) if staff is not None else None


def live_fields(payload: dict[str, Any] | None) -> dict[str, Any]:
    """What a stored message says about its author, for the customer: who wrote it, and whether it is a notice."""
    payload = payload or {}
    if not payload.get("live"):
        return {"author": None, "avatar_url": None, "notice": False, "presence": None}
    return {"author": payload.get("author"), "avatar_url": payload.get("avatar_url"),
            "notice": bool(payload.get("notice")), "presence": payload.get("presence")}
