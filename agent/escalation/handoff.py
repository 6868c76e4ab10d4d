"""What a person taking over needs, gathered when the ticket is filed: the conversation in brief, what the agent
already did (its tool calls), the customer's relevant orders and the sentiment timeline."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.escalation.tables import EscalationTurn
from agent.escalation.texts import reason_words, text, tool_words
from agent.memory import ChatMessage
from tools.retail.data_model import Order, User

LAST_MESSAGES = 4
MAX_ORDERS = 5
READ_ONLY_TOOLS_SHOWN = {"find_user_id_by_email", "find_user_id_by_name_zip", "get_order_details"}


@dataclass
class HandoffContext:
    summary: str
    actions_done: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    order_value: float
    timeline: list[dict[str, Any]]


def gather(db: Session, session_id: str, customer_id: str | None, reason: str,
           discussed_order: str | None = None) -> HandoffContext:
    messages = list(db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id)
                               .order_by(ChatMessage.id)))
    actions = [_action(m) for m in messages if m.role == "tool"]
    mentioned = _mentioned_orders(actions, discussed_order)
    orders = customer_orders(db, customer_id, mentioned)
    relevant = [o for o in orders if o["mentioned"]] or orders[:1]
    said = [m.text for m in messages if m.role == "user"][-LAST_MESSAGES:]
    done = [a for a in actions if a["ok"] and a["name"] != "transfer_to_human_agents"]
    who = text("summary", "who_known", customer_id=customer_id) if customer_id else text("summary", "who_unknown")
    lines = [
        f"{who}. " + text("summary", "reason", reason=reason_words(reason)),
        text("summary", "said", messages=" | ".join(said)),
        text("summary", "done", actions="; ".join(dict.fromkeys(_action_line(a) for a in done))) if done
        else text("summary", "nothing_done"),
    ]
    return HandoffContext(
        summary="\n".join(lines),
        actions_done=actions,
        orders=orders,
        order_value=float(sum(Decimal(str(o["total"])) for o in relevant)),
        timeline=timeline(db, session_id),
    )


def timeline(db: Session, session_id: str) -> list[dict[str, Any]]:
    rows = db.scalars(select(EscalationTurn).where(EscalationTurn.session_id == session_id)
                      .order_by(EscalationTurn.id))
    rows = [r for r in rows if not r.signals.get("reset")]  # a hand-back marker, not a customer turn
    return [{"turn": i + 1, "message_id": r.message_id, "at": r.created_at.isoformat(),
             "frustration": round(r.frustration, 3), "smoothed": round(r.smoothed, 3),
             "language": r.signals.get("language"), "decision": r.decision}
            for i, r in enumerate(rows)]


def customer_orders(db: Session, customer_id: str | None, mentioned: list[str] | None = None) -> list[dict[str, Any]]:
    """The customer's orders, those discussed in the conversation first (in `mentioned`'s order), then the most
    recent."""
    if not customer_id or db.get(User, customer_id) is None:
        return []
    mentioned = mentioned or []
    orders = list(db.scalars(select(Order).where(Order.user_id == customer_id)
                             .order_by(Order.user_position.desc())))
    rank = {order_id: i for i, order_id in enumerate(mentioned)}
    orders.sort(key=lambda o: rank.get(o.order_id, len(rank)))  # stable: discussed first, then newest first
    return [
        {
            "order_id": order.order_id,
            "status": order.status,
            "total": f"{sum((line.price for line in order.items), Decimal('0')):.2f}",
            "items": [{"item_id": line.item_id, "name": line.name, "price": f"{line.price:.2f}",
                       "options": line.options} for line in order.items],
            "mentioned": order.order_id in mentioned,
        }
        for order in orders[:MAX_ORDERS]
    ]


def _action(message: ChatMessage) -> dict[str, Any]:
    payload = message.payload or {}
    return {"name": payload.get("name", "?"), "arguments": payload.get("arguments", {}),
            "ok": bool(payload.get("ok")), "error": payload.get("error"), "at": message.created_at.isoformat()}


def _action_line(action: dict[str, Any]) -> str:
    """In words with the values it used ("Order details (#W2378156)"): the summary is read by people."""
    values = ", ".join(str(v) for k, v in action["arguments"].items() if k != "summary")
    return tool_words(action["name"]) + (f" ({values})" if values else "")


def _mentioned_orders(actions: list[dict[str, Any]], discussed: str | None) -> list[str]:
    """The conversation's current order first, then the others its tool calls looked at, first looked at first."""
    found = [a["arguments"].get("order_id") for a in actions if a["arguments"].get("order_id")]
    return list(dict.fromkeys([discussed, *found] if discussed else found))
