"""Check that every fact a reply states (ids, prices, amounts, dates, order statuses, product names) comes from a
tool result of this conversation. The model may phrase; it may not invent."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

ORDER_ID = re.compile(r"#?\bW\d{7}\b", re.I)
LONG_ID = re.compile(r"\b\d{6,}\b")
USER_ID = re.compile(r"\b[a-z]+_[a-z]+_\d{4}\b")
# Bounded by Latin letters and digits only: Chinese writes a number against its words ("200以下", "300元").
AMOUNT = re.compile(r"(?<![A-Za-z0-9_.])\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![A-Za-z0-9_.])")
DATE = re.compile(
    r"\b(\d{4}-\d{2}-\d{2}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?)\b",
    re.I,
)
STATUSES = (
    "pending (item modified)", "pending", "processed", "delivered", "cancelled", "return requested",
    "exchange requested",
)
# A status is claimed when it follows "is", "was", "now"...: "only pending orders can be cancelled" claims nothing.
STATUS = re.compile(
    r"\b(?:is|was|are|were|now|been|status(?: is)?:?)\s+(?:now\s+)?("
    + "|".join(re.escape(status) for status in STATUSES)
    + r")(?![\w(])",
    re.I,
)
# Facts looked up verbatim in the evidence: (pattern, kind, the match as it appears in the evidence text).
LITERAL_FACTS = (
    (ORDER_ID, "order id", lambda value: "#" + value.lstrip("#").lower()),
    (USER_ID, "user id", str.lower),
    (LONG_ID, "id", str),
    (DATE, "date", str.lower),
)
SMALL_NUMBERS = {str(n) for n in range(11)}  # "one of 2 items", "5-7 business days" need no source


@dataclass
class Evidence:
    """Everything the tool results of a conversation state, normalised for lookup."""

    text: str = ""
    numbers: set[str] = field(default_factory=set)

    @classmethod
    def from_results(cls, results: Iterable[str]) -> Evidence:
        text = "\n".join(results)
        numbers = {_number(whole, cents) for whole, cents in AMOUNT.findall(text)}
        return cls(text=text.lower(), numbers=numbers)


@dataclass
class Violation:
    kind: str
    value: str


def _number(whole: str, cents: str) -> str:
    value = float(whole.replace(",", "") + ("." + cents if cents else ""))
    return f"{value:.2f}"


class GroundingChecker:
    """Checks replies against the evidence; product names come from the store's catalogue."""

    def __init__(self, product_names: Iterable[str], *, allowed_text: str = "") -> None:
        self._names = frozenset(name.lower() for name in product_names if name)
        self._longest = max((len(n.split()) for n in self._names), default=1)
        # Facts the agent's own fixed wording may state (policy figures like "5-7 business days").
        self._allowed = Evidence.from_results([allowed_text])

    @property
    def names(self) -> frozenset[str]:
        """The catalogue's product names, lower-case."""
        return self._names

    def violations(self, reply: str, evidence: Evidence) -> list[Violation]:
        found: list[Violation] = []
        body = reply
        for pattern, kind, key in LITERAL_FACTS:
            found += [Violation(kind, value) for value in pattern.findall(body) if key(value) not in evidence.text]
            body = pattern.sub(" ", body)  # so that an id's digits are not read again as an amount
        found += self._amount_violations(body, evidence)
        for value in STATUS.findall(body):
            if f'"status": "{value.lower()}"' not in evidence.text:
                found.append(Violation("status", value))
        found += [Violation("product", name) for name in self.product_names(reply) if name not in evidence.text]
        return found

    def _amount_violations(self, body: str, evidence: Evidence) -> list[Violation]:
        found = []
        for whole, cents in AMOUNT.findall(body):
            if not cents and whole in SMALL_NUMBERS:
                continue
            value = _number(whole, cents)
            if value not in evidence.numbers and value not in self._allowed.numbers:
                found.append(Violation("amount", whole + ("." + cents if cents else "")))
        return found

    def product_names(self, reply: str) -> set[str]:
        """Catalogue names the reply mentions: n-gram lookup, so it scales to large catalogues."""
        words = re.findall(r"[\w'-]+", reply.lower())
        mentioned = set()
        for size in range(1, self._longest + 1):
            for start in range(len(words) - size + 1):
                gram = " ".join(words[start : start + size])
                if gram in self._names:
                    mentioned.add(gram)
        return mentioned

    def states_facts(self, text: str) -> bool:
        """Whether a text states any checkable fact at all (used for the model's free-form opening line)."""
        return bool(self.violations(text, Evidence()))
