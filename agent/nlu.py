"""A customer message as the flows read it: the reader's dialogue act (agent/reader) in the flows' terms.

What the message asks and does comes from the learned reader; the values it gives from the exact-copy extractors
(agent/reader/extract.py). The patterns left here name store data the flows look up (payment kinds, "every
order", "how many ... options") and are to move into the reader's slots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from agent.locales.cues import alternatives, with_words
from agent.reader import extract
from agent.reader.acts import Context, DialogueAct, Move, RequestKind
from agent.reader.reader import default_reader


class Intent(StrEnum):
    HUMAN = "human"
    OUT_OF_SCOPE = "out_of_scope"
    CANCEL = "cancel"
    RETURN = "return"
    EXCHANGE = "exchange"  # delivered order: exchange; pending order: modify items
    CHANGE_ADDRESS = "change_address"
    CHANGE_PAYMENT = "change_payment"
    ORDER_STATUS = "order_status"
    ARRIVAL = "arrival"  # when an order will arrive: the delivery model's window (agent/flows/status.py)
    ACCOUNT = "account"
    PRODUCT = "product"
    PROBLEM = "problem"  # a problem told without a wish: the agent asks what the customer would like done
    RECOMMEND = "recommend"
    SEARCH = "search"
    GREET = "greet"
    THANKS = "thanks"


# "all my pending orders", "each order": a request for every order it can apply to, in turn.
ALL_ORDERS = with_words(re.compile(r"\b(?:all|every|each)(?: of)?(?: my| the)?(?: (?:pending|possible|delivered"
                                   r"|remaining))? orders?\b", re.I), "all_orders")

# "How many T-shirt options are available?": the product the words name, counted.
HOW_MANY = re.compile(
    r"\bhow many (?:different |kinds of |types of )?([\w' -]+?) ?(?:options|variants|versions|kinds|types|colou?rs"
    r"|sizes|models)\b"
)
# The same question in another locale's words ("tshirt 有多少种款式"): the product is named before them.
HOW_MANY_WORDS = re.compile(alternatives("how_many") or r"(?!)")

EVERYTHING = with_words(re.compile(
    r"\b(all (of )?(the |my )?items|all of (it|them)|everything|every item|whole order|entire order"
    r"|both (items|of them)|them all)\b",
    re.I,
), "everything")


def counted_product(text: str) -> str | None:
    """The product a how-many question counts: "T-shirt" of "how many T-shirt options", the words before the
    count in another locale's ("店里 tshirt 有多少种款式"); None when the text asks no count."""
    english = HOW_MANY.search(text.lower())
    if english:
        return english.group(1)
    other = HOW_MANY_WORDS.search(text)
    return text[:other.start()] if other and text[:other.start()].strip() else None

# The payment kinds by their English names (the extractor's words, without its Chinese ones).
GIFT_CARD = re.compile(extract.GIFT_CARD_WORDS, re.I)
PAYPAL = re.compile(extract.PAYPAL_WORDS, re.I)
CREDIT_CARD = re.compile(extract.CREDIT_CARD_WORDS, re.I)


@dataclass
class Understanding:
    text: str
    intents: list[Intent] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    zip: str | None = None
    name: tuple[str, str] | None = None
    address: dict[str, str] | None = None
    yes: bool = False
    no: bool = False
    act: DialogueAct | None = None

    @property
    def intent(self) -> Intent | None:
        return self.intents[0] if self.intents else None

    def has(self, intent: Intent) -> bool:
        return intent in self.intents

    def moved(self, *moves: Move) -> bool:
        """Whether the message makes one of these dialogue moves ("only the desk lamp", "the other card")."""
        return self.act is not None and any(move in self.act.moves for move in moves)


# The reader's requests the flows serve; small talk has no flow of its own (the model or "rephrase" answers it).
_FLOW_INTENTS = {kind: Intent(kind.value) for kind in RequestKind if kind.value in Intent._value2member_map_}


def split_requests(text: str) -> list[str]:
    """The message's separate requests for different actions, in order, each with the words about it; a message
    with one action (or several of the same kind: "exchange the keyboard and the lamp") stays whole."""
    readings = default_reader().requests_in(text)
    return [r.text for r in readings] if len(readings) > 1 else [text]


def understand(text: str, context: Context | None = None) -> Understanding:
    """The message read after the agent's last question `context` (None: no question open)."""
    act = default_reader().read(text, context)
    slots = act.slots
    found = Understanding(text=text, act=act)
    found.intents = [_FLOW_INTENTS[kind] for kind in act.requests if kind in _FLOW_INTENTS]
    found.emails = extract.emails(text)
    found.order_ids = slots.order_ids
    found.item_ids = slots.item_ids
    found.address = slots.address
    found.zip = slots.zip
    found.name = extract.name(text)
    if not found.intents and found.item_ids:
        found.intents = [Intent.PRODUCT]
    found.yes = Move.YES in act.moves
    found.no = Move.NO in act.moves and not found.yes
    return found


def cancel_reason(text: str) -> str | None:
    """The reason in the customer's words, as the reader reads it; None (ask again) when it states none."""
    reason = default_reader().reason_in(text)
    return reason.value if reason else None
