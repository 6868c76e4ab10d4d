"""What of a turn's events the customer's stream carries: the agent's steps as plain status lines, never a tool's
name, arguments or error text (those are for the console and the logs)."""

from __future__ import annotations

from typing import Any

from agent import locales
from agent.events import Event


def for_customer(event: Event) -> Event | None:
    """The event as the customer may see it; None for one they should not see at all."""
    if event.type == "tool_started":
        return Event("status", {"text": status_text(event.data.get("name", ""), event.data.get("locale"))})
    if event.type == "tool_finished":
        return None
    if event.type == "confirmation":
        return Event("confirmation", _proposal(event.data))
    return event


def status_text(tool: str, locale: str | None = None) -> str:
    """The step under way in plain words (agent/locales/<locale>/statuses.toml), in the conversation's language."""
    statuses = locales.entries("statuses", locale)["statuses"]
    return statuses.get(tool, statuses["working"])


def history_for_customer(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation as the widget shows it again: proposals by their words, not the action's name."""
    return [{**m, "confirmation": _proposal(m["confirmation"]) if m.get("confirmation") else None} for m in messages]


def _proposal(confirmation: dict[str, Any]) -> dict[str, Any]:
    return {"summary": confirmation.get("summary", "")}
