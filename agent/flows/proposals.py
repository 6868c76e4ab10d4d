"""Proposals and confirmation: every change is proposed with its spec's confirmation text and runs only on the
customer's explicit yes to exactly those details (tools/ checks the approval again); a proposal can be narrowed
to some of its items or paid with another method before the yes."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent import resolve
from agent.flows.batches import forget_request, next_in_batch
from agent.flows.outcome import Outcome
from agent.flows.spec import ACTIONS, NARROWABLE, REPLACES_PROPOSAL, Action
from agent.nlu import CREDIT_CARD, GIFT_CARD, PAYPAL, Understanding, understand
from agent.reader import extract
from agent.reader.acts import Move, PaymentKind
from agent.replies import address_text, say
from tools.faults import fault_point

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def propose(turn: Turn, tool: str, arguments: dict[str, Any], **text: Any) -> Outcome:
    """Ask the customer to confirm the tool's call, in the words of its action's confirmation text; unless the
    store would refuse it (a rehearsal, rolled back, runs its policy checks): then why not, before any yes."""
    rehearsed = turn.agent.runner.rehearse(turn.ctx, tool, arguments)
    if not rehearsed.ok:
        turn.state.batch = None
        return Outcome(say("cannot_do", reason=turn.refusal(rehearsed.error or "")), gist="a refusal")
    summary = say(ACTIONS[tool].confirm, **text)
    # The id is the action's idempotency key: however often the yes reaches the store, it acts once.
    turn.state.pending = {"tool": tool, "arguments": arguments, "summary": summary, "id": secrets.token_urlsafe(16)}
    return Outcome(
        summary + say("confirm_question"),
        confirmation={"action": tool, "summary": summary},
        gist="asking the customer to confirm an action",
    )


def answer(turn: Turn, said: Understanding) -> Outcome | None:
    """The customer's answer to the proposal: yes runs it, a narrowing revises it, no drops it, anything else but
    another action asks again; None when a new request replaces it (the turn goes on with that)."""
    if said.yes and not names_something_else(turn, said):
        return execute(turn)
    revised = _revised(turn, said)
    if revised is not None:
        return revised
    if said.no:
        forget_request(turn)
        return Outcome(say("declined"), gist="the customer declined")
    if not set(said.intents) & REPLACES_PROPOSAL and not names_something_else(turn, said):
        return _ask_again(turn)  # neither a clear yes, a no, nor another action: the proposal stands
    forget_request(turn)  # a new request replaces the proposal
    return None


def execute(turn: Turn) -> Outcome:
    """Run the confirmed proposal (approved for exactly these arguments), then the batch's next order if any."""
    pending, turn.state.pending = turn.state.pending, None
    assert pending is not None
    # The id is the idempotency key (none: a proposal made before ids); the summary is what the customer approved.
    turn.ctx.approve(pending["tool"], pending["arguments"], pending["summary"], key=pending.get("id"))
    result = turn.call(pending["tool"], **pending["arguments"])
    fault_point("tool_row_stored")
    turn.state.intent = None
    if result.held:  # risk control: a person approves it first; the customer hears what happens next
        return next_in_batch(turn, Outcome(say("held_for_approval"), gist="the action waits for approval"))
    if not result.ok:
        turn.state.batch = None
        return turn.failed()
    action = ACTIONS[pending["tool"]]
    if turn.state.refunds is not None:  # the customer asked what all this refunds
        turn.state.refunds.append(action.refunded(result.output) if action.refunded else 0.0)
    return next_in_batch(turn, Outcome(done_text(action, result.output), gist="the action is done"))


def done_text(action: Action, output: dict[str, Any]) -> str:
    """The action's done text, from the tool's output: the order it changed, or the account's new address."""
    if "order_id" in output:
        return say(action.done, order_id=output["order_id"], status=output["status"])
    return say(action.done, address=address_text(output["address"]))


def _ask_again(turn: Turn) -> Outcome:
    pending = turn.state.pending or {}
    return Outcome(
        pending["summary"] + say("confirm_again"),
        confirmation={"action": pending["tool"], "summary": pending["summary"]},
        gist="asking the customer to confirm an action",
    )


def _revised(turn: Turn, said: Understanding) -> Outcome | None:
    """The proposal again, changed as the customer's answer says: for only the items it now names of those
    it covered ("only exchange the desk lamp"), or paid with the method it names ("use my PayPal for any
    additional payment"); None when the message changes neither. The request is re-read whole, so each kept
    item keeps the words that chose its variant."""
    pending = turn.state.pending or {}
    arguments = pending.get("arguments", {})
    proposed = arguments.get("item_ids", [])
    if pending.get("tool") not in NARROWABLE:
        return None
    keep = _kept_items(turn, said, arguments) if said.moved(Move.ONLY, Move.CORRECTION) else set()
    method = _method_named(turn, said, arguments)
    if not keep and (method is None or method["id"] == arguments.get("payment_method_id")):
        return None
    turn.state.pending = None
    turn.keep_only = keep
    request = replace(understand(f"{said.text}\n{turn.state.request}"),  # the new words first
                      order_ids=[arguments["order_id"]], item_ids=list(proposed))
    return turn.run(NARROWABLE[pending["tool"]], request)


def _kept_items(turn: Turn, said: Understanding, arguments: dict[str, Any]) -> set[str]:
    """ "(yes, but) only the desk lamp": the proposed items the customer now names, when they name some of them."""
    proposed = arguments.get("item_ids", [])
    if len(set(proposed)) <= 1:
        return set()
    order = turn.output("get_order_details", order_id=arguments["order_id"])
    lines = [line for line in (order or {}).get("items", []) if line["item_id"] in proposed]
    named = resolve.named_lines({"items": lines}, said.text)
    return {line["item_id"] for line in named} if 0 < len(named) < len(lines) else set()


def _method_named(turn: Turn, said: Understanding, arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The payment method the answer names ("use my PayPal", "the other card"), if it names one."""
    if not any(p.search(said.text) for p in (GIFT_CARD, PAYPAL, CREDIT_CARD)):  # the words payment uses
        return None
    user = turn.user()
    if user is None:
        return None
    return resolve.payment_method(user, said.text) or _other_card(user, arguments, said)


def _other_card(user: dict[str, Any], arguments: dict[str, Any], said: Understanding) -> dict[str, Any] | None:
    """ "I'd prefer the other card": the customer's one other credit card than the proposal's."""
    if not said.moved(Move.OTHER) or extract.payment_kind(said.text) is not PaymentKind.CREDIT_CARD:
        return None
    others = [m for m in user["payment_methods"].values()
              if m["source"] == "credit_card" and m["id"] != arguments.get("payment_method_id")]
    return others[0] if len(others) == 1 else None


def names_something_else(turn: Turn, said: Understanding) -> bool:
    """A "yes" that names another order or item is a new request, not a confirmation of the proposal."""
    arguments = (turn.state.pending or {}).get("arguments", {})
    other_order = any(order_id != arguments.get("order_id") for order_id in said.order_ids)
    proposed_items = set(arguments.get("item_ids", [])) | set(arguments.get("new_item_ids", []))
    other_item = any(item_id not in proposed_items for item_id in said.item_ids)
    return other_order or other_item
