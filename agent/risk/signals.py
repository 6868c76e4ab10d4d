"""The risk signals, each a question about the store database asked inside the action's transaction (so the
counts include everything committed before it): the order's value, the customer's recent actions (done, or held
and waiting), and the conversation's failed identity checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agent.memory import ChatMessage
from agent.risk.rules import RiskRule
from agent.risk.tables import HELD, RiskHold
from tools.retail.data_model import AuditEntry, Order, OrderItem
from tools.retail.tools import normalise_order_id

# A failed identity check: under tau2's benchmark policy, a look-up that errs; under the store's, a one-time code
# that does not verify (a wrong, expired or void one: the tool answers "verified": false).
IDENTITY_TOOLS = ("find_user_id_by_email", "find_user_id_by_name_zip")
CODE_CHECK = "check_sign_in_code"


@dataclass(frozen=True)
class Request:
    """The action about to run: who, where, what, when."""

    customer_id: str | None
    session_id: str | None
    tool: str
    arguments: dict[str, Any]
    now: datetime


def order_value(db: Session, rule: RiskRule, request: Request) -> bool:
    order_id = request.arguments.get("order_id")
    if not order_id:
        return False
    total = db.scalar(select(func.sum(OrderItem.price)).where(OrderItem.order_id == normalise_order_id(order_id)))
    return Decimal(total or 0) > Decimal(str(rule.above))


def repeated(db: Session, rule: RiskRule, request: Request) -> bool:
    since = request.now - timedelta(minutes=rule.window_minutes)
    return _recent(db, request, rule.counted(), since) >= rule.allowed  # this one would be one more


def after(db: Session, rule: RiskRule, request: Request) -> bool:
    since = request.now - timedelta(minutes=rule.window_minutes)
    return _recent(db, request, rule.after, since) > 0


def failed_identity(db: Session, rule: RiskRule, request: Request) -> bool:
    if request.session_id is None:
        return False
    since = request.now - timedelta(minutes=rule.window_minutes)
    rows = db.execute(select(ChatMessage.payload, ChatMessage.text).where(
        ChatMessage.session_id == request.session_id, ChatMessage.role == "tool", ChatMessage.created_at >= since))
    failures = sum(1 for payload, text in rows if _identity_failed(payload, text))
    return failures >= rule.at_least


def _identity_failed(payload: dict[str, Any], text: str) -> bool:
    if payload.get("name") in IDENTITY_TOOLS:
        return payload.get("ok") is False
    if payload.get("name") == CODE_CHECK and payload.get("ok"):
        return json.loads(text).get("verified") is False  # the tool's own answer (ToolResult.content)
    return False


SIGNALS: dict[str, Callable[[Session, RiskRule, Request], bool]] = {
    "order_value": order_value, "repeated": repeated, "after": after, "failed_identity": failed_identity,
}


def _recent(db: Session, request: Request, actions: frozenset[str], since: datetime) -> int:
    """The customer's actions of these kinds since `since`: done (the audit log, whoever ran them for the
    customer) and held, still waiting for a person."""
    if request.customer_id is None:
        return 0
    orders = select(Order.order_id).where(Order.user_id == request.customer_id)
    done = db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.in_(actions), AuditEntry.at >= since,
        or_((AuditEntry.target_type == "user") & (AuditEntry.target_id == request.customer_id),
            (AuditEntry.target_type == "order") & AuditEntry.target_id.in_(orders))))
    waiting = db.scalar(select(func.count()).select_from(RiskHold).where(
        RiskHold.customer_id == request.customer_id, RiskHold.status == HELD, RiskHold.tool.in_(actions),
        RiskHold.created_at >= since))
    return (done or 0) + (waiting or 0)


def utc_now() -> datetime:
    return datetime.now(UTC)
