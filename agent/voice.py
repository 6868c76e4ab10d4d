"""One voice: whether the model's opening line goes in front of a reply body, and which lines may, decided here
and nowhere else, so that a reply never stacks two apologies, thanks or acknowledgements
(agent/prompts/openings.toml)."""

from __future__ import annotations

import re
import tomllib
from functools import cache

from agent.replies import PROMPTS

_FILE = tomllib.loads((PROMPTS / "openings.toml").read_text())
OPENINGS: dict[str, list[str]] = _FILE["openings"]
OPENING_KINDS: dict[str, str] = _FILE["kinds"]


def openings_for(gist: str) -> list[str]:
    """The openings that fit a kind of reply (the flows' `gist`)."""
    return OPENINGS[OPENING_KINDS.get(gist, "info")]


@cache
def _body_opener() -> re.Pattern[str]:
    words = [word for words in _FILE["body_openers"].values() for word in words]
    alternatives = "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))
    return re.compile(rf"^\s*(?:{alternatives})(?![a-z])", re.I)


def opens_itself(body: str) -> bool:
    """Whether the body already starts with an apology, thanks, greeting or acknowledgement of its own."""
    return bool(_body_opener().match(body))


def upset(customer_text: str) -> bool:
    """A complaint, a clearly negative message or a risk topic (legal threat, fraud, safety)."""
    from agent.escalation.signals import risk_topic
    from agent.proactive import is_complaint

    return is_complaint(customer_text) or risk_topic(customer_text) is not None


def opening_choices(gist: str, body: str, customer_text: str) -> list[str]:
    """The lines the model may open this reply with; none when the body opens itself. An upset customer hears an
    acknowledgement of that, never a cheerful "Certainly." or "Great question!"."""
    if opens_itself(body):
        return []
    if upset(customer_text) and openings_for(gist):
        return OPENINGS["upset"]
    return openings_for(gist)
