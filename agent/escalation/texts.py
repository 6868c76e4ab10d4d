"""The escalation's wording: what the customer is told (agent/locales/<locale>/escalation.toml, in the
conversation's language) and what staff read on the console (replies.toml, English)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from agent import locales

CUSTOMER_SECTIONS = {"escalated", "notices", "holds", "drafts"}  # drafts: replies the person may send


@cache
def _staff_texts() -> dict[str, dict[str, str]]:
    return tomllib.loads((Path(__file__).with_name("replies.toml")).read_text())


def text(section: str, key: str, **slots: Any) -> str:
    if section in CUSTOMER_SECTIONS:
        return str(locales.entries("escalation")[section][key]).format(**slots)
    return _staff_texts()[section][key].format(**slots)


def escalation_reply(reason: str) -> str:
    return text("escalated", "risk" if reason.startswith("risk:") else reason)


def reason_words(reason: str) -> str:
    return _staff_texts()["reasons"].get(reason, reason)


def tool_words(tool: str | None) -> str:
    tools = _staff_texts()["tools"]
    return tools.get(tool or "other", tools["other"])
