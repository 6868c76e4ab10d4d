"""A problem told without a wish ("I lost my tablet", "the blender I got is broken"): the agent does not guess a
return; it names what it found of the customer's orders and asks what they would like done. Their answer starts
that request, read together with the problem they told (agent/flows/turn.py `request_of`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.flows.outcome import Outcome, ask
from agent.nlu import Understanding
from agent.replies import lines_text, say, term

if TYPE_CHECKING:
    from agent.flows.turn import Turn

MOST_SHOWN = 4  # orders named in the question: enough to recognise, not a listing of the account


def ask_wish(turn: Turn, said: Understanding) -> Outcome:
    from agent.flows.orders import named_in  # (orders imports the specs, which import this flow)

    found = [(order, lines) for order in turn.customer_orders() if (lines := named_in(order, said))]
    if not found:
        return ask("ask_problem", gist="asking what the customer would like done about a problem")
    shown = [say("problem_found_line", items=lines_text(lines), order_id=order["order_id"])
             for order, lines in found[:MOST_SHOWN]]
    return ask("ask_problem_items", found=term("line_separator").join(shown),
               gist="asking what the customer would like done about the items named")
