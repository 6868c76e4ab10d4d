"""Greetings, thanks, and the hand-over to a person (asked for, or a topic the store's agent does not handle)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.flows.outcome import Outcome
from agent.nlu import Understanding
from agent.replies import say

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def greet(turn: Turn, said: Understanding) -> Outcome:
    key = "greeting_known" if turn.ctx.customer_id else "greeting"
    return Outcome(say(key), gist="a greeting")


def thank(turn: Turn, said: Understanding) -> Outcome:
    return Outcome(say("thanks"), gist="the customer says thanks", closing=True)


def transfer(turn: Turn, said: Understanding) -> Outcome:
    summary = turn.agent.summary(turn.session_id, turn.ctx.customer_id, said.text)
    result = turn.call("transfer_to_human_agents", summary=summary)
    if not result.ok:
        return turn.failed()
    turn.state.handed_off = True
    return Outcome(say("handoff"), handoff=summary, gist="transferring to a person")
