"""The arrival flow: "when will my order arrive?" → identify the order like the status flow, ask the delivery
model (predict_delivery), and state its window in words built only from the tool's result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.nlu import Understanding
from agent.replies import say

if TYPE_CHECKING:
    from agent.flows import Outcome, Turn


def arrival(turn: Turn, said: Understanding) -> Outcome:
    from agent.flows import Outcome

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
        return say(key, order_id=estimate["order_id"], day=estimate["delivered_day"],
                   promised=estimate["promised_day"])
    where = say("arrival_not_shipped" if stage == "awaiting shipment" else "arrival_in_transit",
                carrier=estimate["carrier"])
    key = "arrival_overdue" if estimate["overdue"] else "arrival_window"
    return say(key, order_id=estimate["order_id"], status=estimate["status"], where=where,
               likely=estimate["likely_day"], latest=estimate["latest_day"], earliest=estimate["earliest_day"],
               promised=estimate["promised_day"], risk=estimate["late_risk_percent"])
