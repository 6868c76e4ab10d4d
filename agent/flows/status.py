"""Questions about the account and its orders: the account's orders and payment methods, an order's status, and
when it will arrive (the delivery model's window, predict_delivery, in words built only from the tool's result)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent import resolve
from agent.flows import requested
from agent.flows.cues import ADDRESS_ASKED, SPENT
from agent.flows.outcome import Outcome
from agent.flows.slots import paid
from agent.nlu import Understanding
from agent.replies import address_text, day_text, lines_text, method_text, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def account(turn: Turn, said: Understanding) -> Outcome:
    if SPENT.search(said.text) and (spent := spent_on(turn, said)) is not None:
        return spent
    user = turn.user()
    if user is None:
        return turn.failed()
    methods = ", ".join(method_text(m) for m in user["payment_methods"].values())
    orders = ", ".join(user["orders"]) or say("none_listed")
    return Outcome(say("account", count=len(user["orders"]), orders=orders, methods=methods), gist="the account")


def spent_on(turn: Turn, said: Understanding) -> Outcome | None:
    """What the items the customer names came to over all their orders that were not cancelled, added up by the
    calculator; None when the words name no item they bought."""
    lines = [line for order in turn.customer_orders() if order["status"] != "cancelled"
             for line in resolve.named_lines(order, said.text)]
    if not lines:
        return None
    return Outcome(say("spent_on", items=lines_text(lines), amount=turn.total([line["price"] for line in lines])),
                   gist="what the named items came to")


def order_status(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order(said)
    if isinstance(order, Outcome):
        return order
    tracking_ids = [t for f in order["fulfillments"] for t in f["tracking_id"]]
    tracking = say("tracking", tracking_ids=", ".join(tracking_ids)) if tracking_ids else ""
    items = lines_text(order["items"])
    amounts = paid(order)
    if ADDRESS_ASKED.search(said.text):  # "which address the order was sent to"
        tracking = say("order_sent_to", address=address_text(order["address"])) + tracking
    body = say("order_status", order_id=order["order_id"], status=order["status"], items=items, tracking=tracking,
               paid=say("order_paid", amount=turn.total(amounts)) if amounts else "")
    body += requested.summary(turn, order)  # a requested return or exchange, with what it comes to
    return Outcome(body, gist="the order's status")


def arrival(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order(said)  # the same identity and order resolution as the order-status flow
    if isinstance(order, Outcome):
        return order
    estimate = turn.output("predict_delivery", order_id=order["order_id"])
    if estimate is None:
        return turn.failed()
    return Outcome(arrival_text(estimate), gist="the order's expected delivery")


def arrival_text(estimate: dict) -> str:
    stage = estimate["stage"]
    if stage == "cancelled":
        return say("arrival_cancelled", order_id=estimate["order_id"])
    if stage == "delivered":
        if "delivered_day" not in estimate:
            return say("arrival_delivered_unknown", order_id=estimate["order_id"])
        key = "arrival_delivered_on_time" if estimate["on_time"] else "arrival_delivered_late"
        return say(key, order_id=estimate["order_id"], day=day_text(estimate["delivered_at"]),
                   promised=day_text(estimate["promised_at"]))
    where = say("arrival_not_shipped" if stage == "awaiting shipment" else "arrival_in_transit",
                carrier=estimate["carrier"])
    key = "arrival_overdue" if estimate["overdue"] else "arrival_window"
    window = estimate["arrival"]  # ISO times: each day is named the customer's way (the *_day labels are English)
    return say(key, order_id=estimate["order_id"], status=estimate["status"], where=where,
               likely=day_text(window["p50"]), latest=day_text(window["p90"]), earliest=day_text(window["p10"]),
               promised=day_text(estimate["promised_at"]), risk=estimate["late_risk_percent"])
