"""The customer's words the flows still read with patterns of their own, listed in one place.

Each is a cue the reader's act (agent/nlu.py `understand()`) does not carry yet; they are to be replaced by the
reader's output. The address flow's own cues are listed at the top of address.py; agent/nlu.py has ALL_ORDERS,
EVERYTHING and the payment words. Another locale's words for a cue come from its lexicon (agent/locales/cues.py).
"""

import re

from agent import resolve
from agent.locales.cues import with_words

# "where is my order", "when will it arrive": a status question, not an order number answering the open request.
STATUS_CUE = re.compile(r"\b(where|status|track|arriv|when|deliver|shipp)", re.I)
# "the order I just placed": the customer's latest order.
MOST_RECENT = with_words(re.compile(r"\b(most recent(ly)?|latest|last order|recent order|just (placed|bought|ordered"
                                    r"|made|got))\b", re.I), "most_recent")
# "my other order": not the one discussed so far.
OTHER_ORDER = with_words(re.compile(r"\b(other|another|different|second|previous|older) order", re.I), "other_order")
# "which address the order was sent to": the status reply says it.
ADDRESS_ASKED = with_words(re.compile(r"\b(which|what) address\b|\bwhere\b[^.?!]{0,200}\b(sent|shipped|going)\b", re.I),
                           "address_asked")
# "... and change its item color to red": the same order as the request before.
REFERS_BACK = re.compile(r"\b(its|it|that order|the same order|this order)\b", re.I)
# "... and I want to know the total amount I can get back": the refunds of the message's actions, added up.
TOTAL_BACK = with_words(re.compile(r"\b(total|altogether|in all)\b[^.?!]{0,200}\b(get back|refund|back)"
                                   r"|\bhow much\b[^.?!]{0,200}\b(get back|refunded|refund)\b", re.I), "total_back")
# "how much did I spend on all the grills?": what the named items came to, added up over the customer's orders.
SPENT = with_words(re.compile(r"\b(how much|total|altogether|add(?:ed)? up|in all|sum)\b", re.I), "spent")
# Of two orders holding the named item: "the more expensive one", "the cheaper one" (the resolver's words for two
# alike items).
PRICIER, CHEAPER = resolve.PRICIER, resolve.CHEAPER
# "modify all my pending tshirts", "both my laptops": each order holding the named items, in turn.
ALL_NAMED_ITEMS = re.compile(r"\b(?:all|both|each|every)(?: of)?(?: my| the)?(?: (?:pending|delivered|received))? "
                             r"(?!orders\b|items\b|things\b)[a-z-]+s\b", re.I)
# "the T-shirts in all my pending orders": the orders' items are meant, not each of the orders.
ITEMS_IN_ORDERS = with_words(re.compile(r"\b(?:in|from) (?:all|each|every)(?: of)?(?: my| the)?(?: [a-z]+)? orders\b",
                                        re.I), "items_in_orders")
# The order's status in the customer's words: "the laptop I received", "my pending order", "my cancelled order".
RECEIVED = with_words(re.compile(r"\b(received|got|arrived|delivered)\b", re.I), "received")
# "the tracking number of my cancelled order"
CANCELLED_ORDER = with_words(re.compile(r"\bcancell?ed order", re.I), "cancelled_order")
NOT_YET_RECEIVED = with_words(re.compile(r"\b(just (ordered|placed|bought)|pending|not (yet )?(arrived|received"
                                         r"|shipped))\b", re.I), "not_yet_received")


def status_hinted(text: str, status: str) -> bool:
    """Whether the customer's words say the order is one they received ("the laptop I received"), not yet, or one
    that was cancelled ("my cancelled order")."""
    if status == "cancelled":
        return bool(CANCELLED_ORDER.search(text))
    if status == "delivered":
        return bool(RECEIVED.search(text)) and not NOT_YET_RECEIVED.search(text)
    return status == "pending" and bool(NOT_YET_RECEIVED.search(text))
