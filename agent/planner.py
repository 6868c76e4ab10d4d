"""The model proposes one tool call, as JSON constrained by a grammar built from the tools' argument schemas.

A proposal is never executed as such: it is validated against the tool's schema, and calls that touch an
account or change anything are routed into the policy-bound flow for that request (identity, the customer's
own data, confirmation), which the model cannot skip.
"""

from __future__ import annotations

import copy
import logging
from functools import cached_property
from typing import Any

from agent.flows import NEEDS_ACCOUNT, Outcome, Turn, ask
from agent.llm.base import ChatModel, GenerationOptions, complete_json
from agent.nlu import Intent, Understanding
from agent.replies import prompt
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
    "cancel_pending_order": Intent.CANCEL,
    "modify_pending_order_address": Intent.CHANGE_ADDRESS,
    "modify_pending_order_items": Intent.EXCHANGE,
    "modify_pending_order_payment": Intent.CHANGE_PAYMENT,
    "modify_user_address": Intent.CHANGE_ADDRESS,
    "return_delivered_order_items": Intent.RETURN,
    "exchange_delivered_order_items": Intent.EXCHANGE,
    "transfer_to_human_agents": Intent.HUMAN,
}


# What the model may choose from for a message no flow recognised (requests about orders and accounts are
# recognised by the flows' patterns; a small model's guesses there would only show the wrong data).
OFFERED = ("search_products", "get_product_details", "list_all_product_types", "calculate", "transfer_to_human_agents")
NO_TOOL = "none"


class ModelPlanner:
    def __init__(self, model: ChatModel, runner: ToolRunner, *, max_tokens: int = 64) -> None:
        self.model = model
        self.runner = runner
        self.max_tokens = max_tokens
        self.invalid_proposals = 0

    @cached_property
    def schema(self) -> dict[str, Any]:
        """One JSON schema accepting exactly the well-formed calls of the store's tools."""
        variants = [_call_schema(NO_TOOL, {"type": "object", "properties": {}})]
        for spec in self.runner.schemas():
            function = spec["function"]
            if function["name"] not in OFFERED:
                continue
            arguments = copy.deepcopy(function["parameters"])
            arguments["additionalProperties"] = False
            for field in arguments.get("properties", {}).values():
                field.pop("description", None)  # keeps the grammar small; descriptions are in the prompt
            variants.append(_call_schema(function["name"], arguments))
        return {"anyOf": variants}

    @cached_property
    def system_prompt(self) -> str:
        functions = [spec["function"] for spec in self.runner.schemas() if spec["function"]["name"] in OFFERED]
        lines = [f"- {f['name']}: {f['description'].split('. ')[0]}" for f in functions]
        lines.append(f"- {NO_TOOL}: none of these tools fits the message")
        return prompt("planner.md").format(tools="\n".join(lines))

    def propose(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """The model's tool call for the customer's message, validated; None when it is not a valid call."""
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": text}]
        options = GenerationOptions(max_tokens=self.max_tokens, json_schema=self.schema)
        try:
            proposal = complete_json(self.model, messages, options)
            name, arguments = proposal["tool"], proposal["arguments"]
            if name == NO_TOOL:
                return None
            if name not in OFFERED:
                raise ToolError(f"tool {name} is not offered here")
            return name, self.runner.validate(name, arguments)
        except (ValueError, KeyError, TypeError, ToolError) as error:
            self.invalid_proposals += 1
            log.info("discarded an invalid tool proposal: %s", error)
            return None

    def plan(self, turn: Turn, said: Understanding) -> Outcome | None:
        proposal = self.propose(said.text)
        if proposal is None:
            return None
        name, arguments = proposal
        intent = ROUTED.get(name)
        if intent is None:  # a generic tool (the calculator): harmless, run it as proposed
            return self._run_generic(turn, name, arguments)
        if name == "search_products":
            said = Understanding(text=arguments.get("query") or said.text, intents=[Intent.SEARCH])
        turn.state.intent = intent.value
        turn.state.request = said.text
        if intent in NEEDS_ACCOUNT and turn.ctx.customer_id is None:
            return ask("ask_identity", gist="asking the customer to verify their identity")
        return turn.FLOWS[intent](turn, said)

    def _run_generic(self, turn: Turn, name: str, arguments: dict[str, Any]) -> Outcome:
        result = turn.call(name, **arguments)
        if not result.ok:
            return turn.failed()
        return Outcome(f"{arguments.get('expression', '')} = {result.output}", gist="a calculation")


def _call_schema(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"tool": {"const": name}, "arguments": arguments},
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }
