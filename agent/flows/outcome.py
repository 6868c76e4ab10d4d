"""What a flow decides: the grounded reply body and what the widget shows with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.nlu import Understanding
from agent.replies import say

if TYPE_CHECKING:
    from agent.flows.turn import Turn


@dataclass
class Outcome:
    """What a turn decided: the grounded reply body and what the widget should show with it."""

    body: str
    cards: list[dict[str, Any]] = field(default_factory=list)
    confirmation: dict[str, Any] | None = None
    handoff: str | None = None
    gist: str = ""  # what the reply is about, for the model's opening line
    asks: bool = False  # the agent asked for something the request still needs
    suggestion: dict[str, Any] | None = None  # an unasked suggestion, shown apart (agent/proactive.py)
    asked: str | None = None  # which detail it asked for (a reader Context value): the reader reads the answer by it
    closing: bool = False  # the customer is wrapping up (thanks, goodbye): the widget asks "Was this solved?"


# The question each of the flows' asking texts puts: the next message is read as a possible answer to it.
QUESTION_OF = {"ask_identity": "identity", "ask_identity_code": "identity", "ask_zip": "identity",
               "ask_order": "order", "ask_items": "item", "ask_which_ordered": "item", "ask_new_option": "option",
               "ask_address": "address", "ask_payment": "payment", "ask_refund_method": "payment",
               "ask_difference_method": "payment", "ask_reason": "reason"}


def ask(key: str, gist: str = "asking for a detail", **slots: Any) -> Outcome:
    """A question for a detail the request still needs (the request stays open for the answer)."""
    return Outcome(say(key, **slots), gist=gist, asks=True, asked=QUESTION_OF.get(key))


# A request's flow: reads the customer's words, asks for what is missing or proposes its action.
Flow = Callable[["Turn", Understanding], Outcome]
