"""Exact-copy extractors: the spans a tool may use, copied as the customer wrote them.

A 135M model cannot be trusted to copy an order id or an email exactly; these patterns can. They read values
(ids, emails, zips, names, addresses, amounts), never what the customer wants: that is the classifiers' job.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from agent.reader.acts import PaymentKind, Slots

# Every pattern here is linear in the message's length: a match starts only where its leading run starts (a
# lookbehind), adjacent runs never overlap, and a free-text part is bounded (tests/test_patterns_linear.py).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "#W2611340", "w-2611340", "order number 2611340", "#2611340", "订单#W2611340到哪了": seven digits after a W,
# "order", 订单 or a hash (no word boundary after the digits: Chinese characters are word characters too).
ORDER_ID = re.compile(
    r"(?:#\s*)?(?<![A-Za-z0-9])W\s*(?:-\s*)?(\d{7})(?!\d)"
    r"|(?:\border(?:\s*(?:number|no\.?|id))?(?:\s*is)?\s*(?:[:#(]\s*)?|#\s*|订单号?\s*)(\d{7})(?!\d)",
    re.I,
)
ITEM_ID = re.compile(r"\b(\d{10})\b")
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
CARD_ENDING = re.compile(r"\b(?:ending|ends|last four|last 4)\D{0,12}(\d{4})\b|尾号\s*(\d{4})", re.I)
NAME = re.compile(
    r"\b(?:my name is|name'?s|i am|i'm|im|this is|name:)\s+([A-Za-z][A-Za-z'-]+)\s+([A-Za-z][A-Za-z'-]+)", re.I
)
# "it's Harper Smith, postcode 43193": after "it's" only a capitalised pair is a name ("it's broken already" is not).
IT_IS_NAME = re.compile(r"\b(?:[Ii]t'?s|[Ii]t is)\s+([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)")
CAPITALISED_PAIR = re.compile(r"\b([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)\b")
# Words that follow "I'm" / "this is" without being a first or last name.
NOT_NAMES = {
    "looking", "trying", "wondering", "not", "a", "the", "here", "in", "from", "interested", "going", "so", "very",
    "really", "just", "ship", "upset", "sorry", "happy", "glad", "calling", "writing", "asking", "still", "back",
    "okay", "ok", "fine", "good", "sure", "afraid", "unhappy", "angry", "able", "unable", "about", "also", "now",
    "with", "an", "at", "on", "out", "ready", "done", "no", "of", "to", "and", "all", "only", "quite", "pretty",
    "my", "your", "it", "this", "that", "zip", "email", "is", "ridiculous", "unacceptable", "frustrated", "tired",
    "hi", "hello", "hey", "yes", "thanks", "please", "postal", "code", "postcode", "name", "account",
}
# "Springfield, IL 62704[, USA]": how every written address ends.
# (Each part is bounded and ends at the first comma it meets, so a match attempt costs at most a few hundred steps.)
_CITY_STATE_ZIP = (r"(?P<city>[A-Za-z][A-Za-z .'-]{0,59}?),\s*(?P<state>[A-Za-z]{2})\s*(?:,\s*)?(?P<zip>\d{5})"
                   r"(?:\s*,\s*(?P<country>[A-Za-z][A-Za-z .]{0,39}))?")
ADDRESS = re.compile(
    r"(?<!\d)(?P<address1>\d[\w .'-]{1,99}?),\s*(?:(?P<address2>(?:apt|apartment|suite|unit|#)[\w .#-]{0,39}?),\s*)?"
    + _CITY_STATE_ZIP,
    re.I,
)
# "910 Pine Road Boston, MA 26033": no comma after the street, whose last word ends it.
STREET_ADDRESS = re.compile(
    r"(?<!\d)(?P<address1>\d[\w .'-]{0,99}?\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way"
    r"|court|ct|place|pl|terrace|circle|parkway|pkwy|highway|hwy)\b\.?)\s+(?:(?P<address2>(?:apt|apartment|suite|unit|#)"
    r"\s*[\w-]{1,20}),?\s+)?" + _CITY_STATE_ZIP,
    re.I,
)
KNOWN_COUNTRIES = {"CANADA", "MEXICO", "UK", "UNITED KINGDOM"}
HAN = re.compile(r"[\u4e00-\u9fff]")
# The kinds of payment method a store holds, by the names they go by (the store's vocabulary, like its products).
GIFT_CARD_WORDS = r"\bgift ?card\b"
PAYPAL_WORDS = r"\bpay ?pal\b"
CREDIT_CARD_WORDS = r"\b(?:credit|debit|visa|mastercard|amex|card)\b"  # "master card" is a card too
# "The original payment method", "the same card I paid with", 原路退回: the method the order was paid with.
ORIGINAL_METHOD = re.compile(r"\boriginal (?:payment|method|card|form of payment)"
                             r"|\bsame (?:card|payment method|method)\b|\b(?:card|method) I (?:paid|used)\b"
                             r"|原路|原支付方式|原来的(?:支付方式|卡|账户)", re.I)
PAYMENT_NAMES = [
    (PaymentKind.GIFT_CARD, re.compile(GIFT_CARD_WORDS + r"|礼品卡|购物卡", re.I)),
    (PaymentKind.PAYPAL, re.compile(PAYPAL_WORDS + r"|贝宝", re.I)),
    (PaymentKind.CREDIT_CARD, re.compile(CREDIT_CARD_WORDS + r"|信用卡|银行卡|借记卡", re.I)),
]


def fold(text: str) -> str:
    """Full-width digits, letters and punctuation as their ASCII forms (＃Ｗ１２３ is #W123)."""
    return unicodedata.normalize("NFKC", text)


def language(text: str) -> str:
    return "zh" if HAN.search(text) else "en"


def normalise_order_id(digits: str) -> str:
    return f"#W{digits}"


def emails(text: str) -> list[str]:
    return [email.lower().rstrip(".") for email in EMAIL.findall(fold(text))]


def order_ids(text: str) -> list[str]:
    without_emails = EMAIL.sub(" ", fold(text))
    return _unique(normalise_order_id(a or b) for a, b in ORDER_ID.findall(without_emails))


def _without_ids(text: str) -> str:
    return ORDER_ID.sub(" ", EMAIL.sub(" ", fold(text)))


def item_ids(text: str) -> list[str]:
    return _unique(ITEM_ID.findall(_without_ids(text)))


def zip_code(text: str) -> str | None:
    zips = ZIP.findall(ITEM_ID.sub(" ", _without_ids(text)))
    return zips[-1] if zips else None


def address(text: str) -> dict[str, str] | None:
    rest = _without_ids(text)
    match = ADDRESS.search(rest) or STREET_ADDRESS.search(rest)
    return _address(match) if match else None


def name(text: str) -> tuple[str, str] | None:
    text = EMAIL.sub(" ", fold(text))
    match = NAME.search(text) or IT_IS_NAME.search(text)
    if not match or _not_a_name(match.group(1)) or _not_a_name(match.group(2)):
        return None
    return match.group(1).title(), match.group(2).title()


def bare_name(text: str) -> tuple[str, str] | None:
    """The name in a reply to the agent's question for name and zip: 'Yusuf Rossi, 19122' (the only two words),
    or the one capitalised pair of words in 'Yusuf Rossi here, postal code 19122'."""
    text = ZIP.sub(" ", fold(text))
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", text)
    if len(words) == 2 and not any(_not_a_name(w) for w in words):
        return words[0].title(), words[1].title()
    pairs = {(a, b) for a, b in CAPITALISED_PAIR.findall(text) if not (_not_a_name(a) or _not_a_name(b))}
    return pairs.pop() if len(pairs) == 1 else None


def card_last_four(text: str) -> str | None:
    match = CARD_ENDING.search(fold(text))
    return (match.group(1) or match.group(2)) if match else None


def price_bounds(text: str) -> tuple[float | None, float | None]:
    """'under $50' → (None, 50); 'between 100 and 200 dollars' → (100, 200): the retriever's own price reading."""
    parsed = _price_parser().parse(fold(text))
    return parsed.filters.min_price, parsed.filters.max_price


@lru_cache(maxsize=1)
def _price_parser():  # type: ignore[no-untyped-def]
    from retrieval.documents import Document
    from retrieval.filters import FilterIndex, QueryParser

    return QueryParser(FilterIndex([Document("price", "price", "price", "price", price=1.0)]))


def payment_kind(text: str) -> PaymentKind | None:
    folded = fold(text)
    return next((kind for kind, pattern in PAYMENT_NAMES if pattern.search(folded)), None)


def slots(text: str) -> Slots:
    """Every value the message states, copied exactly."""
    written = address(text)
    identity_zip = zip_code(text)
    if written and written["zip"] == identity_zip:
        identity_zip = None  # the zip of a written address is part of the address, not the customer's identity
    found = name(text) or (bare_name(text) if identity_zip else None)  # a street is no name beside its zip
    low, high = price_bounds(text)
    mail = emails(text)
    return Slots(order_ids=order_ids(text), item_ids=item_ids(text), email=mail[0] if mail else None,
                 first_name=found[0] if found else None, last_name=found[1] if found else None, zip=identity_zip,
                 payment=payment_kind(text), card_last_four=card_last_four(text),
                 price_min=low, price_max=high, address=written)


def _not_a_name(word: str) -> bool:
    word = word.lower()
    return word in NOT_NAMES or (len(word) >= 6 and word.endswith("ing"))  # "I am having ...", not "Ming"


def _address(match: re.Match[str]) -> dict[str, str]:
    parts = {key: (value or "").strip() for key, value in match.groupdict().items()}
    parts["state"] = parts["state"].upper()
    country = parts["country"].strip(" .").upper()
    parts["country"] = "USA" if country in {"", "US", "USA", "UNITED STATES", "UNITED STATES OF AMERICA"} else (
        parts["country"].strip(" .") if country in KNOWN_COUNTRIES else "USA"
    )
    return parts


def _unique(values) -> list[str]:  # type: ignore[no-untyped-def]
    return list(dict.fromkeys(values))
