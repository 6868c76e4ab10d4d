"""The "recommend me something" / "what goes with X" flow: the recommend_products tool, shown as product cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.nlu import Understanding
from agent.replies import money, options_text, say

if TYPE_CHECKING:
    from agent.flows import Outcome, Turn


def named_products(turn: Turn, text: str) -> dict[str, str]:
    """Catalogue products the customer names ("what goes with the hiking boots"): name -> product id."""
    named = turn.agent.checker.product_names(text)
    if not named:
        return {}
    catalogue = turn.output("list_all_product_types") or {}
    by_name = {name.lower(): (name, product_id) for name, product_id in catalogue.items()}
    return dict(by_name[name] for name in sorted(named) if name in by_name)


def recommend(turn: Turn, said: Understanding) -> Outcome:
    from agent.flows import Outcome

    seeds = named_products(turn, said.text)
    seed_ids = list(seeds.values()) + said.item_ids
    strategy = "complementary" if seed_ids else "auto"
    picks = turn.output(
        "recommend_products", product_ids=seed_ids or None, user_id=turn.ctx.customer_id, strategy=strategy, limit=3
    )
    if picks is None:  # the tool's error is about its arguments, not something the customer can act on
        return Outcome(say("recommend_empty"), gist="no recommendations")
    if not picks:
        return Outcome(say("recommend_empty"), gist="no recommendations")
    lines = "\n".join(
        say("recommend_line", name=p["name"], options=options_text(p["options"]), price=money(p["price"]),
            reason=p["reason"])
        for p in picks
    )
    if seeds:
        body = say("recommend_with", products=" and ".join(seeds), lines=lines)
    else:
        body = say("recommend_personal" if turn.ctx.customer_id else "recommend_popular", lines=lines)
    return Outcome(body, cards=picks, gist="products recommended")
