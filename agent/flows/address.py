"""The address flow: a new shipping or account address, typed by the customer or named without typing it ("my NYC
address, it is in my other order", "the same as order #W...", "my daughter's address", "the new home"), for the
order or the account the words mean; each change proposed and confirmed like every action."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent import resolve
from agent.flows.outcome import Outcome, ask
from agent.locales.cues import alternatives, with_words
from agent.nlu import ALL_ORDERS, Intent, Understanding
from agent.reader.extract import normalise_order_id
from agent.replies import address_text, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn

# The customer's words this flow reads with its own patterns (to be replaced by the reader's output, like cues.py);
# another locale's words for a cue come from its lexicon (agent/locales/cues.py).

# "my daughter's address": the address of the order the customer is talking about (one they sent to that person).
SOMEONES_ADDRESS = with_words(re.compile(r"\b(daughter|son|wife|husband|mom|mother|dad|father|friend|partner|parents?"
                                         r"|kid|brother|sister)'s (address|place|home)\b", re.I), "someones_address")

# "bought a luggage set sent to this new address", "bought a tablet sent to there": the new address is that order's.
MOVED_TO = re.compile(r"\b(?:bought|ordered|got) (?:a |an |the |my )?(?P<item>[\w -]{1,60}?) "
                      r"(?:sent|shipped|delivered) (?:to )?(?:there|(?:this|the|my|that) new "
                      r"(?:address|home|house|place))\b", re.I)

NEW_HOME = re.compile(r"\b(?:the|my|this) new (?:home|house|address|place)\b", re.I)

# "... my wrong order address to the new home, and also my user default address": both.
ALSO_ACCOUNT = re.compile(r"\b(also|along with|as well as)\b[^.]{0,200}\b(default|profile|account|saved)\b", re.I)

# "to my default address", "the one on file": the account's own address is the new one.
ON_FILE = with_words(re.compile(r"\b(default|profile|on file|account)\b", re.I), "on_file")

# "change the address to be the same as order #W8277957"
SAME_AS_ORDER = re.compile(r"\bsame (?:address )?as (?:in |on |for |that of )?(?:my |the )?order\s*(?:#\s*)?(?:w\s*)?"
                           r"(?:-\s*)?(\d{7})",
                           re.I)

# A city the customer names by its usual short form ("my NYC address", "my LA order").
CITY_ALIASES = {"nyc": "new york", "ny": "new york", "la": "los angeles", "dc": "washington", "sf": "san francisco"}

# "change my LA order to my NYC address": the words before name the order, the words after the new address.
TO_TARGET = with_words(re.compile(r"\bto (?:my|the|our)\b", re.I), "to_target")

# "my laptop order", "my LA order": one order named, whose address is meant (even "... as in my orders profile").
ONE_ORDER = re.compile(r"\b(my|the|this|that) [\w-]+ order\b|\border('s)? address\b"
                       r"|\baddress (of|for|on) (the|my|this|that)( [\w-]+)? order\b", re.I)

# The account's own address ("my saved address", "the address on file"), not an order's shipping address.
PROFILE_ADDRESS = with_words(re.compile(r"\b(my (saved |home |own |current |billing )?address|default|profile|account"
                                        r"|on file)\b", re.I), "profile_address")


def same_address(a: dict[str, str], b: dict[str, str]) -> bool:
    keys = ("address1", "address2", "city", "state", "zip")
    return all(str(a.get(k, "")).strip().lower() == str(b.get(k, "")).strip().lower() for k in keys)


# "Washington DC 的地址": another locale's nouns for an order or an address, after the place they name.
PLACE_NOUNS = alternatives("place_nouns")


def names_a_place(text: str, nouns: str) -> bool:
    """Whether the text names a place with one of the nouns: "the Washington DC address", "my LA order", "the
    address in Charlotte", "Washington DC 的地址"."""
    after = rf"|((?:\b[A-Z][\w.]*\s*)+)(?:{PLACE_NOUNS})" if PLACE_NOUNS else ""
    for found in re.finditer(rf"((?:\b[A-Z][\w.]*\s+)+)(?:{nouns})\b|\b(?:{nouns}) in ([A-Z][\w.]*){after}", text):
        named = found.group(1) or found.group(2) or found.group(3)
        if set(named.split()) - {"I", "My", "The", "A", "An", "Your", "Our", "This"}:
            return True
    return False


def new_address_phrase(text: str) -> str:
    """The words naming the new address: "change my LA order to [my NYC address] (it is in ...)"."""
    parts = TO_TARGET.split(text, maxsplit=1)
    return re.split(r"[(,;]|\balong with\b|\band\b", parts[1], maxsplit=1)[0] if len(parts) > 1 else ""


