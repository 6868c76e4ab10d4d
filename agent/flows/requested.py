"""What an order already has requested: a customer who asks again for a return, exchange or cancellation that is
already done (often in this very conversation, or to ask what it comes to) hears what was requested and its
amounts, not that the order's status no longer allows the request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.flows.cancel import refunded
from agent.nlu import Intent
from agent.replies import lines_text, method_text, money, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn

Order = dict[str, Any]


def already(turn: Turn, order: Order, intent: Intent) -> str | None:
    """What the order already has of the request `intent`, in words; None when it has nothing of it."""
    if intent is Intent.RETURN and order.get("return_items"):
        return returned(turn, order)
    if intent is Intent.EXCHANGE and order.get("exchange_items"):
        return exchanged(turn, order)
    if intent is Intent.EXCHANGE and order["status"] == "pending (item modified)":
        return say("already_modified", order_id=order["order_id"])
    if intent is Intent.CANCEL and order["status"] == "cancelled":
        return say("already_cancelled", order_id=order["order_id"], amount=money(refunded(order)))
    return None


def summary(turn: Turn, order: Order) -> str:
    """The return or exchange an order has requested, for a status reply (empty when it has none)."""
    if order.get("return_items"):
        return " " + returned(turn, order)
    if order.get("exchange_items"):
        return " " + exchanged(turn, order)
    return ""


def returned(turn: Turn, order: Order) -> str:
    lines, rest = _split(order, order["return_items"])
    text = say("already_returned", order_id=order["order_id"], items=lines_text(lines),
               amount=turn.total([line["price"] for line in lines]),
               method=_method(turn, order.get("return_payment_method_id")))
    return text + _rest(turn, rest)


def exchanged(turn: Turn, order: Order) -> str:
    lines, _ = _split(order, order["exchange_items"])
    difference = float(order.get("exchange_price_difference") or 0)
    return say("already_exchanged", order_id=order["order_id"], items=lines_text(lines),
               difference=money(abs(difference)), direction=say("charged_to" if difference > 0 else "refunded_to"),
               method=_method(turn, order.get("exchange_payment_method_id")))


def _split(order: Order, item_ids: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The order's lines with the given item ids, and the others (each id takes one line)."""
    wanted, taken, rest = list(item_ids), [], []
    for line in order["items"]:
        if line["item_id"] in wanted:
            wanted.remove(line["item_id"])
            taken.append(line)
        else:
            rest.append(line)
    return taken, rest


def _rest(turn: Turn, rest: list[dict[str, Any]]) -> str:
    if not rest:
        return ""
    return " " + say("rest_of_order", items=lines_text(rest), amount=turn.total([line["price"] for line in rest]))


def _method(turn: Turn, method_id: str | None) -> str:
    user = turn.user() if method_id else None
    method = user["payment_methods"].get(method_id) if user else None
    return method_text(method) if method else say("original_method")
