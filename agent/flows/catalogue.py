"""The catalogue: a product search (agent/searching.py), one product's options or how many are available, and
"recommend me something" / "what goes with X" (the recommend_products tool), shown as product cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent import searching
from agent.flows.outcome import Outcome
from agent.nlu import Understanding, counted_product
from agent.replies import prices_text, reason_text, say, term, variant_cards

if TYPE_CHECKING:
    from agent.flows.turn import Turn


def search(turn: Turn, said: Understanding) -> Outcome:
    """A product search; a count question read as one ("tshirt 有多少种款式有货") is answered with the count."""
    return count_asked(turn, said) or searching.search(turn, said)


def count_asked(turn: Turn, said: Understanding) -> Outcome | None:
    """ "How many T-shirt options are available?" however it was read: the count; None for no count question."""
    counted = counted_product(said.text)
    return count_options(turn, counted) if counted else None


def product(turn: Turn, said: Understanding) -> Outcome:
    if not said.item_ids:
        return search(turn, said)  # a count question, or a product named in words
    found = turn.output("get_product_details", product_id=said.item_ids[0])
    if found is None:
        item = turn.output("get_item_details", item_id=said.item_ids[0])
        if item is None:
            return search(turn, said)
        found = turn.output("get_product_details", product_id=item["product_id"])
        if found is None:
            return turn.failed()
    cards = variant_cards(found, list(found["variants"].values())[:8])
    body = say("product_details", name=found["name"], count=len(cards), prices=prices_text(cards))
    return Outcome(body, cards=cards, gist="a product")


def count_options(turn: Turn, name: str) -> Outcome:
    """ "How many T-shirt options are available?": the product the words name, its available variants."""
    hits = turn.output("search_products", query=name, limit=1)
    if not hits:
        return Outcome(say("search_empty"), gist="no products found")
    found = turn.output("get_product_details", product_id=hits[0]["product_id"])
    if found is None:
        return turn.failed()
    available = [v for v in found["variants"].values() if v["available"]]
    cards = variant_cards(found, available[:8])
    return Outcome(say("product_count", name=found["name"], count=len(available), prices=prices_text(cards)),
                   cards=cards, gist="a product's options")


def named_products(turn: Turn, text: str) -> dict[str, str]:
    """Catalogue products the customer names ("what goes with the hiking boots"): name -> product id."""
    named = turn.agent.checker.product_names(text)
    if not named:
        return {}
    catalogue = turn.output("list_all_product_types") or {}
    by_name = {name.lower(): (name, product_id) for name, product_id in catalogue.items()}
    return dict(by_name[name] for name in sorted(named) if name in by_name)


def recommend(turn: Turn, said: Understanding) -> Outcome:
    seeds = named_products(turn, said.text)
    seed_ids = list(seeds.values()) + said.item_ids
    strategy = "complementary" if seed_ids else "auto"
    picks = turn.output(
        "recommend_products", product_ids=seed_ids or None, user_id=turn.ctx.customer_id, strategy=strategy, limit=3
    )
    if not picks:  # none, or the tool's error (about its arguments, not something the customer can act on)
        return Outcome(say("recommend_empty"), gist="no recommendations")
    lines = term("line_separator").join(
        say("recommend_line", name=p["name"], reason=reason_text(p["reason"])) for p in picks
    )
    if seeds:
        body = say("recommend_with", products=term("and").join(seeds), lines=lines)
    else:
        body = say("recommend_personal" if turn.ctx.customer_id else "recommend_popular", lines=lines)
    return Outcome(body, cards=picks, gist="products recommended")
