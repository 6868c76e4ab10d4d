"""How the scripted customer words its recurring utterances: its plain wording, or a seeded rephrasing drawn from
the test-only bank `evals/data/paraphrases/customer.toml` (never trained or tuned on; only the evals read it).

Paraphrase index 0 is the plain wording. Index i > 0 picks one variant per utterance from a seed made of the run's
key (task and seed), the index, the entry and the plain text: the same utterance is worded the same way within a
run (so the customer's "going in circles" check still sees a repeat), and differently across indices.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

BANK_FILE = Path(__file__).parents[1] / "data" / "paraphrases" / "customer.toml"

# What a request is about, for the lead-in said before it (first match wins: the specific before the general).
REQUEST_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("change_address", re.compile(r"\b(change|update|modify|switch|fix|move|correct)\b.*\baddress\b|\baddress\b.*"
                                  r"\b(change|update|modify|switch|wrong)", re.I)),
    ("change_payment", re.compile(r"\b(change|update|switch)\b.*\bpayment\b", re.I)),
    ("cancel", re.compile(r"\bcancel", re.I)),
    ("exchange", re.compile(r"\bexchange", re.I)),
    ("return", re.compile(r"\breturn", re.I)),
    ("modify_items", re.compile(r"\b(modify|change|switch|upgrade|swap)\b", re.I)),
    ("order_status", re.compile(r"\b(status|where is|track\w*|arriv\w*|deliver\w*|shipped)\b", re.I)),
    ("account", re.compile(r"\b(account|profile|balance)\b", re.I)),
]


@cache
def load_bank(path: Path = BANK_FILE) -> dict[str, dict[str, list[str]]]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def request_kind(request: str) -> str | None:
    return next((kind for kind, pattern in REQUEST_KINDS if pattern.search(request)), None)


@dataclass(frozen=True)
class Phrasing:
    index: int = 0  # 0: the plain wording
    key: str = ""  # the run's identity (task id and seed): another key, other draws
    bank: dict[str, dict[str, list[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def paraphrase(cls, index: int, key: str) -> Phrasing:
        return cls(index, key, load_bank() if index else {})

    @property
    def plain(self) -> bool:
        return self.index == 0

    def say(self, entry: str, plain: str, **fields: str) -> str:
        """An answer from the bank's `answers.<entry>`, its fields filled; the plain wording at index 0."""
        if self.plain:
            return plain
        return self._draw("answers", entry, plain).format(**fields)

    def with_opener(self, request: str) -> str:
        """The request with a lead-in for its kind before it ("Hi, I need to cancel something. I want to ...")."""
        kind = request_kind(request)
        if self.plain or kind is None:
            return request
        return f"{self._draw('openers', kind, request)} {request}"

    def _draw(self, section: str, entry: str, plain: str) -> str:
        variants = self.bank[section][entry]
        return random.Random(f"{self.key}/{self.index}/{entry}/{plain}").choice(variants)
