"""The product search flow: the customer's own words go to the retriever, with the constraints read from them
(options, price bounds); the items meeting every constraint come first, and when none does the reply says so and
shows the closest. The items found stay in the dialogue state, so that a follow-up ("the 9 bar one", "which is
cheapest?", "the second one") is answered from the cards just shown.

Whether a message is a product search is decided elsewhere (agent/nlu.py); here only the catalogue's own data
(product names, option values, prices) is matched against the customer's words. Words in another language than the
catalogue's (Chinese) name its products through the retriever's multilingual encoder (`names_products`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from agent.nlu import Intent, Understanding
from agent.replies import PROMPTS, item_text, money, prices_text, say, term
from retrieval.filters import ALT, SearchFilters
from retrieval.language import has_han
from retrieval.lexical import raw_words, stem

if TYPE_CHECKING:
    from agent.flows import Outcome, Turn

SHOWN = 4  # cards in one reply
POOL = 20  # items kept for follow-ups on what was shown
TOP_RANKED = 3  # a Chinese message is about the products of the search's first cards (and those it names)


@dataclass
class Asked:
    """What the customer's words ask for, as the retriever reads them."""

    filters: SearchFilters
    unknown: dict[str, str] = field(default_factory=dict)  # "size 13", a value no item has
    text: str = ""  # the words without price phrases, typos corrected; a Chinese message's own words


# --- reading the customer's words ------------------------------------------------------------------------------


@cache
def _shown_words() -> dict[str, Any]:
    return tomllib.loads((PROMPTS / "shown_cards.toml").read_text())


def _says_any(text: str, phrases: list[str]) -> bool:
    return any(re.search(_phrase(phrase), text, re.I) for phrase in phrases)


def _phrase(phrase: str) -> str:
    """A phrase as a whole word; Chinese has no spaces to bound a word, so a Chinese phrase matches anywhere."""
    return re.escape(phrase) if has_han(phrase) else rf"\b{re.escape(phrase)}\b"


def _word(token: str) -> str:
    return stem(re.sub(r"[-']", "", token.lower()))


def _words(text: str) -> set[str]:
    return {_word(token) for token in raw_words(text)}


@lru_cache(maxsize=4)
def _name_words(names: frozenset[str]) -> frozenset[str]:
    return frozenset(_word(token) for name in names for token in raw_words(name))


def named_words(turn: Turn, text: str) -> set[str]:
    """The words of the message that are words of the catalogue's product names ("boots", "espresso")."""
    return _words(text) & _name_words(turn.agent.checker.names)


def names_products(turn: Turn, text: str) -> bool:
    """Whether the message names the catalogue's products: in its words, or in Chinese ("蓝牙音箱")."""
    if named_words(turn, text):
        return True
    retriever = turn.agent.retriever
    return has_han(text) and retriever is not None and bool(retriever.named_products(text))


def read(turn: Turn, words: str) -> Asked:
    retriever = turn.agent.retriever
    if retriever is None:
        return Asked(SearchFilters(), text=words)
    prepared = retriever.prepare(words)
    # The retriever's text of a Chinese message carries English glosses ("防水 waterproof water resistance"); they
    # are not the customer's words, and "water" would name the Water Bottle.
    text = words if has_han(words) else prepared.text
    return Asked(prepared.filters, retriever.parser.parse(words).unknown_options, text)


def _has_price(filters: SearchFilters) -> bool:
    return filters.min_price is not None or filters.max_price is not None


# --- what an item misses ---------------------------------------------------------------------------------------


def unmet(item: dict[str, Any], asked: Asked) -> list[str]:
    """The constraints the item fails, in words ("size: 13", "under $100.00"). An option the item's product does
    not have at all is no constraint on it ("light" in "LED light bulb" is no skin tone), nor is a value its name
    says ("espresso" of an Espresso Machine)."""
    options = {key.lower(): (key, str(value).lower()) for key, value in item["options"].items()}
    name = _words(item["name"])
    missing = []
    for key, value in asked.filters.options.items():
        keys = [k.strip().lower() for k in key.split(ALT)]
        present = [options[k] for k in keys if k in options]
        values = [v.strip().lower() for v in value.split(ALT)]
        if not present or any(_words(v) <= name for v in values):
            continue
        if not any(have in values for _, have in present) and not _said_otherwise(options, keys, values):
            missing.append(term("option", key=present[0][0], value=term("alternatives").join(value.split(ALT))))
    missing += [term("option", key=options[key.lower()][0], value=value) for key, value in asked.unknown.items()
                if key.lower() in options]
    price = float(item["price"])
    if asked.filters.max_price is not None and price > asked.filters.max_price:
        missing.append(term("under_price", price=money(asked.filters.max_price)))
    if asked.filters.min_price is not None and price < asked.filters.min_price:
        missing.append(term("over_price", price=money(asked.filters.min_price)))
    return missing


