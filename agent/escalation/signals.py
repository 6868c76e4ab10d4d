"""The rule signals of a customer turn: an explicit request for a person, a risk topic, signs of being stuck."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz

SIGNALS_FILE = Path(__file__).with_name("signals.toml")
REPEAT_SIMILARITY = 88  # rapidfuzz token-sort ratio at which two messages say the same thing
MIN_REPEAT_CHARS = 12  # "yes", "ok" and ids repeat legitimately
RECENT_MESSAGES = 4


CLAUSE_BREAK = re.compile(r"[.,;:!?|\n。，；：！？]+")  # word classes must meet inside one clause


@dataclass(frozen=True)
class RiskTopic:
    """A topic's own terms, and the combinations of word classes that also raise it."""

    terms: list[re.Pattern[str]]
    together: list[list[list[re.Pattern[str]]]]  # each line: one pattern list per class, all must match

    def raised_by(self, text: str) -> bool:
        if any(p.search(text) for p in self.terms):
            return True
        clauses = CLAUSE_BREAK.split(text)
        return any(all(_says(clause, word_class) for word_class in line)
                   for line in self.together for clause in clauses)


def _says(text: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.search(text) for p in patterns)


def _compile_languages(entry: dict[str, str]) -> list[re.Pattern[str]]:
    return [re.compile(pattern, re.I) for language, pattern in entry.items() if language in ("en", "zh")]


@cache
def _patterns() -> dict:  # type: ignore[type-arg]
    raw = tomllib.loads(SIGNALS_FILE.read_text())
    words = {name: _compile_languages(entry) for name, entry in raw["words"].items()}
    risk = {topic: RiskTopic(_compile_languages(entry), [[words[name] for name in line]
                                                         for line in entry.get("together", [])])
            for topic, entry in raw["risk"].items()}
    return {
        "explicit": _compile_languages(raw["explicit"]),
        "risk": risk,
        "offer": re.compile(raw["offer"]["assistant"], re.I),
        "frustration": [re.compile(raw["frustration"][language], re.I) for language in ("zh",)],
        "frustration_score": float(raw["frustration"]["score"]),
    }


def asks_for_person(text: str) -> bool:
    return any(p.search(text) for p in _patterns()["explicit"])


def risk_topic(text: str) -> str | None:
    """The first risk topic the text raises ("safety", "fraud", "legal", "repeated_damage"), else None."""
    return next((name for name, topic in _patterns()["risk"].items() if topic.raised_by(text)), None)


def frustration_floor(text: str) -> float:
    """The least frustration a message with words of anger or exasperation counts as (signals.toml); else 0."""
    patterns = _patterns()
    return patterns["frustration_score"] if any(p.search(text) for p in patterns["frustration"]) else 0.0


def offered_person(assistant_text: str) -> bool:
    return bool(_patterns()["offer"].search(assistant_text))


def similar(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    if min(len(a), len(b)) < MIN_REPEAT_CHARS:
        return False
    return fuzz.token_sort_ratio(a, b) >= REPEAT_SIMILARITY


def repeats(text: str, earlier: list[str]) -> bool:
    """The customer says again what they said in one of their last few messages."""
    return any(similar(text, before) for before in earlier[-RECENT_MESSAGES:])


@dataclass
class TurnSignals:
    """Everything the policy looks at for one customer turn."""

    frustration: float = 0.0
    language: str = "en"
    explicit: bool = False  # asked for a person (words, the classifier, the hand-off button, yes to the offer)
    risk: str | None = None
    stuck: list[str] = field(default_factory=list)  # repeated_question, same_reply, tool_error, misunderstood
    flow_handoff: bool = False  # the agent's own flows transferred (a request for a person, an out-of-scope topic)

    def to_json(self) -> dict:  # type: ignore[type-arg]
        return {"frustration": round(self.frustration, 4), "language": self.language, "explicit": self.explicit,
                "risk": self.risk, "stuck": list(self.stuck), "flow_handoff": self.flow_handoff}

    @classmethod
    def from_json(cls, data: dict) -> TurnSignals:  # type: ignore[type-arg]
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
