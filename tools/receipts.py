"""Exactly-once actions: an approved action's idempotency key (its proposal's id) is written in the action's own
transaction, pointing at the audit entry the action wrote. A replayed approval (the customer's yes sent again
after a crash, a second worker, a double click) finds the receipt and reports the recorded result instead of
acting again. The receipt holds no personal data: the result is the audit entry's state after the action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from tools.retail.data_model import AuditEntry, Base, utcnow


class ActionReceipt(Base):
    __tablename__ = "action_receipts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    tool: Mapped[str] = mapped_column(String(64))
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReceiptMismatch(RuntimeError):
    """A key reused for another action: a bug in the caller, never a reason to act."""


def recorded(db: Session, key: str, tool: str) -> dict[str, Any] | None:
    """The result of the action already done under this key, or None if there is none."""
    receipt = db.get(ActionReceipt, key)
    if receipt is None:
        return None
    if receipt.tool != tool:
        raise ReceiptMismatch(f"receipt {key!r} is for {receipt.tool}, not {tool}")
    entry = db.get(AuditEntry, receipt.audit_id)
    return dict(entry.after or {}) if entry is not None else {}


def record(db: Session, key: str, tool: str) -> None:
    """Write the receipt of the action just done in this transaction (its audit entry is the one it added)."""
    entries = [row for row in db.new if isinstance(row, AuditEntry)]
    if len(entries) != 1:
        raise RuntimeError(f"{tool} must write exactly one audit entry to be done exactly once, not {len(entries)}")
    db.flush()  # gives the audit entry its id
    db.add(ActionReceipt(key=key, tool=tool, audit_id=entries[0].id))