def names_city(text: str, city: str) -> bool:
    lowered = text.lower()
    aliased = {name for alias, name in CITY_ALIASES.items() if re.search(rf"\b{alias}\b", lowered)}
    return bool(city) and (re.search(rf"\b{re.escape(city.lower())}\b", lowered) is not None or city.lower() in aliased)


def change_address(turn: Turn, said: Understanding) -> Outcome:
    """Propose the address change the words ask for: the account's, one order's, or each pending order's (and then
    the account's), asking for the address when it is neither typed nor named."""
    address = said.address or address_named(turn, said)
    if address is None:
        return ask("ask_address")
    every_order = ALL_ORDERS.search(said.text)
    changed = _changed_words(said.text)
    profile = PROFILE_ADDRESS.search(changed) and not said.order_ids
    one_order = ONE_ORDER.search(changed)
    if profile and (every_order or (one_order and ALSO_ACCOUNT.search(changed))):
        if turn.state.batch is None and not turn.state.pending:
            # "all my pending orders' address ..., along with my default address": the orders, then the account.
            turn.state.queued.insert(0, f"change my default address to {address_text(address)}")
    elif account_address_meant(said):
        return turn.propose("modify_user_address", {"user_id": turn.ctx.customer_id, **address},
                            address=address_text(address))
    order = turn.order_in(said, Intent.CHANGE_ADDRESS)
    if isinstance(order, Outcome):
        return order
    if same_address(order["address"], address) and not said.order_ids:
        # "the order I sent to my new address" is not the one to change: the one pending order sent elsewhere.
        others = [o for o in turn.customer_orders()
                  if o["status"] == "pending" and not same_address(o["address"], address)]
        if len(others) != 1:
            return Outcome(say("address_already", order_id=order["order_id"], address=address_text(address)),
                           gist="the order already ships there")
        order = others[0]
        turn.state.order_id = order["order_id"]
    return turn.propose("modify_pending_order_address", {"order_id": order["order_id"], **address},
                        order_id=order["order_id"], address=address_text(address))


def account_address_meant(said: Understanding) -> bool:
    """Whether the words ask for the account's own address to change, not an order's or every order's: decides
    the flow's proposal, and the tool the model is told of while the flow still waits for the address."""
    changed = _changed_words(said.text)
    about_orders = said.order_ids or ONE_ORDER.search(changed) or ALL_ORDERS.search(said.text)
    return bool(PROFILE_ADDRESS.search(changed)) and not about_orders


def _changed_words(text: str) -> str:
    """The words about what changes: "to my default address" names the new address, "(it's in my profile)" says
    where to look."""
    phrase = new_address_phrase(text)
    changed = text.replace(phrase, " ") if phrase else text
    return re.sub(r"\([^)]*\)", " ", changed)


def address_named(turn: Turn, said: Understanding) -> dict[str, str] | None:
    """The new address the customer names without typing it: "the same as order #W...", "my default address",
    or by its city ("my NYC address: it's in my other order"), the one address with that city among their
    account's and their orders'."""
    same_as = SAME_AS_ORDER.search(said.text)
    if same_as:  # "the same as order #W8277957"
        return _order_address(turn, normalise_order_id(same_as.group(1)))
    moved_to = MOVED_TO.search(said.text)
    if moved_to:  # "I moved ... and bought a luggage set sent to this new address": that order's address
        named = [o for o in turn.customer_orders()
                 if resolve.named_lines(o, moved_to.group("item") or moved_to.group("item2") or "")]
        if len(named) == 1:
            turn.state.new_address = named[0]["address"]
            return named[0]["address"]
    phrase = new_address_phrase(said.text)
    if turn.state.new_address and NEW_HOME.search(said.text):  # "... to the new home" described before
        return turn.state.new_address
    if SOMEONES_ADDRESS.search(phrase) and turn.state.order_id:  # "to my daughter's address": her order's
        return _order_address(turn, turn.state.order_id)
    on_file = ON_FILE.search(phrase)
    if not on_file and not names_a_place(phrase, "address|home|place|one"):
        return None  # no city named: nothing to look up
    user = turn.user()
    if user is None or on_file:
        return user["address"] if user else None  # "to my default address in Charlotte"
    found = {address_text(a): a for a in [user["address"], *(o["address"] for o in turn.customer_orders())]
             if names_city(phrase, a["city"])}
    return next(iter(found.values())) if len(found) == 1 else None


def _order_address(turn: Turn, order_id: str) -> dict[str, str] | None:
    order = turn.output("get_order_details", order_id=order_id)
    return order["address"] if order else None
