"""The agent's wording (prompts/replies.toml) and the renderers that turn tool results into it."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

PROMPTS = Path(__file__).parent / "prompts"


@cache
def templates() -> dict[str, str]:
    return tomllib.loads((PROMPTS / "replies.toml").read_text())


@cache
def prompt(name: str) -> str:
    return (PROMPTS / name).read_text().strip()


def say(key: str, **slots: Any) -> str:
    return templates()[key].format(**slots)


def money(value: Any) -> str:
    return f"{float(value):.2f}"


def options_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{key}: {value}" for key, value in options.items()) or "standard"


def line_text(line: dict[str, Any]) -> str:
    """One order line or catalogue item, e.g. 'Water Bottle (color: blue) $47.84'."""
    return f"{line['name']} ({options_text(line['options'])}) ${money(line['price'])}"


def lines_text(lines: list[dict[str, Any]]) -> str:
    """Several order lines or items on one line: 'Water Bottle (...) $47.84; Office Chair (...) $488.81'."""
    return "; ".join(line_text(line) for line in lines)


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
        availability="available" if item.get("available", True) else "out of stock",
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
        return f"{method.get('brand', 'card')} card ending {method.get('last_four', '????')}"
    if method["source"] == "gift_card":
        return f"gift card (balance ${money(method.get('balance', 0))})"  # its id is the store's, not theirs
    return method["source"].replace("_", " ")


def address_text(address: dict[str, str]) -> str:
    street = ", ".join(part for part in (address["address1"], address.get("address2")) if part)
    return f"{street}, {address['city']}, {address['state']} {address['zip']}, {address['country']}"