def _said_otherwise(options: dict[str, tuple[str, str]], keys: list[str], values: list[str]) -> bool:
    """Whether another option of the item holds the asked value in fewer words: "HEPA filter" (a vacuum's
    feature) met by an air purifier's filter type "HEPA"."""
    return any(_words(have) < _words(value) for key, (_, have) in options.items() if key not in keys
               for value in values)


# --- a search --------------------------------------------------------------------------------------------------


def search(turn: Turn, said: Understanding) -> Outcome:
    """A product search, or a follow-up on the cards just shown."""
    return follow_up(turn, said) or find(turn, said.text)


def find(turn: Turn, words: str) -> Outcome:
    from agent.flows import Outcome

    hits = turn.output("search_products", query=words, limit=POOL)
    if hits is None:
        return Outcome(say("search_failed"), gist="an error")
    asked = read(turn, words)
    hits = _on_topic(turn, hits, asked)
    if not hits:
        return Outcome(say("search_empty"), gist="no products found")
    misses = {hit["item_id"]: unmet(hit, asked) for hit in hits}
    # Fewest misses first, then nearest the price asked; the retriever's order within (a stable sort).
    ranked = sorted(hits, key=lambda hit: (len(misses[hit["item_id"]]), _price_gap(hit, asked.filters)))
    exact = [hit for hit in ranked if not misses[hit["item_id"]]]
    if exact and _says_any(words, _shown_words()["lowest_price"]):
        exact = sorted(exact, key=lambda hit: float(hit["price"]))  # "the cheapest office chair"
    _remember(turn, words, exact or ranked)
    if exact:
        cards = exact[:SHOWN]
        return Outcome(say("search_results", count=len(cards), prices=prices_text(cards)), cards=cards,
                       gist="products found")
    cards = ranked[:SHOWN]
    missing = term("option_separator").join(misses[cards[0]["item_id"]])
    return Outcome(say("search_closest", missing=missing, count=len(cards), prices=prices_text(cards)), cards=cards,
                   gist="products found")


def _price_gap(item: dict[str, Any], filters: SearchFilters) -> float:
    price = float(item["price"])
    above = price - filters.max_price if filters.max_price is not None else 0.0
    below = filters.min_price - price if filters.min_price is not None else 0.0
    return max(above, below, 0.0)


def _on_topic(turn: Turn, hits: list[dict[str, Any]], asked: Asked) -> list[dict[str, Any]]:
    """The hits of the products the customer names, if they name any; when the constraints left none of those
    (a price bound, an option no such product has), the named products alone (the closest, which the reply then
    says miss something)."""
    named = named_words(turn, asked.text)
    if not named:
        return _named_across_languages(turn, hits, asked)
    on_topic = _most_named(hits, named)
    if on_topic:
        return on_topic
    product_words = " ".join(token for token in raw_words(asked.text) if _word(token) in named)
    named_only = turn.output("search_products", query=product_words, limit=POOL) or []
    return _most_named(named_only, named) or hits


def _named_across_languages(turn: Turn, hits: list[dict[str, Any]], asked: Asked) -> list[dict[str, Any]]:
    """The hits of the products a Chinese message names ("电热水壶": the kettles, not a thermostat that is also
    stainless steel): those the multilingual encoder finds named, and those of the search's first cards (a message
    is compared with product names alone there, with the items' whole texts in the search)."""
    retriever = turn.agent.retriever
    if retriever is None or not has_han(asked.text):
        return hits
    named = {hit["name"] for hit in hits[:TOP_RANKED]} | set(retriever.named_products(asked.text))
    return [hit for hit in hits if hit["name"] in named]


