"""Slot readers more than one request shares: the order's original payment method, the items to ask about."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.flows.outcome import Outcome, ask
from agent.replies import lines_text, method_text

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def original_payment(turn: Turn, order: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The customer's record and the order's original payment method."""
    user = turn.user()
    if user is None or not order["payment_history"]:
        return user, None
    original = order["payment_history"][0]["payment_method_id"]
    return user, user["payment_methods"].get(original)


def methods_text(user: dict[str, Any]) -> str:
    """The payment methods on file, for a question about which one to use."""
    return "; ".join(method_text(m) for m in user["payment_methods"].values())


def ask_items(order: dict[str, Any]) -> Outcome:
    return ask("ask_items", order_id=order["order_id"], items=lines_text(order["items"]))


def paid(order: dict[str, Any]) -> list[float]:
    """The amounts paid for the order (its refunds left out)."""
    return [p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment"]
