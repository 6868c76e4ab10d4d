"""Handoff tickets: filed once per escalation, worked from the console's queue, each change one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.escalation.handoff import HandoffContext
from agent.escalation.signals import risk_topic
from agent.escalation.tables import OPEN_STATUSES, HandoffTicket, create_tables
from tools.store import Store


class TicketError(ValueError):
    """A ticket change that is not allowed in the ticket's state; nothing was changed."""


class StaffForbidden(TicketError):
    """The staff member's role does not allow this (HTTP 403); nothing was changed."""


class NotYourTicket(StaffForbidden):
    """The ticket is assigned to another staff member, and the caller's role may not take it from them."""


@dataclass(frozen=True)
class PriorityWeights:
    frustration: float = 0.45  # peak smoothed frustration, 0..1
    waiting: float = 0.30  # minutes waiting, saturating at `waiting_minutes`
    order_value: float = 0.25  # value of the orders concerned, saturating at `order_value_cap`
    waiting_minutes: float = 15.0
    order_value_cap: float = 1000.0
    risk_floor: float = 0.55  # where risk tickets start; the weighted score above spans `spread` within a band
    spread: float = 0.45  # < risk_floor: the busiest calm ticket stays below the quietest risk


def priority(ticket: HandoffTicket, now: datetime | None = None, weights: PriorityWeights = PriorityWeights()) -> float:
    """0..1. A ticket that raises a risk topic (safety, fraud, legal, repeated damage) scores from 0.55 up and
    every other below 0.45, so no calm request, however long it waits, outranks a risk; within each band
    frustration, waiting time and order value order them."""
    now = now or datetime.now(UTC)
    created = ticket.created_at if ticket.created_at.tzinfo else ticket.created_at.replace(tzinfo=UTC)
    waited = max((now - created).total_seconds() / 60, 0.0)
    score = (weights.frustration * min(max(ticket.peak_frustration, 0.0), 1.0)
             + weights.waiting * min(waited / weights.waiting_minutes, 1.0)
             + weights.order_value * min(ticket.order_value / weights.order_value_cap, 1.0))
    floor = weights.risk_floor if ticket_risk(ticket) else 0.0
    return round(floor + weights.spread * score, 4)


def ticket_risk(ticket: HandoffTicket) -> str | None:
    """The ticket's risk topic: its reason, or one the customer raised before the hand-off for another reason
    (someone who asked for a person about a charger that caught fire)."""
    if ticket.reason.startswith("risk:"):
        return ticket.reason.removeprefix("risk:")
    return risk_topic(ticket.summary)


class TicketDesk:
    def __init__(self, store: Store) -> None:
        self.store = store
        create_tables(store.engine)

    def open_ticket(self, session_id: str) -> HandoffTicket | None:
        with self.store.session() as session:
            return session.scalars(select(HandoffTicket).where(
                HandoffTicket.session_id == session_id, HandoffTicket.status.in_(OPEN_STATUSES))
                .order_by(HandoffTicket.id.desc())).first()

    def file(self, session_id: str, customer_id: str | None, reason: str, context: HandoffContext,
             peak_frustration: float) -> HandoffTicket:
        """File the session's ticket, or return the one already open (one open ticket per conversation)."""
        with self.store.transaction() as session:
            existing = session.scalars(select(HandoffTicket).where(
                HandoffTicket.session_id == session_id, HandoffTicket.status.in_(OPEN_STATUSES))).first()
            if existing is not None:
                return existing
            ticket = HandoffTicket(
                session_id=session_id, customer_id=customer_id, reason=reason, status="waiting",
                summary=context.summary, actions_done=context.actions_done, orders=context.orders,
                order_value=context.order_value, timeline=context.timeline, peak_frustration=peak_frustration,
            )
            session.add(ticket)
        return ticket

    def get(self, ticket_id: int) -> HandoffTicket:
        with self.store.session() as session:
            ticket = session.get(HandoffTicket, ticket_id)
        if ticket is None:
            raise LookupError(f"no handoff ticket {ticket_id}")
        return ticket

    def queue(self, statuses: tuple[str, ...] = OPEN_STATUSES, now: datetime | None = None) -> list[dict[str, Any]]:
        """Open tickets, highest priority first (priority grows while a ticket waits, so it is computed now)."""
        with self.store.session() as session:
            tickets = list(session.scalars(select(HandoffTicket).where(HandoffTicket.status.in_(statuses))))
        rows = [{**t.to_json(), "priority": priority(t, now)} for t in tickets]
        return sorted(rows, key=lambda row: (-row["priority"], row["created_at"]))

    def take(self, ticket_id: int, staff_id: str, *, supervisor: bool = False) -> HandoffTicket:
        """Start working the ticket: unassigned or assigned to the taker (a supervisor may take any waiting one)."""
        return self._change(ticket_id, ("waiting", "active"), status="active", staff_id=staff_id,
                            taken_at=datetime.now(UTC), owner=staff_id, others=supervisor)

    def assign(self, ticket_id: int, staff_id: str, *, supervisor: bool = False) -> HandoffTicket:
        """Give an open ticket to a staff member: claimed by an agent for themselves (unassigned ones only), or
        assigned by a supervisor to anyone (an active ticket then moves to its new owner)."""
        with self.store.transaction() as session:
            ticket = _locked(session, ticket_id)
            if ticket.status not in OPEN_STATUSES:
                raise TicketError(f"ticket {ticket_id} is {ticket.status}")
            if not supervisor and ticket.staff_id not in (None, staff_id):
                raise NotYourTicket(f"ticket {ticket_id} is assigned to {ticket.staff_id}")
            ticket.staff_id = staff_id
        return ticket

    def hand_back(self, ticket_id: int, staff_id: str) -> HandoffTicket:
        return self._change(ticket_id, ("active",), status="returned", closed_at=datetime.now(UTC), owner=staff_id)

    def resolve(self, ticket_id: int, staff_id: str) -> HandoffTicket:
        return self._change(ticket_id, ("active",), status="resolved", closed_at=datetime.now(UTC), owner=staff_id)

    def _change(self, ticket_id: int, allowed: tuple[str, ...], *, owner: str, others: bool = False,
                **changes: Any) -> HandoffTicket:
        with self.store.transaction() as session:
            ticket = _locked(session, ticket_id)
            if ticket.status not in allowed:
                raise TicketError(f"ticket {ticket_id} is {ticket.status}")
            if ticket.status == "active" and ticket.staff_id != owner:
                raise TicketError(f"ticket {ticket_id} is being handled by {ticket.staff_id}")
            if not others and ticket.staff_id not in (None, owner):
                raise NotYourTicket(f"ticket {ticket_id} is assigned to {ticket.staff_id}")
            for name, value in changes.items():
                setattr(ticket, name, value)
        return ticket


def _locked(session: Session, ticket_id: int) -> HandoffTicket:
    """The ticket, its row locked until the change commits: two people taking it at once from two server processes
    are served one after the other, and the second finds it taken (SQLite has one writer at a time anyway)."""
    ticket = session.get(HandoffTicket, ticket_id, with_for_update=True)
    if ticket is None:
        raise LookupError(f"no handoff ticket {ticket_id}")
    return ticket
