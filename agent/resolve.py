"""Resolve what a customer names in words to store ids: 'the keyboard' → an item of their order, 'in red' → a
variant, 'my gift card' → a payment method. Fuzzy matching over the tool results, never a guess outside them."""

from __future__ import annotations

import re
from typing import Any

from rapidfuzz import fuzz

from agent.nlu import CARD_ENDING, CREDIT_CARD, EVERYTHING, GIFT_CARD, PAYPAL

MATCH_THRESHOLD = 80
CHEAPEST = re.compile(r"\b(cheapest|least expensive|lowest price)\b", re.I)
PRICIEST = re.compile(r"\b(most expensive|priciest|highest price)\b", re.I)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def order_lines(order: dict[str, Any], text: str, item_ids: list[str]) -> list[dict[str, Any]] | None:
    """The order's lines the customer means (several products may be named); None when none is (ask them)."""
    lines = order["items"]
    if item_ids:
        chosen = [line for line in lines if line["item_id"] in item_ids]
        return chosen or None
    if len(lines) == 1 or EVERYTHING.search(text):
        return list(lines)
    named = [(_line_score(line, text), line) for line in lines if _name_score(line, text) >= MATCH_THRESHOLD]
    if not named:
        return None
    # Of two lines of one product ("the blue T-shirt" of two), the better-named; of different products, each.
    best_by_name: dict[str, float] = {}
    for score, line in named:
        best_by_name[line["name"]] = max(score, best_by_name.get(line["name"], 0))
    return [line for score, line in named if score == best_by_name[line["name"]]]


def named_lines(order: dict[str, Any], text: str) -> list[dict[str, Any]]:
    """The order's lines the text names in words ("the water bottle"): no fallback to a single-line order."""
    return [line for line in order["items"] if _name_score(line, text) >= MATCH_THRESHOLD]


CLAUSE_BREAK = re.compile(r"\band\b|\balso\b|\bplus\b|[;.]|,(?=\s*(?:the|my|and)\b)", re.I)


def clauses_by_line(lines: list[dict[str, Any]], text: str) -> list[tuple[dict[str, Any], str]]:
    """Each line with the words of the text about it: the clauses that name it best ("the keyboard with clicky
    switches and the thermostat for Google Home"). One line gets the whole text."""
    if len(lines) == 1:
        return [(lines[0], text)]
    clauses: dict[str, list[str]] = {line["item_id"]: [] for line in lines}
    for part in CLAUSE_BREAK.split(text):
        scores = [(_name_score(line, part), line["item_id"]) for line in lines]
        best, item_id = max(scores)
        if best >= MATCH_THRESHOLD:
            clauses[item_id].append(part)
    return [(line, " ".join(clauses[line["item_id"]]) or text) for line in lines]


def _name_score(line: dict[str, Any], text: str) -> float:
    """How well the text names the line's product: the whole name, or its head noun alone ("the keyboard" names
    a "Mechanical Keyboard"; "smart" names nothing)."""
    name_score = fuzz.partial_ratio(line["name"].lower(), text.lower())
    head = re.findall(r"[a-z0-9]+", line["name"].lower())[-1:]
    word_score = max((fuzz.ratio(word, token) for word in head for token in _words(text)), default=0)
    return max(name_score, word_score)


def _line_score(line: dict[str, Any], text: str) -> float:
    """The name's score, plus a little for each of the line's options the text mentions (which of two T-shirts)."""
    option_bonus = 5 * len(_words(" ".join(map(str, line["options"].values()))) & _words(text))
    return _name_score(line, text) + option_bonus


def replacement_variant(
    product: dict[str, Any], current: dict[str, Any], text: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The available variant of the same product that the text asks for, and the alternatives on offer."""
    alternatives = [
        variant
        for variant in product["variants"].values()
        if variant["available"] and variant["item_id"] != current["item_id"]
    ]
    asked = _words(text) - _words(" ".join(map(str, current["options"].values())))
    scored = []
    for variant in alternatives:
        values = _words(" ".join(map(str, variant["options"].values())))
        changed = {k for k, v in variant["options"].items() if current["options"].get(k) != v}
        scored.append((len(values & asked), -len(changed), variant))
    scored.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    by_price = CHEAPEST.search(text) or PRICIEST.search(text)
    if scored and by_price:
        # "the cheapest one in red": the lowest (or highest) price among the options that fit best what is named.
        fitting = [variant for words, _, variant in scored if words == scored[0][0]]
        pick = min if CHEAPEST.search(text) else max
        return pick(fitting, key=lambda variant: variant["price"]), alternatives
    if scored and scored[0][0] > 0 and (len(scored) == 1 or scored[0][:2] != scored[1][:2]):
        return scored[0][2], alternatives
    return None, alternatives


def payment_method(user: dict[str, Any], text: str) -> dict[str, Any] | None:
    """The customer's own payment method named in the text, if any."""
    methods = list(user["payment_methods"].values())
    ending = CARD_ENDING.search(text)
    for method in methods:
        if ending and method.get("last_four") == ending.group(1):
            return method
    wanted = (
        "gift_card"
        if GIFT_CARD.search(text)
        else "paypal"
        if PAYPAL.search(text)
        else "credit_card"
        if CREDIT_CARD.search(text)
        else None
    )
    matching = [method for method in methods if method["source"] == wanted]
    return matching[0] if len(matching) == 1 else None
