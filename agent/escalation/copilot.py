"""The copilot's suggestions for the person on a ticket: replies drafted from tool results (checked by the same
grounding checker as the bot's replies) and tool calls to approve with one click (run through the same runner
and policy as the bot's, see console.py)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent import locales
from agent.escalation.tables import HandoffTicket
from agent.escalation.texts import text
from agent.grounding import Evidence
from agent.llm.base import GenerationOptions, complete_json
from agent.memory import DialogueState
from agent.nlu import Intent, cancel_reason, understand
from agent.replies import lines_text, say
from tools.context import Role, StoreContext

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
    opening = _opening(agent, ticket) if locales.current() == locales.DEFAULT else ""  # English pleasantries
    candidates = [(opening + text("drafts", "apology")).strip(), *_order_drafts(details)]
    if ticket.reason.startswith("risk:"):
        candidates.insert(0, text("drafts", "risk"))
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


def _opening(agent: Agent, ticket: HandoffTicket) -> str:
    """The model's opening, chosen among fixed pleasantries under a grammar (as the bot's openings are)."""
    if agent.model is None:
        return ""
    from agent.manager import openings_for

    choices = openings_for("an error")
    messages = [{"role": "system", "content": "Pick the opening line for a customer-service reply."},
                {"role": "user", "content": ticket.summary[:600]}]
    try:
        opening = complete_json(agent.model, messages, GenerationOptions(max_tokens=20, json_schema={"enum": choices}))
    except Exception:
        log.exception("the model failed on the copilot's opening")
        return ""
    return f"{opening} " if opening in choices else ""


def _actions(agent: Agent, ticket: HandoffTicket, state: DialogueState,
             details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions = []
    if state.pending:
        actions.append({"label": text("actions", "proposal", summary=state.pending["summary"]),
                        "tool": state.pending["tool"], "arguments": state.pending["arguments"]})
    said = " ".join(row.text for row in agent.conversations.messages(ticket.session_id, roles=("user",)))
    wants = understand(said)
    for order in details:
        actions.append({"label": text("actions", "lookup", order_id=order["order_id"], status=order["status"]),
                        "tool": "get_order_details", "arguments": {"order_id": order["order_id"]}})
        reason = cancel_reason(said)
        if order["status"] == "pending" and wants.has(Intent.CANCEL) and reason:
            actions.append({"label": text("actions", "cancel", order_id=order["order_id"], reason=reason),
                            "tool": "cancel_pending_order",
                            "arguments": {"order_id": order["order_id"], "reason": reason}})
        payments = order.get("payment_history") or []
        if order["status"] == "delivered" and wants.has(Intent.RETURN) and payments:
            actions.append({"label": text("actions", "return_all", order_id=order["order_id"]),
                            "tool": "return_delivered_order_items",
                            "arguments": {"order_id": order["order_id"],
                                          "item_ids": [item["item_id"] for item in order["items"]],
                                          "payment_method_id": payments[0]["payment_method_id"]}})
    for action in actions:
        action["kind"] = agent.runner.kind(action["tool"]).value
    return actions
