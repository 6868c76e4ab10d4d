"""What of a turn's events the customer's stream carries: the agent's steps as plain status lines, never a tool's
name, arguments or error text (those are for the console and the logs)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from agent.events import Event

STATUSES: dict[str, str] = tomllib.loads((Path(__file__).parent / "statuses.toml").read_text())["statuses"]
WORKING = STATUSES["working"]


def for_customer(event: Event) -> Event | None:
    """The event as the customer may see it; None for one they should not see at all."""
    if event.type == "tool_started":
        return Event("status", {"text": STATUSES.get(event.data.get("name", ""), WORKING)})
    if event.type == "tool_finished":
        return None
    if event.type == "confirmation":
        return Event("confirmation", _proposal(event.data))
    return event


def history_for_customer(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as the widget shows it again: proposals by their words, not the action's name."""
    return [{**m, "confirmation": _proposal(m["confirmation"]) if m.get("confirmation") else None} for m in messages]


def _proposal(confirmation: dict[str, Any]) -> dict[str, Any]:
    return {"summary": confirmation.get("summary", "")}