def _most_named(hits: list[dict[str, Any]], named: set[str]) -> list[dict[str, Any]]:
    """The hits whose product name shares the most words with the customer's: a "smart watch" is a Smart Watch,
    not a Smart Thermostat."""
    shared = {hit["item_id"]: len(_words(hit["name"]) & named) for hit in hits}
    most = max(shared.values(), default=0)
    return [hit for hit in hits if most and shared[hit["item_id"]] == most]


def _remember(turn: Turn, words: str, found: list[dict[str, Any]]) -> None:
    turn.state.searched = words
    turn.state.found = [{key: hit[key] for key in ("product_id", "item_id", "name", "options", "price", "available")}
                        for hit in found[:POOL]]


# --- follow-ups on the cards just shown ------------------------------------------------------------------------


def follow_up(turn: Turn, said: Understanding) -> Outcome | None:
    """ "The second one", "which is cheapest?", "and the 9 bar one?" after a search: answered from what it found;
    None when the message is not about those cards (it names another product, or nothing of theirs)."""
    found = turn.state.found
    text = said.text
    if not found or named_words(turn, text) - _words(" ".join({item["name"] for item in found})):
        return None
    position = _ordinal(text)
    if position is not None and abs(position) <= min(SHOWN, len(found)):
        card = found[:SHOWN][position - 1 if position > 0 else position]
        return _shown(turn, "shown_pick", [card])
    words = _shown_words()
    if _says_any(text, words["lowest_price"]):
        return _shown(turn, "shown_lowest", sorted(found, key=lambda item: float(item["price"])))
    if _says_any(text, words["highest_price"]):
        return _shown(turn, "shown_highest", sorted(found, key=lambda item: -float(item["price"])))
    if _narrows(turn, text, found):
        return find(turn, f"{turn.state.searched} {text}")  # the first words with the new ones
    return None


def _ordinal(text: str) -> int | None:
    for word, position in _shown_words()["ordinals"].items():
        if re.search(_phrase(word), text, re.I):
            return int(position)
    return None


def _narrows(turn: Turn, text: str, found: list[dict[str, Any]]) -> bool:
    """Whether the message adds a constraint on the items found: an option they have, or a price bound."""
    asked = read(turn, text)
    keys = {key.lower() for item in found for key in item["options"]}
    option_keys = {k.strip().lower() for key in [*asked.filters.options, *asked.unknown] for k in key.split(ALT)}
    return _has_price(asked.filters) or bool(option_keys & keys)


def _shown(turn: Turn, key: str, items: list[dict[str, Any]]) -> Outcome:
    from agent.flows import Outcome

    turn.state.found = items
    cards = items[:SHOWN]
    return Outcome(say(key, item=item_text(cards[0])), cards=cards, gist="products found")


# --- a message no flow placed ----------------------------------------------------------------------------------


def catalogue_query(turn: Turn, said: Understanding) -> Outcome | None:
    """A message no flow placed that names the catalogue's products or option values, or a price: a product
    search (never an identity check: browsing needs no account). None for anything else."""
    from agent.planner import AFTER_SALES

    if turn.agent.retriever is None or said.order_ids or said.emails or AFTER_SALES.search(said.text):
        return None
    asked = read(turn, said.text)
    if names_products(turn, asked.text) or asked.filters.options or asked.unknown or _has_price(asked.filters):
        return find(turn, said.text)
    return None


# Questions about an order that words about the catalogue also match ("can I order a yoga mat?", "do you deliver
# espresso machines?"); requests to change an order or an account are never read as browsing.
BROWSABLE = {Intent.ORDER_STATUS, Intent.ARRIVAL}


def catalogue_question(turn: Turn, said: Understanding, intent: Intent) -> Outcome | None:
    """An unverified customer's message read as a question about their orders that names the catalogue's products
    or options: the products, with an offer to look at their orders instead of a demand for their identity. The
    order question stays open, so that an email given next answers it."""
    if intent not in BROWSABLE or turn.state.name or _says_any(said.text, _shown_words()["owned"]):
        return None  # "I just received my tablet": the customer's own things are about their orders
    if not names_products(turn, read(turn, said.text).text):
        return None  # a price alone ("my card has only $1150 left") names nothing to browse
    found = catalogue_query(turn, said)
    if found is None:
        return None
    return replace(found, body=f"{found.body}\n\n{say('search_or_order')}", asks=True)
