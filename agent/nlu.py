"""Deterministic understanding of a customer message: intents by pattern, ids and contact details by extraction.

A 135M model cannot be trusted to copy an order id or an email exactly; these patterns can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Intent(StrEnum):
    HUMAN = "human"
    OUT_OF_SCOPE = "out_of_scope"
    CANCEL = "cancel"
    RETURN = "return"
    EXCHANGE = "exchange"  # delivered order: exchange; pending order: modify items
    CHANGE_ADDRESS = "change_address"
    CHANGE_PAYMENT = "change_payment"
    ORDER_STATUS = "order_status"
    ARRIVAL = "arrival"  # when an order will arrive: the delivery model's window (agent/arrival.py)
    ACCOUNT = "account"
    PRODUCT = "product"
    RECOMMEND = "recommend"
    SEARCH = "search"
    GREET = "greet"
    THANKS = "thanks"


# "When will it arrive?", "where is my package", "is #W... going to be late": a delivery estimate, not a status.
ARRIVAL_PATTERN = re.compile(
    r"\bwhen (will|would|does|do|did|is|should|can|'ll)\b[^?.!]*\b(arriv|get (here|to me)|come|be (here|delivered)"
    r"|deliver|reach|show up)|\bhow soon\b[^?.!]*\b(arriv|come|get here|deliver|reach|show up|be here)"
    r"|\b(arriv(e|es|al|ing)|eta|estimated (delivery|arrival)|expected (delivery|arrival)"
    r"|delivery (date|window|estimate))\b"
    r"|\bwhere('?s| is) my (package|parcel|delivery|shipment)"
    r"|\b(be|running|arrive|going to be|gonna be) late\b"
    r"|\bhow (long|many days|much longer)\b[^?.!]*\b(take|ship|deliver|arriv|get(s)? here|show(s)? up|come)"
    r"|\bwhen (can|should|do) i expect\b|\bwhen\b[^?.!]*\b(will|'ll) (it |they )?be delivered\b"
)

# "all my pending orders", "each order": a request for every order it can apply to, in turn.
ALL_ORDERS = re.compile(r"\b(?:all|every|each)(?: of)?(?: my| the)?(?: (?:pending|possible|delivered|remaining))?"
                        r" orders?\b", re.I)

# "How many T-shirt options are available?": the product the words name, counted.
HOW_MANY = re.compile(
    r"\bhow many (?:different |kinds of |types of )?([\w' -]+?) ?(?:options|variants|versions|kinds|types|colou?rs"
    r"|sizes|models)\b"
)

# Order matters: the first matching intent wins (a "cancel" message often also mentions an order's status).
INTENT_PATTERNS: list[tuple[Intent, re.Pattern[str]]] = [
    (
        Intent.HUMAN,
        re.compile(
            r"\b(human( being| agent)?|real person|live (agent|chat|person)|(customer service )?representative"
            r"|someone real|(speak|talk|chat) (to|with) (an? |some |your |the )?(real |actual )?"
            r"(person|people|agent|someone|somebody|human|manager|supervisor))\b"
        ),
    ),
    (
        Intent.OUT_OF_SCOPE,
        re.compile(
            r"\b(lawyer|legal action|sue|lawsuit|fraud|chargeback|price ?match|coupon|promo(tion)? code|discount code"
            r"|warranty claim|invoice|wholesale|password|hacked|delete my (account|data))\b"
        ),
    ),
    # "noise-cancelling headphones" and "what is your return policy?" are not requests to cancel or return.
    (Intent.CANCEL, re.compile(r"\b(?<!my )(?<!the )(?<!a )cancel(?!l?ing|l?ation polic)")),  # not "my cancelled order"
    (
        Intent.RETURN,
        re.compile(r"\b(return|refund)(?!s? polic|s? window|able| method)|\bsend (it|them|this|these) back"
                   r"|money back"),  # "as payment or refund method" names a method, not a return
    ),
    (
        Intent.EXCHANGE,
        re.compile(
            r"\b(exchange|swap|switch (it|to|the(?! (shipping|delivery|address|payment)))|replace"
            r"|(ordered|picked|chose|bought) the wrong (?!(shipping |delivery )?(address|payment|card))"
            r"|different (size|colou?r|model|version|option)"
            r"|(change|modify) (the |my )?(item|size|colou?r|option)"
            # "modify the pending boots to a size 8", "upgrade my items to ...": an item, not the address or payment
            r"|\b(change|modify|swap|upgrade)\b[^.?!]*\b(to|for) (the|a|an) (cheapest|least expensive|most "
            r"expensive|cheaper|pricier)\b"  # "change the Desk Lamp in order #W... for the cheapest Desk Lamp"
            r"|(change|modify|upgrade|adjust) (the |my |its )?(pending )?order items? (to|for|into)\b"
            r"|(change|modify|upgrade|adjust) (the |my |its |their |all (of )?(the |my )?)?(pending )?"
            r"(?!([a-z-]+ )?(address|shipping|payment|order|mind)\b)[a-z-]+( [a-z-]+)? (to|for|into)\b"
            r"(?! (my |the |our |a )?([a-z-]+ )?address\b))"  # "modify it to my default address": the address
        ),
    ),
    (Intent.ARRIVAL, ARRIVAL_PATTERN),
    # "my email address" is an identity detail, not a shipping address.
    # "which address the order was sent to" asks about the order, it changes nothing.
    (Intent.CHANGE_ADDRESS, re.compile(r"\b((?<!email )(?<!e-mail )(?<!which )(?<!what )address|ship(ping)? to"
                                       r"|deliver(y)? to|moved)\b")),
    (
        Intent.CHANGE_PAYMENT,
        re.compile(r"\b(payment method|pay with|pay by|(change|switch|update|use) .*(card|paypal|gift card)"
                   r"|charge\b[^.?!]*\bto (my |the |a )?([\w-]+ )?(card|paypal|gift card))"),
    ),
    (
        Intent.ACCOUNT,
        re.compile(
            r"\b(my (account|profile|details|payment methods?|gift card balance)|(my|other|all|recent) orders"
            r"|gift card balance|balance (on|of) (my )?gift card"
            r"|(left|remaining|money|credit)( is)? (on|in) my gift card)\b"
        ),
    ),
    (
        Intent.ORDER_STATUS,
        re.compile(
            r"\b(orders?\b|track(ing)?|status|where is|where's|arriv|deliver|ship(ped|ping|ment)?|package|parcel)"
        ),
    ),
    (Intent.PRODUCT, HOW_MANY),
    (
        Intent.RECOMMEND,
        re.compile(
            r"\b((recommend|suggest)\w* (me )?(something|anything|some ?things?|stuff|products?|items?|gifts?)"
            r"|what (would|do|can|could) you (recommend|suggest)|any (suggestions|recommendations)"
            r"|what (else )?(goes|go|would go|pairs?) (well )?with|goes (well )?with|pairs? (well )?with"
            r"|complements?|what else (should|could|would|can|do) i (buy|get|need))"
        ),
    ),
    (
        Intent.SEARCH,
        re.compile(
            r"\b(looking for|look for|do you (have|sell|carry|stock)|show me|find|search|recommend|suggest|need an?"
            r"|want an?|want to buy|buy|shop(ping)? for|in stock|how much|price of|cheap|under \$?\d)"
        ),
    ),
    (Intent.GREET, re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|greetings)\b")),
    (Intent.THANKS, re.compile(r"\b(thanks|thank you|thx|cheers|bye|goodbye|that'?s all)\b")),
]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# "#W2611340", "w-2611340", "order number 2611340", "#2611340": seven digits after a W, "order" or a hash.
ORDER_ID = re.compile(
    r"(?:#\s*)?\bW\s*-?\s*(\d{7})\b|(?:\border\s*(?:number|no\.?|id)?\s*(?:is\s*)?[:#(]?|#)\s*(\d{7})\b", re.I
)
ITEM_ID = re.compile(r"\b(\d{10})\b")
ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
NAME = re.compile(
    r"\b(?:my name is|name'?s|i am|i'm|this is|name:)\s+([A-Za-z][A-Za-z'-]+)\s+([A-Za-z][A-Za-z'-]+)", re.I
)
NOT_NAMES = {
    "looking", "trying", "wondering", "not", "a", "the", "here", "in", "from", "interested", "going", "so", "very",
    "really", "just", "ship", "upset", "sorry", "happy", "glad", "calling", "writing", "asking", "still", "back",
    "okay", "ok", "fine", "good", "sure", "afraid", "unhappy", "angry", "able", "unable", "about", "also", "now",
    "with", "an", "at", "on", "out", "ready", "done", "no", "of", "to", "and", "all", "only", "quite", "pretty",
}


def _not_a_name(word: str) -> bool:
    word = word.lower()
    return word in NOT_NAMES or (len(word) >= 6 and word.endswith("ing"))  # "I am having ...", not "Ming"
# "hi there, sure, do it", "um, do it", "ok so ok, proceed": a greeting or filler words before the answer.
_OPENING = r"^\s*(?:(?:hi|hello|hey)(?: there)?[\s,!.]+|(?:um+|uh+|well|so|ok so|okay so|ok|okay|alright)[\s,]+)*"
# "yes, do that", "correct, yes", "sure thing, go ahead", "alright, make the change": assents, one after another.
_ASSENT = (r"(?:yes|y|yeah|yep|yup|sure(?: thing)?|ok|okay|fine|alright|all right|correct|confirm(?:ed)?|i confirm"
           r"|please do|please go ahead|go ahead(?: with it)?|go on|go for it|do it|do that|proceed|make the change"
           r"|that'?s (?:right|correct|fine)|absolutely|affirmative|no problem)")
# A confirmation is the whole message: "yes", "yes please", "ok, go ahead" — never "ok wait, no" or "yes, but...".
YES = re.compile(_OPENING + _ASSENT + r"(?:[\s,.!]*(?:" + _ASSENT + r"|please|thanks|thank you|thx))*[\s.!]*$", re.I)
NO = re.compile(
    _OPENING + r"(?:no|n|nope|nah|don'?t|do not|stop|wait|never ?mind|hold on|not (?:now|yet)|cancel that|forget it"
    r"|i changed my mind)\b(?![\s,]*(?:problem|worries)\b)",
    re.I,
)
NO_LONGER_NEEDED = re.compile(r"\b(i )?(no longer need|don'?t need|do not need)\b(?! (a|any) (help|person|human))")
CANCEL_MISTAKE = re.compile(r"\b(mistake|by accident|accidental|wrong (item|order)|didn'?t mean)", re.I)
CANCEL_UNNEEDED = re.compile(r"\b(no longer|don'?t need|do not need|not needed|changed my mind|don'?t want)", re.I)
EVERYTHING = re.compile(
    r"\b(all (of )?(the |my )?items|all of (it|them)|everything|every item|whole order|entire order"
    r"|both (items|of them)|them all)\b",
    re.I,
)
GIFT_CARD = re.compile(r"\bgift ?card\b", re.I)
PAYPAL = re.compile(r"\bpay ?pal\b", re.I)
CARD_ENDING = re.compile(r"\b(?:ending|ends|last four|last 4)\D{0,12}(\d{4})\b", re.I)
CREDIT_CARD = re.compile(r"\b(credit|debit|visa|mastercard|amex|card)\b", re.I)
# "Springfield, IL 62704[, USA]": how every written address ends.
_CITY_STATE_ZIP = (r"(?P<city>[A-Za-z .'-]+?),\s*(?P<state>[A-Za-z]{2})\s*,?\s*(?P<zip>\d{5})"
                   r"(?:\s*,\s*(?P<country>[A-Za-z .]+))?")
ADDRESS = re.compile(
    r"(?P<address1>\d+[\w .'-]+?),\s*(?:(?P<address2>(?:apt|apartment|suite|unit|#)[\w .#-]*?),\s*)?" + _CITY_STATE_ZIP,
    re.I,
)


# "910 Pine Road Boston, MA 26033": no comma after the street, whose last word ends it.
STREET_ADDRESS = re.compile(
    r"(?P<address1>\d+[\w .'-]*?\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct"
    r"|place|pl|terrace|circle|parkway|pkwy|highway|hwy)\b\.?)\s+(?:(?P<address2>(?:apt|apartment|suite|unit|#)"
    r"\s*[\w-]+),?\s+)?" + _CITY_STATE_ZIP,
    re.I,
)

KNOWN_COUNTRIES = {"CANADA", "MEXICO", "UK", "UNITED KINGDOM"}


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

    @property
    def intent(self) -> Intent | None:
        return self.intents[0] if self.intents else None

    def has(self, intent: Intent) -> bool:
        return intent in self.intents


def normalise_order_id(digits: str) -> str:
    return f"#W{digits}"


# Where a message's next request starts: "cancel all pending orders and return the watch", ". Also exchange ...".
NEXT_REQUEST = re.compile(
    r"(?:(?<=[.!?])\s+|,?\s+(?:and|plus)\s+|,\s+(?:also|then)\s+)(?:(?:and|also|then|i|i'd|i'?m)\s+)*"
    r"(?:(?:want|would like|like|need|wish|going)\s+to\s+)?"
    r"(?=(?:also\s+)?(?:return|exchange|cancel|modify|change|swap|adjust)\b)",
    re.I)
ACTIONS = {"cancel", "return", "exchange", "change_address", "change_payment"}
ACTION_VERB = re.compile(r"\b(return|exchange|cancel|modify|change|swap|replace|upgrade|refund|update|adjust)\b",
                         re.I)


def split_requests(text: str) -> list[str]:
    """The message's separate requests for different actions, in order, each with the words about it; a message
    with one action (or several of the same kind: "exchange the keyboard and the lamp") stays whole."""
    pieces = [p.strip(" ,") for p in NEXT_REQUEST.split(text) if p.strip(" ,")]
    requests: list[str] = []
    kinds: list[str | None] = []
    for piece in pieces:
        intent = understand(piece).intent
        asked = ACTION_VERB.search(piece)  # "... sent an order to my son's address" describes; it asks nothing
        kind = intent.value if intent is not None and intent.value in ACTIONS and asked else None
        if requests and kinds[-1] is None and kind is not None:
            requests[-1], kinds[-1] = f"{requests[-1]} {piece}", kind  # the words before it lead up to it
        elif requests and (kind is None or kind == kinds[-1]):
            requests[-1] = f"{requests[-1]} and {piece}"  # details of the request before, or more of the same
        else:
            requests.append(piece)
            kinds.append(kind)
    return requests if sum(k is not None for k in kinds) > 1 else [text]


def understand(text: str) -> Understanding:
    lowered = text.lower()
    found = Understanding(text=text)
    found.intents = [intent for intent, pattern in INTENT_PATTERNS if pattern.search(lowered)]
    found.emails = [email.lower().rstrip(".") for email in EMAIL.findall(text)]
    without_emails = EMAIL.sub(" ", text)
    found.order_ids = _unique(normalise_order_id(a or b) for a, b in ORDER_ID.findall(without_emails))
    without_orders = ORDER_ID.sub(" ", without_emails)
    found.item_ids = _unique(ITEM_ID.findall(without_orders))
    address = ADDRESS.search(without_orders) or STREET_ADDRESS.search(without_orders)
    if address:
        found.address = _address(address)
    zips = ZIP.findall(ITEM_ID.sub(" ", without_orders))
    found.zip = zips[-1] if zips else None
    found.name = _name(without_emails)
    if not found.intents and found.item_ids:
        found.intents = [Intent.PRODUCT]
    if not found.intents and NO_LONGER_NEEDED.search(lowered):
        found.intents = [Intent.CANCEL]  # "I no longer need the hiking boots and the watch": the orders holding them
    found.yes = bool(YES.match(text))
    found.no = bool(NO.match(text)) and not found.yes
    return found


NEGATED_MISTAKE = re.compile(r"\b(not|wasn'?t|isn'?t|no)\s+(a |by )?(mistake|accident)", re.I)


def cancel_reason(text: str) -> str | None:
    """The reason in the customer's words; None (ask again) when it is unclear or both are said."""
    mistake = bool(CANCEL_MISTAKE.search(text)) and not NEGATED_MISTAKE.search(text)
    unneeded = bool(CANCEL_UNNEEDED.search(text))
    if mistake == unneeded:
        return None
    return "ordered by mistake" if mistake else "no longer needed"


def bare_name(text: str) -> tuple[str, str] | None:
    """A reply like 'Yusuf Rossi, 19122' to the agent's question for name and zip."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", ZIP.sub(" ", text))
    if len(words) == 2 and not any(_not_a_name(w) for w in words):
        return words[0].title(), words[1].title()
    return None


# "it's Harper Smith, postcode 43193": after "it's" only a capitalised pair is a name ("it's broken already" is not).
IT_IS_NAME = re.compile(r"\b(?:[Ii]t'?s|[Ii]t is)\s+([A-Z][a-z'-]+)\s+([A-Z][a-z'-]+)")


def _name(text: str) -> tuple[str, str] | None:
    match = NAME.search(text) or IT_IS_NAME.search(text)
    if not match or _not_a_name(match.group(1)) or _not_a_name(match.group(2)):
        return None
    return match.group(1).title(), match.group(2).title()


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
