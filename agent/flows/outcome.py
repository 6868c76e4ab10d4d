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


def ask(key: str, gist: str = "asking for a detail", **slots: Any) -> Outcome:
    """A question for a detail the request still needs (the request stays open for the answer)."""
    return Outcome(say(key, **slots), gist=gist, asks=True)


# A request's flow: reads the customer's words, asks for what is missing or proposes its action.
Flow = Callable[["Turn", Understanding], Outcome]
