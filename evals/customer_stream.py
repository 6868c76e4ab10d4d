"""What the customer's stream shows, scanned for internals: a tool's name, its arguments, JSON, and ids the customer
never gave (payment method, account, item and product ids). Order ids and tracking numbers of the customer's own
orders are theirs to see. Used by the tasks suite on every turn it plays and by the tests."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from agent.events import Event
from agent.replies import options_text
from server.customer_events import for_customer

PAYMENT_ID = re.compile(r"\b(?:credit_card|gift_card|paypal|debit_card)_\d+\b")
ACCOUNT_ID = re.compile(r"\b[a-z]+_[a-z]+_\d{3,5}\b")
STORE_ID = re.compile(r"(?<![\d#])\d{10}(?!\d)")  # item and product ids; tracking numbers have 12 digits
JSON_TEXT = re.compile(r"[{\[]\s*\"[^\"]{1,40}\"\s*:")


def tool_names() -> set[str]:
    """Every tool the agent's runner knows: the model's and the flows' sign-in tools."""
    from agent import toolcall
    from tools.sign_in import SIGN_IN_TOOLS

    return {tool.name for tool in [*toolcall.AGENT_TOOLS, *SIGN_IN_TOOLS]}


def shown_texts(event: Event) -> list[str]:
    """The words the customer sees of one event of the stream (after the server's own filter)."""
    seen = for_customer(event)
    if seen is None:
        return []
    data = seen.data
    if seen.type == "products":
        return [f"{card.get('name', '')} ({options_text(card.get('options', {}))})" for card in data["products"]]
    if seen.type == "suggestion":
        return [str(value) for key, value in data.items() if key in {"text", "label", "title", "reason"}]
    return [str(data[key]) for key in ("text", "notice", "summary") if isinstance(data.get(key), str)]


def internals(texts: Iterable[str], said: str, tools: set[str]) -> list[str]:
    """Each internal the texts show: a tool name, an argument list, JSON, or an id not in what the customer said."""
    found = []
    for text in texts:
        found += [f"tool {name}" for name in tools if re.search(rf"\b{re.escape(name)}\b", text)]
        found += [f"JSON {m.group()}" for m in JSON_TEXT.finditer(text)]
        for pattern in (PAYMENT_ID, ACCOUNT_ID, STORE_ID):
            found += [f"id {m.group()}" for m in pattern.finditer(text) if m.group() not in said]
        if "arguments" in text or "Already done:" in text:
            found.append("staff summary")
    return found


def scan_turn(events: list[Event], said: str, tools: set[str]) -> list[dict[str, Any]]:
    """The internals one turn's stream shows, each with the text that shows it."""
    return [{"found": item, "text": text[:200]} for event in events for text in shown_texts(event)
            for item in internals([text], said, tools)]
