"""Pay a pending order with another method on file: the order, the method the customer names, the proposal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent import resolve
from agent.flows.outcome import Outcome, ask
from agent.flows.slots import methods_text
from agent.nlu import Intent, Understanding
from agent.replies import method_text

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def change_payment(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order_in(said, Intent.CHANGE_PAYMENT)
    if isinstance(order, Outcome):
        return order
    user = turn.user()
    if user is None:
        return turn.failed()
    method = resolve.payment_method(user, said.text)
    if method is None:
        return ask("ask_payment", methods=methods_text(user), gist="asking which payment method")
    arguments = {"order_id": order["order_id"], "payment_method_id": method["id"]}
    return turn.propose("modify_pending_order_payment", arguments, order_id=order["order_id"],
                        method=method_text(method))
