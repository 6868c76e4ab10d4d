"""Chinese query words in the forms the query parser reads (retrieval/filters.py): prices, units and option values.

The parser was written for English ("under $100", "size 10", "black"). Rather than a second parser, a Chinese
query is glossed first: 100元以下 -> "under $100", 10码 -> "size 10", 13寸 -> "13-inch", 黑色 -> "black" (from the
lexicon zh_options.toml). The Chinese words stay beside their glosses, so the multilingual encoder still reads the
shopper's own words. Amounts in 元/块 are taken in the store's own currency: the catalogue has one price per item.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from pathlib import Path

from .language import HAN, has_han

LEXICON = Path(__file__).with_name("zh_options.toml")

_NUMERALS = {"一": "1", "两": "2", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8",
             "九": "9", "十": "10"}
_NUM = r"(\d+(?:\.\d+)?)"
_CUR = r"\s*(?:元|块钱|块|人民币|美元|美金|刀)?"
# An amount that is a quantity, not a price: a number with a unit after it ("20000mAh", "6mm").
_NOT_UNIT = r"(?![\d.]|\s*[A-Za-z%])"

# (pattern, replacement): measures written the Chinese way, in the catalogue's English spelling.
_UNITS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"([一两二三四五六七八九十])(?=\s*(?:件套|件|片|寸|码|个))"), "{numeral}"),
    (re.compile(r"(\d+)\s*件套"), r" \1-piece "),
    (re.compile(_NUM + r"\s*(?:英寸|寸)"), r" \1-inch "),
    (re.compile(r"(\d+|[SMLX]{1,4})\s*(?:码|号)(?!\w*[元块])"), r" size \1 "),
    (re.compile(r"(\d+)\s*[Gg](?![A-Za-z])"), r" \1GB "),
    (re.compile(r"(\d+)\s*[Tt](?![A-Za-z])"), r" \1TB "),
    (re.compile(r"(\d+)\s*毫安(?:时)?"), r" \1mAh "),
    (re.compile(_NUM + r"\s*毫升"), r" \1ml "),
    (re.compile(_NUM + r"\s*(?:升|公升)"), r" \1L "),
    (re.compile(_NUM + r"\s*毫米"), r" \1mm "),
    (re.compile(_NUM + r"\s*英尺"), r" \1 ft "),
    (re.compile(r"(\d+)\s*片"), r" \1 pieces "),
    (re.compile(r"(\d+)\s*小时"), r" \1 hours "),
    (re.compile(r"(\d+)\s*瓦"), r" \1W "),
]
_MEGAPIXELS = re.compile(r"(\d+)\s*万像素")

_PRICE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?:价格|价位|预算)?在?\s*" + _NUM + _CUR + r"\s*(?:到|至|-|~|～|—)\s*" + _NUM + _CUR + _NOT_UNIT
                + r"\s*(?:之间|以内|左右)?"), r" between $\1 and $\2 "),
    (re.compile(r"(?:不超过|不高于|不到|低于|少于|小于|最多|便宜于|预算)\s*" + _NUM + _CUR + _NOT_UNIT),
     r" under $\1 "),
    (re.compile(_NUM + _CUR + _NOT_UNIT + r"\s*(?:以下|以内|之内|内)"), r" under $\1 "),
    (re.compile(r"(?:不低于|不少于|高于|超过|大于|多于|至少)\s*" + _NUM + _CUR + _NOT_UNIT), r" over $\1 "),
    (re.compile(_NUM + _CUR + _NOT_UNIT + r"\s*(?:以上|起)"), r" over $\1 "),
]
_STOCK = re.compile(r"有货|现货")
# A space where Chinese meets Latin or digits, so "RGB背光" and "10寸" read as separate words.
_SCRIPT_EDGE = re.compile(rf"(?<=[{HAN}])(?=[A-Za-z0-9$])|(?<=[A-Za-z0-9%])(?=[{HAN}])")


@cache
def lexicon() -> dict[str, str]:
    """Chinese word -> its English gloss (several values joined by spaces, in the file's order)."""
    glosses: dict[str, list[str]] = {}
    for section in tomllib.loads(LEXICON.read_text()).values():
        for english, words in section.items():
            for word in words:
                glosses.setdefault(word, [])
                if english not in glosses[word]:
                    glosses[word].append(english)
    return {word: " ".join(values) for word, values in glosses.items()}


@cache
def _lexicon_re() -> re.Pattern[str]:
    words = sorted(lexicon(), key=len, reverse=True)  # longest first: 木质调 (woody) before 木质 (wood)
    return re.compile("|".join(re.escape(w) for w in words))


def gloss(query: str) -> str:
    """The query with its Chinese prices, measures and option words also written as the parser reads them;
    a query without Chinese is returned as it is."""
    if not has_han(query):
        return query
    text = unicodedata.normalize("NFKC", query)  # full-width digits and letters (１２８Ｇ) to ASCII
    text = _SCRIPT_EDGE.sub(" ", text)
    text = _measures(text)
    for pattern, replacement in _PRICE:
        text = pattern.sub(replacement, text)
    text = _STOCK.sub(" in stock ", text)
    text = _lexicon_re().sub(lambda m: f"{m.group(0)} {lexicon()[m.group(0)]} ", text)
    return re.sub(r"\s+", " ", text).strip()


def _measures(text: str) -> str:
    for pattern, replacement in _UNITS:
        if replacement == "{numeral}":
            text = pattern.sub(lambda m: _NUMERALS[m.group(1)], text)
        else:
            text = pattern.sub(replacement, text)
    return _MEGAPIXELS.sub(lambda m: f" {int(m.group(1)) // 100}MP ", text)
