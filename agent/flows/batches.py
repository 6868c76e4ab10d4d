"""What follows a finished step: the next order of a batch ("cancel all my pending orders": each proposed and
confirmed in turn), then the next request the customer's message made ("... and return the watch"), in the same
reply; and, all done, the total refunded if the customer asked."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from agent.flows.cues import REFERS_BACK
from agent.flows.outcome import Outcome
from agent.nlu import Intent, understand
from agent.replies import say

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def forget_request(turn: Turn) -> None:
    """Drop the open request, its proposal, its batch and the requests queued after it."""
    turn.state.pending = None
    turn.state.batch = None
    turn.state.queued = []
    turn.state.intent = None
    turn.state.request = ""


def joined(done: Outcome, following: Outcome) -> Outcome:
    """One reply for a finished step and the one after it (the next order of a batch, the next request)."""
    return Outcome(f"{done.body}\n\n{following.body}", cards=done.cards + following.cards,
                   confirmation=following.confirmation, gist=following.gist, asks=following.asks)


def next_in_batch(turn: Turn, done: Outcome) -> Outcome:
    """After one order of a batch is done: the proposal for the next, in the same reply (or, the batch done,
    the customer's next request)."""
    batch = turn.state.batch
    if not batch or not batch["order_ids"]:
        turn.state.batch = None
        return take_up_queued(turn, done)
    turn.state.order_id = batch["order_ids"].pop(0)
    intent = Intent(batch["intent"])
    turn.state.intent = intent.value
    return joined(done, turn.run(intent, understand(turn.state.request)))


def take_up_queued(turn: Turn, outcome: Outcome) -> Outcome:
    """Once a request is finished (nothing asked, nothing to confirm): the next one the customer's message
    made, in the same reply."""
    if outcome.asks or outcome.confirmation or turn.state.pending:
        return outcome
    if not turn.state.queued:
        return _with_refund_total(turn, outcome)
    text = turn.state.queued.pop(0)
    said = understand(text)
    if said.intent is None:
        return outcome
    turn.state.intent, turn.state.request = said.intent.value, text
    if not REFERS_BACK.search(text):  # "... and return the watch": it names its own order or items
        turn.state.order_id = None
    return joined(outcome, take_up_queued(turn, turn.run(said.intent, said)))


def _with_refund_total(turn: Turn, outcome: Outcome) -> Outcome:
    """Everything the message asked for done: what it refunds in all, if the customer asked (computed by the
    calculator tool, so the figure is in a tool result)."""
    refunds, turn.state.refunds = turn.state.refunds, None
    if not refunds:
        return outcome
    total = say("refund_total", amount=turn.total(refunds))
    return replace(outcome, body=f"{outcome.body}\n\n{total}")
