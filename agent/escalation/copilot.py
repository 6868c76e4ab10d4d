"""The copilot's suggestions for the person on a ticket: replies drafted from tool results (checked by the same
grounding checker as the bot's replies) and tool calls to approve with one click (run through the same runner
and policy as the bot's, see console.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args

from agent import locales
from agent.escalation.tables import HandoffTicket
from agent.escalation.texts import text
from agent.grounding import Evidence
from agent.llm.base import GenerationOptions, complete_json
from agent.memory import DialogueState
from agent.nlu import cancel_reason
from agent.replies import lines_text, say
from tools.context import Role, StoreContext
from tools.retail.tools import CancelReason

if TYPE_CHECKING:
    from agent.manager import Agent

log = logging.getLogger(__name__)
MAX_ORDERS = 2


@dataclass
class Suggestions:
    drafts: list[dict[str, Any]] = field(default_factory=list)  # {"text", "grounded_in"}
    actions: list[dict[str, Any]] = field(default_factory=list)  # {"label", "tool", "arguments", "kind"}


def suggest(agent: Agent, ticket: HandoffTicket, state: DialogueState, orders: list[dict[str, Any]]) -> Suggestions:
    relevant = ([o for o in orders if o["mentioned"]] or orders)[:MAX_ORDERS]
    details = _order_details(agent, ticket, state, relevant)
    evidence = Evidence.from_results([*_evidence_texts(agent, ticket), *(json.dumps(d) for d in details)])
    suggestions = Suggestions()
    with locales.speaking(state.language):  # the person writes to the customer in the customer's language
        candidates = _drafts(agent, ticket, state, details)
    for draft in candidates:
        if not agent.checker.violations(draft, evidence):  # a draft states nothing the tools did not say
            suggestions.drafts.append({"text": draft, "grounded": True})
    suggestions.actions = _actions(agent, ticket, state, details)
    return suggestions


def _drafts(agent: Agent, ticket: HandoffTicket, state: DialogueState, details: list[dict[str, Any]]) -> list[str]:
    candidates = [_first_draft(agent, ticket), *_order_drafts(details)]
    if state.pending:
        candidates.append(text("drafts", "proposal", summary=state.pending["summary"]))
    candidates.append(text("drafts", "closing"))
    return candidates


def _evidence_texts(agent: Agent, ticket: HandoffTicket) -> list[str]:
    rows = agent.conversations.messages(ticket.session_id, roles=("tool",))
    return [row.text for row in rows if (row.payload or {}).get("ok")]


def _order_details(agent: Agent, ticket: HandoffTicket, state: DialogueState,
                   orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fresh get_order_details results, read as staff for the conversation's customer (read tools only)."""
    if not state.customer_id:
        return []
    ctx = StoreContext(agent.store, role=Role.STAFF, customer_id=state.customer_id, session_id=ticket.session_id,
                       staff_id="copilot")
    found = []
    for order in orders:
        result = agent.runner.call(ctx, "get_order_details", {"order_id": order["order_id"]})
        if result.ok:
            found.append(json.loads(result.output) if isinstance(result.output, str) else result.output)
    return found


def _order_drafts(details: list[dict[str, Any]]) -> list[str]:
    drafts = []
    for order in details:
        tracking = [t for f in order.get("fulfillments", []) for t in f.get("tracking_id", [])]
        drafts.append(say("order_status", order_id=order["order_id"], status=order["status"],
                          items=lines_text(order["items"]), paid="",
                          tracking=say("tracking", tracking_ids=", ".join(tracking)) if tracking else ""))
    return drafts


def _first_draft(agent: Agent, ticket: HandoffTicket) -> str:
    """One opener, composed once: thanks for raising a risk (no apology), else the model's pleasantry or, without
    a model, the apology, then the next step; never an opener stacked on an apology."""
    if ticket.reason.startswith("risk:"):
        return text("drafts", "risk")
    # The model's pleasantries are English: another language opens with the apology.
    opener = (_opening(agent, ticket) if locales.current() == locales.DEFAULT else "") or text("drafts", "apology")
    return f"{opener} {text('drafts', 'next_step')}"


def _opening(agent: Agent, ticket: HandoffTicket) -> str:
    """The model's opening, chosen among the fixed pleasantries for a problem under a grammar (as the bot's
    openings are)."""
    if agent.model is None:
        return ""
    from agent.voice import OPENINGS

    choices = OPENINGS["problem"]
    messages = [{"role": "system", "content": "Pick the opening line for a customer-service reply."},
                {"role": "user", "content": ticket.summary[:600]}]
    try:
        opening = complete_json(agent.model, messages, GenerationOptions(max_tokens=20, json_schema={"enum": choices}))
    except Exception:
        log.exception("the model failed on the copilot's opening")
        return ""
    return opening if opening in choices else ""


def _actions(agent: Agent, ticket: HandoffTicket, state: DialogueState,
             details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes a person may approve: the proposal the customer was offered, and what fits each order's status
    (cancel a pending order, return a delivered one). Look-ups are never offered: their results are shown."""
    said = " ".join(row.text for row in agent.conversations.messages(ticket.session_id, roles=("user",)))
    reason = cancel_reason(said)
    actions = [action for order in details for action in _fitting_actions(order, reason)]
    if state.pending:  # what the customer was offered comes first, and replaces the same change on that order
        proposal = {"label": text("actions", "proposal", summary=state.pending["summary"]),
                    "tool": state.pending["tool"], "arguments": state.pending["arguments"]}
        same = (proposal["tool"], proposal["arguments"].get("order_id"))
        actions = [proposal, *(a for a in actions if (a["tool"], a["arguments"].get("order_id")) != same)]
    for action in actions:
        action["kind"] = agent.runner.kind(action["tool"]).value
        action["kind_text"] = text("actions", "write")
    return [a for a in actions if a["kind"] == "write"]


def _fitting_actions(order: dict[str, Any], reason: str | None) -> list[dict[str, Any]]:
    """The actions that fit the order's status; a cancellation for each reason the tool accepts unless the
    customer gave one."""
    order_id = order["order_id"]
    if order["status"] == "pending":
        reasons = [reason] if reason else list(get_args(CancelReason))
        return [{"label": text("actions", "cancel", order_id=order_id, reason=why), "tool": "cancel_pending_order",
                 "arguments": {"order_id": order_id, "reason": why}} for why in reasons]
    payments = order.get("payment_history") or []
    if order["status"] == "delivered" and payments:
        return [{"label": text("actions", "return_all", order_id=order_id), "tool": "return_delivered_order_items",
                 "arguments": {"order_id": order_id, "item_ids": [item["item_id"] for item in order["items"]],
                               "payment_method_id": payments[0]["payment_method_id"]}}]
    return []
