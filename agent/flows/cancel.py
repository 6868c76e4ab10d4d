"""Cancel a pending order: the order, the customer's reason, then the proposal (refund to the original method)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.flows.outcome import Outcome, ask
from agent.flows.slots import original_payment, paid
from agent.nlu import Intent, Understanding, cancel_reason
from agent.replies import lines_text, method_text, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def cancel(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order_in(said, Intent.CANCEL)
    if isinstance(order, Outcome):
        return order
    reason = cancel_reason(said.text)
    if reason is None and turn.state.asked == "reason":  # asked once and told none: the policy needs one
        return Outcome(say("reason_needed", order_id=order["order_id"]), gist="a reason is needed")
    if reason is None:
        return ask("ask_reason", order_id=order["order_id"])
    user, method = original_payment(turn, order)
    if user is None:
        return turn.failed()
    amount = turn.total(paid(order))
    return turn.propose(
        "cancel_pending_order", {"order_id": order["order_id"], "reason": reason},
        order_id=order["order_id"], items=lines_text(order["items"]), reason=reason, amount=amount,
        method=method_text(method) if method else say("original_method"),
    )


def refunded(order: dict[str, Any]) -> float:
    """What the cancellation refunded: the refunds in the cancelled order's payment history."""
    return sum(p["amount"] for p in order["payment_history"] if p["transaction_type"] == "refund")
