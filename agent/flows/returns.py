"""Return items of a delivered order: the order, its items, the refund's method, then the proposal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent import resolve
from agent.flows.outcome import Outcome, ask
from agent.flows.slots import ask_items, methods_text, original_payment
from agent.nlu import Intent, Understanding
from agent.replies import lines_text, method_text

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def give_back(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order_in(said, Intent.RETURN)
    if isinstance(order, Outcome):
        return order
    lines = resolve.order_lines(order, said.text, said.item_ids)
    if lines is None:
        return ask_items(order)
    lines = [line for line in lines if not turn.keep_only or line["item_id"] in turn.keep_only]
    user, original = original_payment(turn, order)
    if user is None:
        return turn.failed()
    # Policy: the refund goes to the original payment method or a gift card, as the customer chooses; asked when
    # they named none of those and there is a choice.
    eligible = [m for m in user["payment_methods"].values() if m is original or m["source"] == "gift_card"]
    method = resolve.payment_method(user, said.text, original)
    if method not in eligible:
        method = eligible[0] if len(eligible) == 1 else None
    if method is None:
        methods = "; ".join(method_text(m) for m in eligible) or methods_text(user)
        return ask("ask_refund_method", methods=methods, gist="asking where the refund goes")
    arguments = {
        "order_id": order["order_id"],
        "item_ids": [line["item_id"] for line in lines],
        "payment_method_id": method["id"],
    }
    amount = turn.total([line["price"] for line in lines])
    return turn.propose("return_delivered_order_items", arguments, items=lines_text(lines), order_id=order["order_id"],
                        amount=amount, method=method_text(method))


def refunded(order: dict[str, Any]) -> float:
    """What the return refunds: the prices of the returned items."""
    return sum(line["price"] for line in order["items"] if line["item_id"] in order.get("return_items", []))
