"""The escalation's wording, from replies.toml."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _texts() -> dict[str, dict[str, str]]:
    return tomllib.loads((Path(__file__).with_name("replies.toml")).read_text())


def text(section: str, key: str, **slots: Any) -> str:
    return _texts()[section][key].format(**slots)


def escalation_reply(reason: str) -> str:
    return text("escalated", "risk" if reason.startswith("risk:") else reason)


def reason_words(reason: str) -> str:
    return _texts()["reasons"].get(reason, reason)


def tool_words(tool: str | None) -> str:
    tools = _texts()["tools"]
    return tools.get(tool or "other", tools["other"])
