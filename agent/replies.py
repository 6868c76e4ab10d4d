"""The agent's wording (agent/locales/<locale>/replies.toml, in the conversation's language) and the renderers
that turn tool results into it (their words from words.toml)."""

from __future__ import annotations

import re
import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date

from agent import locales

PROMPTS = Path(__file__).parent / "prompts"
# Slots that carry a store value with words of its own in each locale (words.toml tables).
WORDED_SLOTS = {"status": "order_status", "reason": "cancel_reason"}


def templates() -> dict[str, str]:
    """The English replies (the reference wording, which tools and tests read)."""
    return locales.catalogue("replies")


@cache
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text().strip()


def say(key: str, /, **slots: Any) -> str:
    """The reply `key` in the conversation's language, its slots filled."""
    for slot, table in WORDED_SLOTS.items():
        if isinstance(slots.get(slot), str):
            slots[slot] = words()[table].get(slots[slot], slots[slot])
    return locales.text("replies", key, **slots)


def words() -> dict[str, Any]:
    return locales.entries("words")


def term(name: str, /, **slots: Any) -> str:
    """A term of words.toml in the conversation's language, its slots filled."""
    return locales.text("words", name, **slots)


@cache
def _glosses() -> dict[str, dict[str, re.Pattern[str]]]:
    raw = tomllib.loads((locales.LOCALES_DIR / "glosses.toml").read_text(encoding="utf-8"))
    return {table: {name: re.compile(pattern) for name, pattern in patterns.items()} for table, patterns in raw.items()}


def gloss(table: str, text: str) -> str | None:
    """An English text of the tools (glosses.toml `table`) in the customer's language; None when no pattern
    knows it. The pattern's groups are glossed too ("often bought with your earlier orders")."""
    texts = words()[table]
    for name, pattern in _glosses()[table].items():
        found = pattern.search(text)
        if found:
            slots = {key: gloss(table, value) or value for key, value in found.groupdict().items()}
            return str(texts[name]).format(**slots)
    return None


def failure_text(error: str) -> str | None:
    """A store tool's error in the customer's language when it is not English (the tools write English): its
    text in words.toml when a pattern recognises it, else a plain "try again"; None in English."""
    if locales.current() == locales.DEFAULT:
        return None
    return gloss("tool_errors", error) or str(words()["tool_errors"]["other"])


def reason_text(reason: str) -> str:
    """Why a product is recommended, in the customer's language (the recommender's own words in English)."""
    if locales.current() == locales.DEFAULT:
        return reason
    return gloss("reasons", reason) or reason


def money(value: Any) -> str:
    return f"{float(value):.2f}"


def day_text(moment: str) -> str:
    """A day of an ISO time, named the locale's way ("Thursday 26 Nov", "11月26日星期四")."""
    babel_locale = locales.BABEL_LOCALES[locales.current()]
    return format_date(datetime.fromisoformat(moment), format=term("day"), locale=babel_locale)


def options_text(options: dict[str, Any]) -> str:
    separator = term("option_separator")
    return separator.join(term("option", key=key, value=value) for key, value in options.items()) or term(
        "standard_options")


def line_text(line: dict[str, Any]) -> str:
    """One order line or catalogue item, e.g. 'Water Bottle (color: blue) $47.84'."""
    return term("line", name=line["name"], options=options_text(line["options"]), price=money(line["price"]))


def lines_text(lines: list[dict[str, Any]]) -> str:
    """Several order lines or items on one line: 'Water Bottle (...) $47.84; Office Chair (...) $488.81'."""
    return term("line_separator").join(line_text(line) for line in lines)


def variant_cards(product: dict[str, Any], variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Product cards for some of a product's variants (get_product_details output)."""
    return [{"product_id": product["product_id"], "name": product["name"], **variant} for variant in variants]


def item_text(item: dict[str, Any], key: str = "item_text") -> str:
    """One catalogue item in words: 'Water Bottle (color: blue) at $47.84, available'."""
    return say(
        key,
        name=item["name"],
        options=options_text(item["options"]),
        price=money(item["price"]),
        availability=term("available" if item.get("available", True) else "out_of_stock"),
    )


def item_lines(items: list[dict[str, Any]]) -> str:
    """Items one per line, as a list: for the terminal chat, which shows no cards."""
    return "\n".join(item_text(item, "item_line") for item in items)


def prices_text(items: list[dict[str, Any]]) -> str:
    """The price range of the cards shown, which a product reply says instead of listing them again."""
    prices = sorted(float(item["price"]) for item in items)
    if prices[0] == prices[-1]:
        return say("prices_same", price=money(prices[0]))
    return say("prices_range", low=money(prices[0]), high=money(prices[-1]))


def method_text(method: dict[str, Any]) -> str:
    if method["source"] == "credit_card":
        return term("card", brand=method.get("brand", term("card_brand")), last_four=method.get("last_four", "????"))
    if method["source"] == "gift_card":  # its id is the store's, not theirs
        return term("gift_card", balance=money(method.get("balance", 0)))
    return str(words().get(method["source"], method["source"].replace("_", " ")))


def address_text(address: dict[str, str]) -> str:
    """An address as its country writes it (the store's are US ones), in every locale: carriers read it."""
    street = ", ".join(part for part in (address["address1"], address.get("address2")) if part)
    return f"{street}, {address['city']}, {address['state']} {address['zip']}, {address['country']}"
