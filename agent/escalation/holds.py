"""Held actions in the console (risk control, agent/risk/): the list of what waits for approval, and a person's
decision. Approval runs the action exactly once, as the approving staff member, in the same transaction as the
decision (a second approval finds it decided); rejection changes nothing in the store. Either way the customer is
told in their chat, and the audit log names who decided."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from agent import locales
from agent.escalation.roles import StaffRole
from agent.escalation.staff import role_of
from agent.escalation.tables import StaffUser
from agent.escalation.texts import text
from agent.escalation.tickets import StaffForbidden, TicketError
from agent.flows.proposals import done_text
from agent.flows.spec import ACTIONS
from agent.memory import ChatMessage, SessionNotFound
from agent.replies import failure_text
from agent.risk.tables import HELD, RiskHold
from tools.context import Role, StoreContext
from tools.errors import ToolError
from tools.retail.data_model import AuditEntry

if TYPE_CHECKING:
    from agent.manager import Agent

APPROVED, REJECTED, FAILED = "approved", "rejected", "failed"


class HoldDesk:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        agent.store.ensure_schema()

    def waiting(self, staff: StaffUser) -> list[dict[str, Any]]:
        """Held actions still waiting, oldest first, each saying whether this person may decide it."""
        with self.agent.store.session() as db:
            rows = list(db.scalars(select(RiskHold).where(RiskHold.status == HELD).order_by(RiskHold.id)))
        return [{**hold.to_json(), "can_decide": may_decide(staff, hold)} for hold in rows]

    def approve(self, hold_id: int, staff: StaffUser) -> RiskHold:
        hold = self._decidable(hold_id, staff)
        with locales.speaking(self._language(hold.session_id)):  # the customer is told in their language
            return self._approve(hold_id, staff, hold)

    def _approve(self, hold_id: int, staff: StaffUser, hold: RiskHold) -> RiskHold:
        try:
            with self.agent._lock(hold.session_id), self.agent.store.transaction() as db:
                decided = _decide(db, hold_id, staff, APPROVED)
                ctx = StoreContext(self.agent.store, role=Role.STAFF, customer_id=decided.customer_id,
                                   session_id=decided.session_id, staff_id=staff.id, retriever=self.agent.retriever)
                output = self.agent.runner.run_within(db, ctx, decided.tool, decided.arguments)
                _tool_row(db, decided, staff, output)
                _tell(db, decided, staff, text("holds", "approved", done=done_text(ACTIONS[decided.tool], output)))
        except ToolError as refusal:  # the store's policy refused it now (e.g. the order moved on): rolled back
            return self._failed(hold_id, staff, str(refusal))
        except StaleDataError:
            raise TicketError("the order was changed meanwhile; nothing was changed, try again") from None
        return decided

    def reject(self, hold_id: int, staff: StaffUser) -> RiskHold:
        hold = self._decidable(hold_id, staff)
        order_id = hold.arguments.get("order_id")
        with locales.speaking(self._language(hold.session_id)):
            notice = (text("holds", "rejected_order", order_id=order_id) if order_id
                      else text("holds", "rejected_account"))
        with self.agent.store.transaction() as db:
            decided = _decide(db, hold_id, staff, REJECTED)
            _tell(db, decided, staff, notice)
        return decided

    def _failed(self, hold_id: int, staff: StaffUser, error: str) -> RiskHold:
        with self.agent.store.transaction() as db:
            decided = _decide(db, hold_id, staff, FAILED, outcome=error)
            _tell(db, decided, staff, text("holds", "failed", error=failure_text(error) or error))
        return decided

    def _language(self, session_id: str) -> str:
        try:
            return self.agent.conversations.state(session_id).language
        except SessionNotFound:  # the conversation was erased (privacy): the notice goes nowhere anyway
            return locales.DEFAULT

    def _decidable(self, hold_id: int, staff: StaffUser) -> RiskHold:
        with self.agent.store.session() as db:
            hold = db.get(RiskHold, hold_id)
        if hold is None:
            raise LookupError(f"no held action {hold_id}")
        if not may_decide(staff, hold):
            raise StaffForbidden(f"deciding held action {hold_id} needs a {hold.approver}")
        return hold


def may_decide(staff: StaffUser, hold: RiskHold) -> bool:
    return role_of(staff).covers(StaffRole(hold.approver))


def _decide(db: Session, hold_id: int, staff: StaffUser, status: str, outcome: str | None = None) -> RiskHold:
    """Mark the hold decided, only if it still waits (one conditional update: of two concurrent decisions,
    one finds it decided), with its audit entry."""
    changed = db.execute(update(RiskHold).where(RiskHold.id == hold_id, RiskHold.status == HELD).values(
        status=status, decided_by=staff.id, decided_at=datetime.now(UTC), outcome=outcome))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise TicketError(f"held action {hold_id} was already decided")
    hold = db.get(RiskHold, hold_id)
    assert hold is not None
    db.add(AuditEntry(actor=f"staff:{staff.id}", session_id=hold.session_id, action=f"risk_hold_{status}",
                      target_type="risk_hold", target_id=str(hold.id),
                      arguments={"tool": hold.tool, "arguments": hold.arguments}, before={"status": HELD},
                      after=hold.to_json()))
    return hold


def _tool_row(db: Session, hold: RiskHold, staff: StaffUser, output: Any) -> None:
    """The action's result in the conversation's record, as a staff action (the grounding evidence reads it)."""
    db.add(ChatMessage(session_id=hold.session_id, role="tool", text=json.dumps(output, default=str), payload={
        "name": hold.tool, "arguments": hold.arguments, "ok": True, "error": None, "staff_id": staff.id}))


def _tell(db: Session, hold: RiskHold, staff: StaffUser, notice: str) -> None:
    """The decision in the customer's chat (a live notice, as a person's are)."""
    db.add(ChatMessage(session_id=hold.session_id, role="assistant", text=notice, payload={
        "live": True, "human": False, "notice": True, "staff_id": staff.id, "author": staff.display_name}))
