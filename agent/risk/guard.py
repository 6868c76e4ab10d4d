"""The tool runner's risk guard: a customer's confirmed write that matches a rule is recorded as held (a
`risk_holds` row and an audit entry, in the action's own transaction) instead of running."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.escalation.roles import StaffRole, highest
from agent.risk.rules import DEFAULT_RULES, RiskRule, load_rules
from agent.risk.signals import SIGNALS, Request, utc_now
from agent.risk.tables import HELD, RiskHold
from tools.context import Role, StoreContext
from tools.errors import ToolError
from tools.retail.data_model import AuditEntry

log = logging.getLogger(__name__)


class RiskGuard:
    def __init__(self, rules: list[RiskRule], *, clock: Callable[[], datetime] = utc_now) -> None:
        self.rules = rules
        self.clock = clock

    @classmethod
    def from_file(cls, path: Path = DEFAULT_RULES) -> RiskGuard:
        return cls(load_rules(path))

    def matching(self, db: Session, request: Request) -> list[RiskRule]:
        return [rule for rule in self.rules
                if request.tool in rule.actions and SIGNALS[rule.signal](db, rule, request)]

    def hold(self, db: Session, ctx: StoreContext, name: str, arguments: dict[str, Any]) -> bool:
        """Hold a customer's matching action; refuse a staff member's that their role may not approve (else the
        console's own action button would skip the approval); let everything else run."""
        request = Request(ctx.customer_id, ctx.session_id, name, arguments, self.clock())
        matched = self.matching(db, request)
        if not matched:
            return False
        approver = highest([rule.approver for rule in matched])
        if ctx.role is Role.STAFF:
            if StaffRole(ctx.staff_role or StaffRole.AGENT).covers(approver):
                return False
            raise ToolError(f"Risk control ({', '.join(r.name for r in matched)}): this action needs a {approver}.")
        if ctx.session_id is None:
            raise ToolError("This action needs a staff member's approval; nothing was changed.")
        if self._already_waiting(db, ctx.customer_id, name, arguments):
            return True  # confirmed again while it waits: one decision for one action
        held = RiskHold(session_id=ctx.session_id, customer_id=ctx.customer_id, tool=name, arguments=arguments,
                        summary=ctx.approved_summary(name, arguments), rules=[rule.name for rule in matched],
                        approver=approver.value, created_at=request.now)
        db.add(held)
        db.flush()  # its id, for the audit entry
        db.add(AuditEntry(actor=ctx.actor, session_id=ctx.session_id, action="risk_hold", target_type="risk_hold",
                          target_id=str(held.id), arguments={"tool": name, "arguments": arguments,
                                                            "rules": held.rules}, before=None, after=held.to_json()))
        log.info("session %s: %s held for approval (%s)", ctx.session_id, name, ", ".join(held.rules))
        return True

    @staticmethod
    def _already_waiting(db: Session, customer_id: str | None, name: str, arguments: dict[str, Any]) -> bool:
        waiting = db.scalars(select(RiskHold.arguments).where(
            RiskHold.customer_id == customer_id, RiskHold.tool == name, RiskHold.status == HELD))
        return any(held == arguments for held in waiting)
