"""The model's tool-call protocol: one prompt, one rendering of the conversation, one JSON schema.

Used alike by the agent at run time (the planner), by the training-data generator and by the tool-call evaluation,
so the fine-tuned model sees in production exactly the format it was trained on. The model answers the customer's
last message with {"tool": name, "arguments": {...}}: the tool that serves the request, with the arguments the
conversation states (partial: the policy-bound flow gathers, checks and confirms the rest), or "none".
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from agent.flows.address import account_address_meant
from agent.memory import DialogueState
from agent.nlu import Intent, understand
from agent.replies import prompt
from tools.logistics.tools import LOGISTICS_TOOLS
from tools.retail.tools import RETAIL_TOOLS
from tools.runner import ToolRunner

AGENT_TOOLS = [*RETAIL_TOOLS, *LOGISTICS_TOOLS]  # every tool the agent may call, and so the model

NO_TOOL = "none"
HISTORY_TURNS = 2  # earlier turns shown to the model: enough for follow-ups, short enough to train on a CPU
RESULT_CHARS = 160  # each tool result is cut to this: ids and statuses come first in every result
REQUEST_CHARS = 240  # the open request's words, cut to this


@dataclass(frozen=True)
class ToolCall:
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"tool": self.tool, "arguments": self.arguments}, ensure_ascii=False)


@dataclass
class PastTurn:
    """One earlier turn as the model sees it: what the customer said, the tools the store ran, its reply."""

    user: str
    tools: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # (name, arguments, result text)
    reply: str = ""


@cache
def runner() -> ToolRunner:
    return ToolRunner(AGENT_TOOLS)


def tool_names() -> list[str]:
    return [spec["function"]["name"] for spec in runner().schemas()]


@cache
def system_prompt(list_tools: bool = True) -> str:
    """The full protocol with the tool list for a model that does not know the tools; one line (-450 tokens a
    call, and a third of every training example) for the fine-tuned model, which learned them."""
    if not list_tools:
        return prompt("toolcall_tuned.md")
    lines = []
    for spec in runner().schemas():
        function = spec["function"]
        arguments = ", ".join(function["parameters"].get("properties", {}))
        lines.append(f"- {function['name']}({arguments})")  # names and arguments say enough: a short prompt
    return prompt("toolcall.md").format(tools="\n".join(lines))


@cache
def call_schema() -> dict[str, Any]:
    """JSON schema of every well-formed call: any tool, any subset of its arguments, nothing else."""
    variants = [_variant(NO_TOOL, {"type": "object", "properties": {}})]
    for spec in runner().schemas():
        arguments = copy.deepcopy(spec["function"]["parameters"])
        arguments.pop("required", None)  # partial calls: the flow asks for what is missing
        arguments["additionalProperties"] = False
        for value in arguments.get("properties", {}).values():
            value.pop("description", None)
            value.pop("default", None)
        variants.append(_variant(spec["function"]["name"], arguments))
    return {"anyOf": variants}


# The ids a call may name, as they are written in a conversation (the flows accept the same spellings).
GROUNDED_IDS: dict[str, tuple[re.Pattern[str], str]] = {
    "order_id": (re.compile(r"(?<!\d)(\d{7})(?!\d)"), "#W{0}"),  # "#W2611340", "w-2611340", "order number 2611340"
    "item_id": (re.compile(r"(?<!\d)(\d{10})(?!\d)"), "{0}"),
    "product_id": (re.compile(r"(?<!\d)(\d{10})(?!\d)"), "{0}"),
    "email": (re.compile(r"(?<![\w.+-])([\w.+-]+@[\w-]+(?:\.[\w-]+)+)"), "{0}"),
    "user_id": (re.compile(r"\b([a-z]+_[a-z]+_\d{4})\b"), "{0}"),
    "payment_method_id": (re.compile(r"\b((?:credit_card|paypal|gift_card)_\d{7})\b"), "{0}"),
}
GROUNDED_LISTS = {"item_ids": "item_id", "new_item_ids": "item_id"}  # lists of ids, grounded like one
VERIFIED_LINE = re.compile(r"verified as user_id (\S+?)\.?$", re.MULTILINE)
# A new address comes from the customer's words, zip code included (the flow reads it from them and reads it back):
# with no zip code said, the address fields cannot be written at all; the zip can only be one the customer said.
ZIP = re.compile(r"(?<!\d)(\d{5})(?!\d)")
ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country")


def grounded_schema(schema: dict[str, Any], chat: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The call schema with every id argument limited to the ids this conversation states (the verified customer's
    own user id once there is one) and the zip code to one the customer said; an id the conversation never stated
    cannot be written at all, nor an address before the customer gave one. The policy
    enforces the same in the tools; this keeps the model from proposing what would be refused."""
    text = "\n".join(m["content"] for m in chat)  # the protocol names no ids; the state lines may
    verified = VERIFIED_LINE.search(chat[0]["content"]) if chat else None
    allowed = {key: sorted({form.format(found) for found in pattern.findall(text)})
               for key, (pattern, form) in GROUNDED_IDS.items()}
    said = "\n".join(m["content"] for m in chat if m["role"] != "tool")  # the store's results hold old addresses
    allowed["zip"] = sorted(set(ZIP.findall(said)))
    if verified:
        allowed["user_id"] = [verified.group(1)]
    grounded = copy.deepcopy(schema)
    for variant in grounded["anyOf"]:
        arguments = variant["properties"]["arguments"]
        properties = arguments.get("properties", {})
        if not allowed["zip"]:
            for key in ADDRESS_FIELDS:
                properties.pop(key, None)
        for key in [k for k in properties if k in allowed or k in GROUNDED_LISTS]:
            ids = allowed[GROUNDED_LISTS.get(key, key)]
            if not ids:
                del properties[key]  # nothing to name: the flow asks the customer
            elif key in GROUNDED_LISTS:
                properties[key] = {"type": "array", "items": {"enum": ids}}
            else:
                properties[key] = {"enum": ids}
        if verified and "user_id" in properties:
            arguments["required"] = ["user_id"]  # a verified customer's requests are about their own account
    return grounded


