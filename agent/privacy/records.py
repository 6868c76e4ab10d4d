"""What the store keeps of conversations, under the privacy rules: retention (purge conversations older than N days,
deleted or anonymised), one customer's conversations exported or deleted on request, and masked transcripts for
review and training.

A conversation is its chat session and every row that points at it (messages, the escalation timeline, handoff
tickets, and any table added later with a foreign key to chat_sessions.id). The store's own records stay: the
customer's account, orders and payment methods are business records, and the audit log is append-only (it names
the customer id and an action's arguments; the database refuses to rewrite it). Each operation is one
transaction with its own audit entry, which holds counts and ids, never the personal data itself.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from agent.escalation.tables import OPEN_STATUSES, HandoffTicket
from agent.feedback.tables import Feedback
from agent.memory import ChatMessage, ChatSession
from agent.privacy.mask import NAME_MASK, KnownValues, customer_values
from agent.reader import extract
from agent.risk.tables import HELD, RiskHold
from tools.retail.data_model import AuditEntry, Base, Order, User
from tools.sign_in_codes import SignInCode
from tools.store import TABLE_MODULES, Store

Mode = Literal["anonymise", "delete"]
ANONYMISED = "anonymised_at"  # the mark an anonymised session's state carries: a second purge leaves it be
CUSTOMER_MASK = "[customer]"


@dataclass
class Report:
    """What an operation found (dry run) or did."""

    action: str
    mode: str
    sessions: int = 0
    messages: int = 0
    tickets: int = 0
    other_rows: int = 0  # rows of other tables pointing at the sessions (deleted with them)
    dry_run: bool = False
    cutoff: str | None = None
    customer_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


# --- which conversations ---------------------------------------------------------------------------------------


def expired_sessions(db: Session, cutoff: datetime) -> list[ChatSession]:
    """Sessions with no activity since `cutoff`, not already anonymised, and not with a person right now (an open
    ticket, or an action held for a person's approval)."""
    recent = select(ChatMessage.session_id).where(ChatMessage.created_at >= cutoff)
    open_tickets = select(HandoffTicket.session_id).where(HandoffTicket.status.in_(OPEN_STATUSES))
    waiting_holds = select(RiskHold.session_id).where(RiskHold.status == HELD)
    rows = db.scalars(select(ChatSession).where(ChatSession.updated_at < cutoff, ChatSession.id.not_in(recent),
                                                ChatSession.id.not_in(open_tickets),
                                                ChatSession.id.not_in(waiting_holds)).order_by(ChatSession.id))
    return [row for row in rows if not (row.state or {}).get(ANONYMISED)]


def customer_sessions(db: Session, customer_id: str) -> list[ChatSession]:
    """The sessions the customer was verified in (a conversation that never verified them names no one)."""
    return list(db.scalars(select(ChatSession).where(ChatSession.customer_id == customer_id)
                           .order_by(ChatSession.created_at, ChatSession.id)))


def customer_by_email(store: Store, email: str) -> str | None:
    with store.session() as db:
        return db.scalar(select(User.user_id).where(func.lower(User.email) == email.strip().lower()))


# --- masking one conversation --------------------------------------------------------------------------------


def session_masker(db: Session, row: ChatSession) -> KnownValues:
    """The masks for one conversation: the patterns, plus the literal name, email, addresses, zip, payment ids
    and id of its customer, and whatever name and address the customer typed before being verified."""
    state = row.state or {}
    customer_id = row.customer_id or state.get("customer_id")
    extra: dict[str, str] = {customer_id: CUSTOMER_MASK} if customer_id else {}
    typed_names = [*(state.get("name") or []), *_names_said(db, row.id)]
    extra.update({part: NAME_MASK for part in typed_names if isinstance(part, str)})
    addresses: list[dict[str, str]] = [state["new_address"]] if isinstance(state.get("new_address"), dict) else []
    user = db.get(User, customer_id) if customer_id else None
    if user is None:
        return _known(extra, addresses)
    orders = db.scalars(select(Order).where(Order.user_id == user.user_id))
    addresses += [_address_of(user), *(_address_of(order) for order in orders)]
    known = customer_values(user.first_name, user.last_name, user.email, addresses,
                            [method.id for method in user.payment_methods])
    return KnownValues({**_known(extra, []).replacements, **known.replacements})


def _names_said(db: Session, session_id: str) -> list[str]:
    """Names the customer gave ("my name is …", "it's Harper Smith"), read by the reader's own pattern."""
    said = db.scalars(select(ChatMessage.text).where(ChatMessage.session_id == session_id, ChatMessage.role == "user"))
    return [part for text in said for part in (extract.name(text) or ())]


def _known(extra: dict[str, str], addresses: list[dict[str, str]]) -> KnownValues:
    values = customer_values("", "", "", addresses)
    return KnownValues({**values.replacements, **extra})


def _address_of(row: User | Order) -> dict[str, str]:
    return {"address1": row.address1, "address2": row.address2, "zip": row.zip}


# --- changing conversations ----------------------------------------------------------------------------------


def _session_tables() -> list[Table]:
    """Every table with a foreign key to chat_sessions.id, whichever module declared it."""
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return [table for table in Base.metadata.sorted_tables
            if any(fk.column.table.name == ChatSession.__tablename__ for fk in table.foreign_keys)]


def _count(db: Session, table: Table, ids: list[str]) -> int:
    return db.scalar(select(func.count()).select_from(table).where(table.c.session_id.in_(ids))) or 0


def _measure(db: Session, report: Report, ids: list[str]) -> None:
    report.sessions = len(ids)
    for table in _session_tables():
        count = sum(_count(db, table, chunk) for chunk in _chunks(ids))
        if table.name == ChatMessage.__tablename__:
            report.messages = count
        elif table.name == HandoffTicket.__tablename__:
            report.tickets = count
        else:
            report.other_rows += count


def _forget_codes(db: Session, ids: list[str]) -> None:
    """A session's one-time sign-in codes (a hash of the email, the account id) go in either mode: a code is a
    credential that expired minutes after it was sent, nothing a record needs (the table has no key to
    chat_sessions, so the cascade below would not find it)."""
    for chunk in _chunks(ids):
        db.execute(delete(SignInCode).where(SignInCode.session_id.in_(chunk)))


def _delete(db: Session, ids: list[str]) -> None:
    for table in reversed(_session_tables()):  # children before what they point at
        for chunk in _chunks(ids):
            db.execute(delete(table).where(table.c.session_id.in_(chunk)))
    for chunk in _chunks(ids):
        db.execute(delete(ChatSession.__table__).where(ChatSession.id.in_(chunk)))


def _anonymise(db: Session, rows: list[ChatSession], now: datetime) -> None:
    """Personal data masked in every message and ticket; the session forgets its customer and its state."""
    for row in rows:
        masker = session_masker(db, row)
        for message in db.scalars(select(ChatMessage).where(ChatMessage.session_id == row.id)):
            message.text = masker.text(message.text)
            message.payload = masker.value(message.payload or {})
        for ticket in db.scalars(select(HandoffTicket).where(HandoffTicket.session_id == row.id)):
            ticket.customer_id = None
            ticket.summary = masker.text(ticket.summary)
            ticket.actions_done = masker.value(ticket.actions_done or [])
            ticket.orders = masker.value(ticket.orders or [])
        for hold in db.scalars(select(RiskHold).where(RiskHold.session_id == row.id)):
            hold.customer_id = None
            hold.summary = masker.text(hold.summary)
            hold.arguments = masker.value(hold.arguments or {})
        for feedback in db.scalars(select(Feedback).where(Feedback.session_id == row.id)):
            feedback.comment, feedback.draft = masker.text(feedback.comment), masker.text(feedback.draft)
        row.customer_id = None
        row.state = {ANONYMISED: now.isoformat(timespec="seconds")}


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    """Bounded IN lists: SQLite and PostgreSQL both cap a statement's parameters."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _apply(db: Session, rows: list[ChatSession], report: Report, now: datetime) -> None:
    ids = [row.id for row in rows]
    _measure(db, report, ids)
    if report.dry_run or not ids:
        return
    _forget_codes(db, ids)
    if report.mode == "delete":
        _delete(db, ids)
    else:
        _anonymise(db, rows, now)


def _audit(db: Session, report: Report, actor: str, target_type: str, target_id: str) -> None:
    db.add(AuditEntry(actor=actor, action=report.action, target_type=target_type, target_id=target_id,
                      arguments=report.to_json()))


# --- the operations ------------------------------------------------------------------------------------------


def purge(store: Store, older_than_days: int, *, mode: Mode = "anonymise", dry_run: bool = False,
          actor: str = "system", now: datetime | None = None, audit_if_empty: bool = True) -> Report:
    """Delete or anonymise every conversation idle for more than `older_than_days` days, in one transaction;
    idempotent (a second run finds nothing). A conversation a person has open now is left for later.
    `audit_if_empty`=False: a run that found nothing leaves no audit entry (the server's purge at start-up)."""
    if older_than_days <= 0:
        raise ValueError("older_than_days must be at least 1 (0 means keep conversations: nothing to purge)")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    report = Report("privacy_purge", mode, dry_run=dry_run, cutoff=cutoff.isoformat(timespec="seconds"))
    with store.transaction() as db:
        _apply(db, expired_sessions(db, cutoff), report, now)
        if not dry_run and (report.sessions or audit_if_empty):
            _audit(db, report, actor, "conversations", f"idle before {cutoff.date().isoformat()}")
    return report


def delete_customer(store: Store, customer_id: str, *, mode: Mode = "delete", dry_run: bool = False,
                    actor: str = "system", now: datetime | None = None) -> Report:
    """Remove (or anonymise) every conversation of one customer, on their request; their account, orders and the
    audit log stay (business records)."""
    now = now or datetime.now(UTC)
    report = Report("privacy_delete", mode, dry_run=dry_run, customer_id=customer_id)
    with store.transaction() as db:
        _apply(db, customer_sessions(db, customer_id), report, now)
        if not dry_run:
            _audit(db, report, actor, "customer", customer_id)
    return report


def export_customer(store: Store, customer_id: str, *, actor: str = "system") -> dict[str, Any]:
    """One customer's conversations as JSON, in clear (it is their own data, for them), audited."""
    with store.transaction() as db:
        sessions = customer_sessions(db, customer_id)
        conversations = [_conversation(db, row) for row in sessions]
        report = Report("privacy_export", "export", sessions=len(sessions), customer_id=customer_id,
                        messages=sum(len(c["messages"]) for c in conversations),
                        tickets=sum(len(c["tickets"]) for c in conversations))
        _audit(db, report, actor, "customer", customer_id)
    return {"customer_id": customer_id, "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "conversations": conversations}


def _conversation(db: Session, row: ChatSession, masker: KnownValues | None = None) -> dict[str, Any]:
    text = masker.text if masker else _same
    messages = db.scalars(select(ChatMessage).where(ChatMessage.session_id == row.id).order_by(ChatMessage.id))
    tickets = db.scalars(select(HandoffTicket).where(HandoffTicket.session_id == row.id).order_by(HandoffTicket.id))
    return {
        "session_id": row.id, "channel": row.channel, "started_at": _iso(row.created_at),
        "last_active_at": _iso(row.updated_at),
        "messages": [_message(message, text) for message in messages],
        "tickets": [{"id": t.id, "status": t.status, "reason": t.reason, "opened_at": _iso(t.created_at),
                     "closed_at": _iso(t.closed_at), "summary": text(t.summary)} for t in tickets],
    }


def _message(message: ChatMessage, text: Any) -> dict[str, Any]:
    entry = {"at": _iso(message.created_at), "role": message.role, "text": text(message.text)}
    payload = message.payload or {}
    if message.role == "tool":
        entry["tool"] = payload.get("name")
    if payload.get("human"):
        entry["author"] = payload.get("author")
    return entry


def export_transcripts(store: Store, out: Path, *, since_days: int | None = None, actor: str = "system",
                       now: datetime | None = None) -> int:
    """Every conversation (or those active in the last `since_days` days), personal data masked, one JSON object
    per line: for review and as training data. Returns how many were written."""
    now = now or datetime.now(UTC)
    query = select(ChatSession).order_by(ChatSession.created_at, ChatSession.id)
    if since_days is not None:
        query = query.where(ChatSession.updated_at >= now - timedelta(days=since_days))
    written = 0
    with store.transaction() as db, out.open("w", encoding="utf-8") as fh:
        for row in db.scalars(query):
            conversation = _conversation(db, row, session_masker(db, row))
            conversation["verified"] = row.customer_id is not None  # who it was stays out of the export
            fh.write(json.dumps(conversation, ensure_ascii=False) + "\n")
            written += 1
        report = Report("privacy_export_transcripts", "masked", sessions=written)
        _audit(db, report, actor, "conversations", "all" if since_days is None else f"last {since_days} days")
    return written


def _same(text: str) -> str:
    return text


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
