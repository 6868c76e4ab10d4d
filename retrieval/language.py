"""Which script a text is written in: Chinese (Han characters) or not. Enough to pick tokenisers and rankers
per query and per document; no language-identification model is needed for the two languages served."""

from __future__ import annotations

import re

# CJK Unified Ideographs, extension A and the compatibility block: the characters of written Chinese.
HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")


def has_han(text: str) -> bool:
    """Whether the text holds any Chinese character ("有没有 GoPro" does; "GoPro" does not)."""
    return _HAN_RE.search(text) is not None


# Latin words that say a message is English: function words and the verbs of a shopping request. Names, ids,
# emails, product names and the short answers a Chinese-speaking customer types too ("ok", "yes", "no thanks")
# are not among them, so a message of only those carries no language.
_ENGLISH_MARKER_WORDS = (
    "i i'm i'd i've me my mine you you're your we our us it it's its is are was were be been am do does did don't "
    "didn't can can't could would should will won't the a an this that these those there here to of for from with "
    "in on at by and or but not what where when which who why how want need like please help check cancel "
    "return exchange change find show buy looking ship send arrive track get give tell talk speak person "
    "human still already just about any some much many more than"
)
ENGLISH_MARKERS = frozenset(_ENGLISH_MARKER_WORDS.split())
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Parts of a message that belong to no language: emails, order ids (#W1234567), links.
_NEUTRAL = re.compile(r"\S+@\S+|#?\bW\d{7}\b|https?://\S+", re.I)


def message_language(text: str) -> str | None:
    """"zh" or "en" when the message is written in one, None when it carries no language ("#W1234567", "yes",
    an email, a name and zip code): the conversation then keeps the language it had."""
    text = _NEUTRAL.sub(" ", text)
    han = len(_HAN_RE.findall(text))
    latin = [word.lower() for word in _LATIN_WORD.findall(text)]
    if han and han >= len(latin):
        return "zh"
    if any(word in ENGLISH_MARKERS for word in latin):
        return "en"
    return "zh" if han else None


def conversation_language(text: str, previous: str) -> str:
    """The language to answer in: the message's own, else the conversation's so far. A Chinese conversation stays
    Chinese through a message that mixes in English (a product name, a sentence pasted from the shop's page): the
    customer still reads Chinese best; a message with no Chinese at all switches it."""
    own = message_language(text)
    if own == "en" and previous == "zh" and has_han(text):
        return previous
    return own or previous