def _variant(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"tool": {"const": name}, "arguments": arguments},
            "required": ["tool", "arguments"], "additionalProperties": False}


def render_turn(turn: PastTurn) -> str:
    lines = [f"{name}({json.dumps(arguments, ensure_ascii=False)}) -> {_cut(result)}"
             for name, arguments, result in turn.tools]
    lines.append(f"reply: {turn.reply}")
    return "\n".join(lines)


def _cut(text: str, limit: int = RESULT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# The tool each open request ends in, once the customer is verified; an exchange's depends on its order's status.
REQUEST_TOOLS = {
    Intent.CANCEL: "cancel_pending_order", Intent.RETURN: "return_delivered_order_items",
    Intent.CHANGE_PAYMENT: "modify_pending_order_payment", Intent.ORDER_STATUS: "get_order_details",
    Intent.ARRIVAL: "predict_delivery", Intent.ACCOUNT: "get_user_details",
}


def open_request(state: DialogueState) -> str:
    """The dialogue state's unfinished business, as one line for the model: the proposal awaiting a yes or no, or
    the request the agent is still asking about, in the customer's words, with the tool it ends in. Follow-up
    answers ("910 Pine Road ...", "do it") name their request only here once its turn has left the few the model
    sees, and the tool named here is what a 135M model copies rather than infers."""
    if state.pending:
        arguments = json.dumps(state.pending["arguments"], ensure_ascii=False)
        return f"Awaiting the customer's yes or no for: {state.pending['tool']}({arguments})"
    if not state.intent or not state.request:
        return ""
    words = " / ".join(reversed(state.request.split("\n")))  # the request keeps its answers newest first
    order = f" (order {state.order_id})" if state.order_id and state.order_id not in words else ""
    tool = request_tool(state) if state.customer_id else None  # unverified: identity comes first
    heading = f"for {tool} ({state.intent})" if tool else f"({state.intent})"
    return f"Open request {heading}: {_cut(words, REQUEST_CHARS)}{order}"


def request_tool(state: DialogueState) -> str | None:
    """The store tool the open request's flow will call; None when its words do not settle it."""
    if state.intent == Intent.CHANGE_ADDRESS:
        account = account_address_meant(understand(state.request.split("\n")[-1]))  # its own words, not answers
        return "modify_user_address" if account else "modify_pending_order_address"
    return REQUEST_TOOLS.get(state.intent)  # a StrEnum key is found by its string value


def messages(history: Sequence[PastTurn], text: str, verified: str | None = None,
             list_tools: bool = True, request: str = "") -> list[dict[str, str]]:
    """The chat the model answers: the protocol, who is verified, the open request (`open_request`), the last few
    turns (the store's tool runs and replies in a `tool` message after each customer message) and the customer's
    new message."""
    system = system_prompt(list_tools)
    if verified:
        system += f"\nThe customer is verified as user_id {verified}."
    if request:
        system += f"\n{request}"
    chat = [{"role": "system", "content": system}]
    for turn in history[-HISTORY_TURNS:]:
        chat += [{"role": "user", "content": turn.user}, {"role": "tool", "content": render_turn(turn)}]
    chat.append({"role": "user", "content": text})
    return chat


def parse(payload: Any) -> ToolCall:
    """A model's answer as a call; ValueError when it is not one of the well-formed calls."""
    if isinstance(payload, str):
        payload = json.loads(payload)
    if not isinstance(payload, dict) or set(payload) != {"tool", "arguments"}:
        raise ValueError("a call is an object with exactly 'tool' and 'arguments'")
    name, arguments = payload["tool"], payload["arguments"]
    if not isinstance(arguments, dict):
        raise ValueError("'arguments' must be an object")
    if name == NO_TOOL:
        if arguments:
            raise ValueError("'none' takes no arguments")
        return ToolCall(NO_TOOL)
    return ToolCall(name, validate_partial(name, arguments))


def argument_names(name: str) -> list[str]:
    """A store tool's arguments, in its schema's order (the order the call grammar writes them in)."""
    return list(runner().tools[name].tool_call_schema.model_fields)


def validate_partial(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Check the given arguments against the tool's schema (missing ones allowed); returns them normalised."""
    if name not in runner().tools:
        raise ValueError(f"unknown tool {name!r}")
    unknown = set(arguments) - set(argument_names(name))
    if unknown:
        raise ValueError(f"unknown argument(s) for {name}: {', '.join(sorted(unknown))}")
    schema = runner().tools[name].tool_call_schema
    clean = {}
    for key, value in arguments.items():
        try:  # validate each field alone: the model may leave the others out
            clean[key] = schema.__pydantic_validator__.validate_assignment(
                schema.model_construct(), key, value).__dict__[key]
        except Exception as error:  # pydantic's ValidationError, with the field's message
            raise ValueError(f"invalid {key} for {name}: {error}") from None
    return clean


def past_turns(rows: Iterable[Any]) -> list[PastTurn]:
    """Chat-memory rows (user / tool / assistant, in order) grouped into turns."""
    turns: list[PastTurn] = []
    for row in rows:
        if row.role == "user":
            turns.append(PastTurn(user=row.text))
        elif not turns:
            continue  # the greeting before the customer's first message
        elif row.role == "tool":
            payload = row.payload or {}
            turns[-1].tools.append((payload.get("name", "?"), payload.get("arguments", {}), row.text))
        elif row.role == "assistant":
            turns[-1].reply = row.text
    return turns
