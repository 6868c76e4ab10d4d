"""The customer's words for what the flows read with patterns ("the most recent order", "the pricier one", "all my
pending orders"), in every served language: each English pattern stays in its module, and the words another
locale's shoppers use for the same thing come from that locale's lexicon (`<locale>/cues.toml`, one word list per
cue). A Chinese 最近下的那个订单 is then read by the very check that reads "the order I most recently placed".

A word is matched as written (no word boundaries: Chinese has none); "…" inside it stands for a few characters
of the same clause (所有…订单 is 所有待处理的订单 and 所有的订单).
"""

from __future__ import annotations

import re
from functools import cache

from agent.locales import DEFAULT, LOCALES, LOCALES_DIR, catalogue

LEXICON = "cues"
# What "…" stands for: a few characters that end no clause (bounded, so a match attempt stays short).
GAP = r"[^，。；！？,.;!?\n]{0,20}"


@cache
def words(cue: str) -> tuple[str, ...]:
    """The words every non-English locale's lexicon lists for the cue."""
    found: list[str] = []
    for locale in LOCALES:
        if locale != DEFAULT and (LOCALES_DIR / locale / f"{LEXICON}.toml").is_file():
            found += catalogue(LEXICON, locale).get(cue, [])
    return tuple(found)


def alternatives(cue: str) -> str:
    """The cue's words as one regex alternation ('' when no locale lists any)."""
    return "|".join(GAP.join(map(re.escape, word.split("…"))) for word in words(cue))


def with_words(pattern: re.Pattern[str], cue: str) -> re.Pattern[str]:
    """The English pattern, also matching the cue's words of the other locales."""
    extra = alternatives(cue)
    return re.compile(f"(?:{pattern.pattern})|{extra}", pattern.flags) if extra else pattern
