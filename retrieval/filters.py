"""Hard search filters (price, options, stock), their evaluation as masks, and the query parser.

Option constraints: `options` maps an option key to a required value, compared case-insensitively.
A key may name alternatives separated by "|" ("color|frame color": either key has the value), and so
may a value ("black|white"). The parser produces such alternatives when a value found in the query
exists under several option keys of the catalogue.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field

from .documents import Document
from .zh_query import gloss

ALT = "|"


class SearchFilters(BaseModel):
    """Hard constraints. Prices are inclusive; an item without a price fails any price bound.
    in_stock=True keeps available items only (None or False: no stock filter)."""

    min_price: float | None = None
    max_price: float | None = None
    options: dict[str, str] = Field(default_factory=dict)
    in_stock: bool | None = None

    def is_empty(self) -> bool:
        return self.min_price is None and self.max_price is None and not self.options and self.in_stock is None

    def merged_over(self, parsed: SearchFilters) -> SearchFilters:
        """These (explicit) filters overriding parsed ones.

        Price bounds are one decision: if the caller sets either bound, parsed bounds are dropped.
        A parsed option constraint is dropped when it touches any key the caller constrains.
        """
        if self.min_price is not None or self.max_price is not None:
            lo, hi = self.min_price, self.max_price
        else:
            lo, hi = parsed.min_price, parsed.max_price
        explicit_keys = {k.lower() for key in self.options for k in key.split(ALT)}
        options = {
            key: value for key, value in parsed.options.items()
            if not explicit_keys & {k.lower() for k in key.split(ALT)}
        }
        options.update(self.options)
        in_stock = self.in_stock if self.in_stock is not None else parsed.in_stock
        return SearchFilters(min_price=lo, max_price=hi, options=options, in_stock=in_stock)

    def matches(self, doc: Document) -> bool:
        """Reference check for one document (the retriever uses FilterIndex masks)."""
        if self.in_stock and not doc.available:
            return False
        if self.min_price is not None and (doc.price is None or doc.price < self.min_price):
            return False
        if self.max_price is not None and (doc.price is None or doc.price > self.max_price):
            return False
        opts = {k.lower(): v.lower() for k, v in doc.options.items()}
        for key, value in self.options.items():
            values = {v.strip().lower() for v in value.split(ALT)}
            if not any(opts.get(k.strip().lower()) in values for k in key.split(ALT)):
                return False
        return True


class FilterIndex:
    """Column arrays and option postings, so a filter becomes a boolean mask without a Python loop."""

    def __init__(self, docs: Sequence[Document]) -> None:
        self.n = len(docs)
        self.prices = np.array([np.nan if d.price is None else d.price for d in docs], dtype=np.float64)
        self.available = np.array([d.available for d in docs], dtype=bool)
        postings: dict[tuple[str, str], list[int]] = defaultdict(list)
        keys_by_value: dict[str, set[str]] = defaultdict(set)
        self.display: dict[str, str] = {}  # lower-case -> catalogue spelling, for readable parsed filters
        for i, doc in enumerate(docs):
            for key, value in doc.options.items():
                k, v = key.strip().lower(), str(value).strip().lower()
                postings[(k, v)].append(i)
                keys_by_value[v].add(k)
                self.display.setdefault(k, key.strip())
                self.display.setdefault(v, str(value).strip())
        self.postings = {kv: np.array(ids, dtype=np.int64) for kv, ids in postings.items()}
        self._values_by_key: dict[str, set[str]] = defaultdict(set)
        for k, v in postings:
            self._values_by_key[k].add(v)
        self.keys_by_value = dict(keys_by_value)
        self.keys = {k for k, _ in self.postings}

    def values_of(self, key: str) -> set[str]:
        """The lower-case values the catalogue has under an option key."""
        return self._values_by_key.get(key.strip().lower(), set())

    def option_mask(self, key: str, value: str) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        values = [v.strip().lower() for v in value.split(ALT)]
        for k in key.split(ALT):
            for v in values:
                ids = self.postings.get((k.strip().lower(), v))
                if ids is not None:
                    mask[ids] = True
        return mask

    def mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        """Allowed documents, or None when nothing is filtered (cheaper than an all-True mask)."""
        if filters is None or filters.is_empty():
            return None
        mask = np.ones(self.n, dtype=bool)
        if filters.in_stock:
            mask &= self.available
        with np.errstate(invalid="ignore"):  # NaN price fails every bound, as intended
            if filters.min_price is not None:
                mask &= self.prices >= filters.min_price
            if filters.max_price is not None:
                mask &= self.prices <= filters.max_price
        for key, value in filters.options.items():
            mask &= self.option_mask(key, value)
        return mask


# ---------------------------------------------------------------------------------------------
# Query parsing

_CUR_WORD = r"(?:dollars?|bucks|usd)"
# (currency sign)(number)(k)(currency word); the number may not stop mid-number when backtracking.
_AMT = r"(\$\s*)?(?<![\w.,])(\d+(?:,\d{3})*(?:\.\d+)?)(?!\.?\d)(\s*k\b)?(\s*" + _CUR_WORD + r"\b)?"
# A bare number followed by one of these is a quantity, not a price ("under 5 lbs", "over 10 ft").
_UNITS = (
    r"(?:%|lbs?|pounds?|kg|g|grams?|oz|ounces?|ml|l|liters?|litres?|gal|gallons?|gb|tb|mb|mah|in|inch(?:es)?"
    r"|ft|feet|foot|cm|mm|m|meters?|w|watts?|v|volts?|amps?|a|hours?|hrs?|h|mins?|minutes?|pieces?|pcs"
    r"|cups?|mp|x|years?|yrs?|days?|people|persons?|seats?|degrees?|bar|mph|rpm|qt|quarts?|sq|cu|\"|')"
)
_NOT_UNIT = r"(?!\s*" + _UNITS + r"(?![a-z]))"
_MAX_WORDS = (
    r"(?:under|below|less\s+than|cheaper\s+than|lower\s+than|no\s+more\s+than|not\s+more\s+than|at\s+most"
    r"|up\s+to|max(?:imum)?|within|<=?|≤)"
)
_MIN_WORDS = (
    r"(?:over|above|more\s+than|greater\s+than|higher\s+than|pricier\s+than|at\s+least|min(?:imum)?"
    r"|starting\s+(?:at|from)|>=?|≥)"
)
_PRICE_LEAD = r"(?:(?:for|priced|price|prices|costing|cost|costs|budget(?:\s+of)?|that\s+costs?)\s+)?"
_RANGE_RE = re.compile(
    r"(?<!\w)" + _PRICE_LEAD + r"(?:(between|from)\s*)?" + _AMT + r"\s*(?:and|to|-|–)\s*" + _AMT + _NOT_UNIT, re.I
)
_MAX_RE = re.compile(r"(?<!\w)" + _PRICE_LEAD + _MAX_WORDS + r"\s*" + _AMT + _NOT_UNIT, re.I)
_MIN_RE = re.compile(r"(?<!\w)" + _PRICE_LEAD + _MIN_WORDS + r"\s*" + _AMT + _NOT_UNIT, re.I)
_SUFFIX_RE = re.compile(
    _AMT + r"\s*(?:(or\s+(?:less|under|cheaper|below))|(or\s+(?:more|above|over))|(and\s+(?:under|below|less))"
    r"|(and\s+(?:up|above|over))|(\+))" + r"(?![\w])",
    re.I,
)
_STOCK_RE = re.compile(r"\b(?:(?:currently|only|that\s+are|which\s+are)\s+)?(?:in[\s-]stock|available)\b", re.I)
_NO_STOCK_RE = re.compile(r"\b(?:out\s+of\s+stock|not\s+(?:in\s+stock|available)|unavailable)\b", re.I)
# Generic words that are option values somewhere but say nothing on their own in a query.
_GENERIC_VALUES = frozenset({"no", "yes", "none", "not resistant", "standard", "other", "n/a", "na"})


def _amount(cur: str | None, num: str, kilo: str | None, word: str | None) -> tuple[float, bool]:
    value = float(num.replace(",", ""))
    if kilo:
        value *= 1000
    return value, bool(cur or word)


@dataclass
class ParsedQuery:
    filters: SearchFilters
    text: str  # the query with price and stock phrases removed (option words kept: they help ranking)
    # "size 13" where no item has size 13: asked for, but nothing can be filtered on it (the caller may say so).
    unknown_options: dict[str, str] = field(default_factory=dict)


def _spelling_free(value: str) -> str:
    """A value as written in any of its spellings: "15-inch" for "15 inch" and "15inch", "100ft" for "100 ft"."""
    return re.sub(r"[\s\-]", "", value.lower())


def spelling_pattern(value: str) -> str:
    """A pattern for a value that lets spaces and hyphens vary, and a space in between a number and its unit."""
    words = [w for w in re.split(r"[\s\-]+", value) if w]
    return r"[\s\-]?".join(r"\s?".join(re.escape(run) for run in re.findall(r"\d+(?:\.\d+)?|\D+", w))
                             for w in words)


class QueryParser:
    """Reads price ranges, stock and option values out of a free-text query.

    Option values come from the catalogue (FilterIndex); pure numbers and one-letter values are only
    taken when introduced by their key ("size M", "size 10"). A parsed value that exists under several
    keys becomes one alternative constraint over all of them.
    """

    def __init__(self, index: FilterIndex) -> None:
        self.index = index
        values = [
            v for v in index.keys_by_value
            if v not in _GENERIC_VALUES and len(v) > 1 and not re.fullmatch(r"[\d.,]+", v)
        ]
        self._value_re = self._alternation(values, flexible=True)
        self._canonical = {_spelling_free(v): v for v in sorted(values, key=len)}
        # Options that are yes or no ("waterproof"): the key's words alone ask for yes ("waterproof boots").
        self._yes_keys = [k for k in index.keys if index.values_of(k) <= {"yes", "no"} and len(k) > 2]
        self._yes_re = self._alternation(self._yes_keys)
        # "<key> <value>": any value, including numbers and single letters, when its key is named.
        self._key_re = self._alternation(sorted(index.keys))
        # A catalogue without prices (e.g. titles only) would turn "under 50" into "nothing matches".
        self._prices = bool(np.isfinite(index.prices).any())

    @staticmethod
    def _alternation(words: Sequence[str], flexible: bool = False) -> re.Pattern[str] | None:
        if not words:
            return None
        # Longest first, so "rose gold" wins over "gold" at the same position.
        spell = spelling_pattern if flexible else re.escape
        alts = "|".join(spell(w) for w in sorted(words, key=len, reverse=True))
        return re.compile(r"(?<![\w\-])(" + alts + r")(?![\w\-])", re.I)

    def parse(self, query: str) -> ParsedQuery:
        # A Chinese query's prices, measures and option words, also in the English forms read below.
        text = " " + gloss(query) + " "
        lo: float | None = None
        hi: float | None = None

        def cut(m: re.Match[str]) -> str:
            nonlocal text
            text = text[: m.start()] + " " + text[m.end():]
            return text

        # Ranges first, so "between 100 and 200" is not read as "over 100"-style fragments.
        for m in list(_RANGE_RE.finditer(text))[::-1] if self._prices else ():
            a, a_cur = _amount(*m.group(2, 3, 4, 5))
            b, b_cur = _amount(*m.group(6, 7, 8, 9))
            if not (m.group(1) or a_cur or b_cur) or a > b:
                continue  # "2-4" or "10 to 20" with no price cue is a quantity or a model number
            lo, hi = a, b
            cut(m)
        for m in list(_MAX_RE.finditer(text))[::-1] if self._prices else ():
            hi, _ = _amount(*m.group(1, 2, 3, 4))
            cut(m)
        for m in list(_MIN_RE.finditer(text))[::-1] if self._prices else ():
            lo, _ = _amount(*m.group(1, 2, 3, 4))
            cut(m)
        for m in list(_SUFFIX_RE.finditer(text))[::-1] if self._prices else ():
            value, has_cur = _amount(*m.group(1, 2, 3, 4))
            if not has_cur:
                continue  # "2 or more" is a quantity; "$50 or less" is a price
            if m.group(5) or m.group(7):
                hi = value
            else:
                lo = value
            cut(m)

        in_stock: bool | None = None
        if _NO_STOCK_RE.search(text) is None and _STOCK_RE.search(text):
            in_stock = True
            text = _STOCK_RE.sub(" ", text)

        unknown: dict[str, str] = {}
        options = self._parse_options(text, unknown)
        clean = re.sub(r"\s+", " ", re.sub(r"\s+([,.;:!?])", r"\1", text)).strip(" ,.;:-")
        filters = SearchFilters(min_price=lo, max_price=hi, options=options, in_stock=in_stock)
        return ParsedQuery(filters=filters, text=clean, unknown_options=unknown)

    def _parse_options(self, text: str, unknown: dict[str, str]) -> dict[str, str]:
        found: list[tuple[set[str], str]] = []  # (keys, value)
        taken: list[tuple[int, int]] = []
        if self._key_re is not None:
            for m in self._key_re.finditer(text):
                key = m.group(1).lower()
                rest = re.match(r"\s*:?\s*([\w][\w\-.%]*(?:\s+[\w\-.%]+)?)", text[m.end():])
                if not rest:
                    continue
                # Try the two-word value first ("size full size" is unlikely; "length 28 inch" is not).
                words = rest.group(1).split()
                for n_words in (2, 1):
                    value = " ".join(words[:n_words]).lower().rstrip(".,")
                    if len(words) >= n_words and (key, value) in self.index.postings:
                        found.append(({key}, value))
                        taken.append((m.start(), m.end() + rest.end()))
                        break
                else:
                    if re.fullmatch(r"\d+(?:\.\d+)?", words[0].rstrip(".,")):  # "size 13": no item has it
                        unknown[self.index.display.get(key, key)] = words[0].rstrip(".,")
        if self._value_re is not None:
            for m in self._value_re.finditer(text):
                if any(s <= m.start() < e for s, e in taken):
                    continue
                value = self._canonical.get(_spelling_free(m.group(1)), m.group(1).lower())
                found.append((set(self.index.keys_by_value[value]), value))
        if self._yes_re is not None:
            for m in self._yes_re.finditer(text):
                if not re.search(r"\b(not|non|no)[\s\-]*$", text[: m.start()], re.I):
                    found.append(({m.group(1).lower()}, "yes"))

        # Combine constraints no document can satisfy together ("black or white" on one color key)
        # into one alternative; otherwise all must hold.
        merged: list[tuple[set[str], set[str]]] = []
        for keys, value in found:
            for item in merged:
                if value in item[1]:
                    item[0].update(keys)
                    break
                if item[0] & keys and not self._jointly_satisfiable(item, keys, value):
                    item[0].update(keys)
                    item[1].add(value)
                    break
            else:
                merged.append((set(keys), {value}))
        show = self.index.display
        return {
            ALT.join(sorted(show.get(k, k) for k in keys)): ALT.join(sorted(show.get(v, v) for v in values))
            for keys, values in merged
        }

    def _jointly_satisfiable(self, item: tuple[set[str], set[str]], keys: set[str], value: str) -> bool:
        a = self.index.option_mask(ALT.join(item[0]), ALT.join(item[1]))
        b = self.index.option_mask(ALT.join(keys), value)
        return bool((a & b).any())
