"""The model proposes one tool call, as JSON constrained by a grammar built from the tools' argument schemas.

A proposal is never executed as such: it is validated against the tool's schema, and calls that touch an
account or change anything are routed into the policy-bound flow for that request (identity, the customer's
own data, confirmation), which the model cannot skip.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from functools import cached_property
from typing import Any

from agent import toolcall
from agent.flows import NEEDS_ACCOUNT, Outcome, Turn, identity
from agent.llm.base import ChatModel, GenerationOptions, complete_json
from agent.locales.cues import with_words
from agent.nlu import Intent, Understanding
from agent.toolcall import NO_TOOL
from tools.errors import ToolError
from tools.runner import ToolRunner

log = logging.getLogger(__name__)

# Tools whose call starts the matching flow: the flow gathers, checks and confirms the details itself.
ROUTED = {
    "find_user_id_by_email": Intent.ACCOUNT,
    "find_user_id_by_name_zip": Intent.ACCOUNT,
    "get_user_details": Intent.ACCOUNT,
    "get_order_details": Intent.ORDER_STATUS,
    "search_products": Intent.SEARCH,
    "get_product_details": Intent.PRODUCT,
    "get_item_details": Intent.PRODUCT,
    "list_all_product_types": Intent.SEARCH,
    "recommend_products": Intent.RECOMMEND,
    "cancel_pending_order": Intent.CANCEL,
    "modify_pending_order_address": Intent.CHANGE_ADDRESS,
    "modify_pending_order_items": Intent.EXCHANGE,
    "modify_pending_order_payment": Intent.CHANGE_PAYMENT,
    "modify_user_address": Intent.CHANGE_ADDRESS,
    "return_delivered_order_items": Intent.RETURN,
    "exchange_delivered_order_items": Intent.EXCHANGE,
    "transfer_to_human_agents": Intent.HUMAN,
    "predict_delivery": Intent.ARRIVAL,
}


# What the base model may choose from for a message no flow recognised (requests about orders and accounts are
# recognised by the flows' patterns; a small untuned model's guesses there would only show the wrong data).
# The fine-tuned model (measured: evals/results/toolcalls) chooses from every tool.
OFFERED = ("search_products", "get_product_details", "list_all_product_types", "calculate", "transfer_to_human_agents")


# Catalogue tools: without a product or item id, browsing the store.
CATALOGUE = {"search_products", "list_all_product_types", "recommend_products", "get_item_details",
             "get_product_details"}
# "I received ...", "my order": the customer's own things, never a product search (another locale's words too).
AFTER_SALES = with_words(re.compile(r"\bi (received|got|bought|ordered|purchased)\b|\bmy (order|package|delivery)\b",
                                    re.I), "after_sales")


class ModelPlanner:
    def __init__(self, model: ChatModel, runner: ToolRunner, *, max_tokens: int = 96) -> None:
        self.model = model
        self.runner = runner
        self.max_tokens = max_tokens
        self.invalid_proposals = 0
        self.tuned = bool(getattr(model, "tool_tuned", False))

    @cached_property
    def schema(self) -> dict[str, Any]:
        """The well-formed calls the model may make: every tool when tuned, else the OFFERED few."""
        full = toolcall.call_schema()
        if self.tuned:
            return full
        return {"anyOf": [v for v in full["anyOf"] if v["properties"]["tool"]["const"] in (*OFFERED, NO_TOOL)]}

    def propose(self, text: str, history: list[toolcall.PastTurn] | None = None, verified: str | None = None,
                request: str = "") -> tuple[str, dict[str, Any]] | None:
        """The model's tool call for the customer's message, validated; None for "none" or an invalid call."""
        messages = toolcall.messages(history or [], text, verified, list_tools=not self.tuned, request=request)
        options = GenerationOptions(max_tokens=self.max_tokens,
                                    json_schema=toolcall.grounded_schema(self.schema, messages))
        try:
            call = toolcall.parse(complete_json(self.model, messages, options))
            if call.tool == NO_TOOL:
                return None
            if not self.tuned and call.tool not in OFFERED:
                raise ValueError(f"tool {call.tool} is not offered here")
            return call.tool, call.arguments
        except (ValueError, KeyError, TypeError, ToolError) as error:
            self.invalid_proposals += 1
            log.info("discarded an invalid tool proposal: %s", error)
            return None

    def plan(self, turn: Turn, said: Understanding, history: list[toolcall.PastTurn] | None = None,
             request: str = "") -> Outcome | None:
        proposal = self.propose(said.text, history, turn.ctx.customer_id, request)
        if proposal is None:
            return None
        name, arguments = proposal
        if not self._plausible(name, arguments, said, turn):
            return None
        intent = ROUTED.get(name)
        if intent is None:  # a generic tool (the calculator): harmless, run it as proposed
            try:
                return self._run_generic(turn, name, self.runner.validate(name, arguments))
            except ToolError:
                return None
        said = _with_model_slots(said, intent, arguments)
        turn.state.intent = intent.value
        turn.state.request = said.text
        if intent in NEEDS_ACCOUNT and turn.ctx.customer_id is None:
            return identity.question(turn)
        return turn.FLOWS[intent](turn, said)

    @staticmethod
    def _plausible(name: str, arguments: dict[str, Any], said: Understanding, turn: Turn) -> bool:
        """Proposals the dialogue rules out: a hand-off before the agent has even asked the customer to rephrase
        ("I have a couple requests" is no request for a person), browsing the catalogue (no product or item id) for
        a message about something the customer already received or bought (after sales: "I received two tablets")."""
        if name == "transfer_to_human_agents" and not turn.state.misunderstood:
            return False
        browsing = name in CATALOGUE and not (arguments.keys() & {"item_id", "product_id"})
        return not (browsing and AFTER_SALES.search(said.text))

    def _run_generic(self, turn: Turn, name: str, arguments: dict[str, Any]) -> Outcome | None:
        result = turn.call(name, **arguments)
        if not result.ok:  # the model's own call was malformed: not something to tell the customer
            return None
        return Outcome(f"{arguments.get('expression', '')} = {result.output}", gist="a calculation")


def _with_model_slots(said: Understanding, intent: Intent, arguments: dict[str, Any]) -> Understanding:
    """The flow reads its slots from the understanding: add what the model extracted (the flow re-checks all)."""
    order_ids = said.order_ids or ([arguments["order_id"]] if arguments.get("order_id") else [])
    emails = said.emails or ([arguments["email"]] if arguments.get("email") else [])
    item_ids = said.item_ids or [v for k in ("item_id", "product_id") if (v := arguments.get(k))]
    name = said.name or ((arguments["first_name"], arguments["last_name"])
                         if arguments.get("first_name") and arguments.get("last_name") else None)
    # The customer's own words stay the text (a search is never narrowed to the model's rewording of them).
    return replace(said, intents=[intent], order_ids=order_ids, emails=emails, item_ids=item_ids,
                   name=name, zip=said.zip or arguments.get("zip"))
