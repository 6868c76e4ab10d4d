"""Masking of personal data in text and JSON-like values: emails, phone numbers, street addresses, payment ids
and card numbers, for logs, exported transcripts and training data.

What stays: order ids (#W…), item and product ids, tracking numbers, cities and states — they are not personal on
their own and staff or the customer need them to act. What goes keeps enough to correlate without identifying:
an email keeps its first letter and domain (n***@example.com), a payment id and a card number their last four,
a phone number its last two digits, a zip code its first three digits.

Every pattern is linear in the text's length (a match starts only where its leading run starts, runs never
overlap, free-text parts are bounded): tests/test_patterns_linear.py checks them with the rest of agent/.
Masking is idempotent: masked text has nothing left that a pattern matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agent.reader.extract import ADDRESS, EMAIL, STREET_ADDRESS

STREET_MASK = "[street]"
UNIT_MASK = "[unit]"
NAME_MASK = "[name]"

# The store's payment method ids: credit_card_7815826, gift_card_4374071, paypal_5727330.
PAYMENT_ID = re.compile(
    r"(?<![\w])(credit_card|debit_card|gift_card|paypal|bank_account|apple_pay|google_pay)_(\d{2,}+)(?![\w])", re.I
)
# 13 to 19 digits, grouped by spaces or dashes or not: a card number (tracking ids have 12 digits, item ids 10).
CARD_NUMBER = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?!\d)")
# A phone number needs a separator, brackets or a leading +: a bare run of ten digits is an item id in this store.
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d[\d ().-]{6,16}\d|(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4})(?!\d)"
)
# A street line in free text: a house number, up to four words, and a street-type word ("986 Sunset Drive"), or
# "123 Broadway". Words are possessive runs, so a long word is read once.
STREET = re.compile(
    r"(?<![\w#])\d{1,6}[A-Za-z]?(?:(?: [A-Za-z][A-Za-z.'-]*+){1,4} (?:street|st|road|rd|avenue|ave|lane|ln|drive|dr"
    r"|boulevard|blvd|way|court|ct|place|pl|terrace|circle|parkway|pkwy|highway|hwy|square|sq|trail|alley)"
    r"| broadway)\b\.?",
    re.I,
)
UNIT = re.compile(r"(?<![\w])(?:suite|apt|apartment|unit)\.? ?#? ?\d{1,6}[A-Za-z]?(?![\w])", re.I)
# A zip code after a state code ("CO 80279") or after the word zip ("zip code 10083", "'zip': '10083'").
STATE_ZIP = re.compile(r"(?<![A-Za-z])[A-Z]{2},? (\d{5})(?:-\d{4})?(?!\d)")
KEYED_ZIP = re.compile(r"(?<![\w])(?:zip|postcode|postal code)(?:[ _]?code)?['\"]?:? ?(?:is )?['\"]?(\d{5})(?!\d)",
                       re.I)


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_zip(zip_code: str) -> str:
    return zip_code[:3] + "**" if len(zip_code) >= 5 else "***"


def _last(digits: str, keep: int) -> str:
    return re.sub(r"\D", "", digits)[-keep:]


def _payment_id(match: re.Match[str]) -> str:
    return f"{match.group(1)}_***{match.group(2)[-4:]}"


def _card(match: re.Match[str]) -> str:
    return f"[card ending {_last(match.group(0), 4)}]"


def _phone(match: re.Match[str]) -> str:
    return f"[phone ending {_last(match.group(0), 2)}]"


def _replace_groups(pattern: re.Pattern[str], text: str, masks: Mapping[str | int, Callable[[str], str]]) -> str:
    """Each match of `pattern` with the named groups in `masks` replaced by what their function makes of them."""
    pieces, at = [], 0
    for match in pattern.finditer(text):
        spans = sorted(((match.span(group), fn) for group, fn in masks.items() if match.group(group)),
                       key=lambda span: span[0])
        for (start, end), fn in spans:
            pieces += [text[at:start], fn(text[start:end])]
            at = end
    return "".join(pieces) + text[at:]


def _street(_: str) -> str:
    return STREET_MASK


def _unit(_: str) -> str:
    return UNIT_MASK


ADDRESS_GROUPS: dict[str | int, Callable[[str], str]] = {"address1": _street, "address2": _unit, "zip": mask_zip}


def mask_text(text: str) -> str:
    """`text` with every email, payment id, card number, phone number, street line and zip code masked."""
    if not text:
        return text
    text = EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = PAYMENT_ID.sub(_payment_id, text)
    text = CARD_NUMBER.sub(_card, text)
    text = PHONE.sub(_phone, text)
    # Whole written addresses first, by the reader's own patterns (a street with no street-type word included).
    text = _replace_groups(ADDRESS, text, ADDRESS_GROUPS)
    text = _replace_groups(STREET_ADDRESS, text, ADDRESS_GROUPS)
    text = STREET.sub(STREET_MASK, text)
    text = UNIT.sub(UNIT_MASK, text)
    text = _replace_groups(STATE_ZIP, text, {1: mask_zip})
    return _replace_groups(KEYED_ZIP, text, {1: mask_zip})


def _initial(name: str) -> str:
    return f"{name[:1]}." if name else name


# Fields of the store's records and tool arguments whose whole value is personal.
FIELD_MASKS: dict[str, Callable[[str], str]] = {
    "email": mask_email,
    "address1": lambda value: STREET_MASK if value else value,
    "address2": lambda value: UNIT_MASK if value else value,
    "zip": mask_zip,
    "phone": lambda value: f"[phone ending {_last(value, 2)}]",
    "phone_number": lambda value: f"[phone ending {_last(value, 2)}]",
    "first_name": _initial,
    "last_name": _initial,
}


def mask_value(value: Any) -> Any:
    """A JSON-like value (tool arguments and results, ticket fields, message payloads) with personal data masked:
    known fields by name, every other string as text. Returns a new value; the input is left alone."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: _mask_field(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value


def _mask_field(key: Any, value: Any) -> Any:
    field_mask = FIELD_MASKS.get(key) if isinstance(key, str) else None
    if field_mask is not None and isinstance(value, str):
        return field_mask(value)
    return mask_value(value)


class KnownValues:
    """Literal values always masked, whatever their shape: one customer's own name, email, addresses and zip,
    when their conversations are anonymised (the patterns cannot know that "Li" is a name)."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self.replacements = {value.lower(): mask for value, mask in replacements.items() if value.strip()}
        ordered = sorted(self.replacements, key=len, reverse=True)  # the longest first: a street before its number
        alternatives = "|".join(re.escape(value) for value in ordered)
        self.pattern = re.compile(rf"(?<![\w])(?:{alternatives})(?![\w])", re.I) if ordered else None

    def text(self, text: str) -> str:
        if self.pattern is not None and text:
            text = self.pattern.sub(lambda m: self.replacements[m.group(0).lower()], text)
        return mask_text(text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) if key not in FIELD_MASKS else _mask_field(key, item)
                    for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def customer_values(first_name: str, last_name: str, email: str, addresses: Iterable[Mapping[str, str]],
                    payment_ids: Iterable[str] = ()) -> KnownValues:
    """The literal values of one customer that identify them, each with its mask."""
    known = {first_name: NAME_MASK, last_name: NAME_MASK, email: mask_email(email)}
    for address in addresses:
        known[address.get("address1", "")] = STREET_MASK
        known[address.get("address2", "")] = UNIT_MASK
        known[address.get("zip", "")] = mask_zip(address.get("zip", ""))
    for payment_id in payment_ids:
        known[payment_id] = PAYMENT_ID.sub(_payment_id, payment_id)
    return KnownValues(known)
