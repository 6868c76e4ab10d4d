"""Exchange items of a delivered order, or change the items of a pending one (Intent.EXCHANGE covers both): the
order, its items, the variant each becomes, the method paying or refunded the difference, then the proposal."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agent import resolve
from agent.flows.outcome import Outcome, ask
from agent.flows.slots import ask_items, methods_text, original_payment
from agent.nlu import EVERYTHING, Intent, Understanding, understand
from agent.replies import line_text, lines_text, method_text, money, options_text, say, term, variant_cards

if TYPE_CHECKING:
    from agent.flows.turn import Turn

Line = dict[str, Any]
Swap = tuple[Line, Line]  # an order line and the variant it becomes


def exchange(turn: Turn, said: Understanding) -> Outcome:
    order = turn.order(said)
    if isinstance(order, Outcome):
        return order
    if order["status"] not in {"pending", "delivered"}:  # the spec's statuses (this refusal has no gist)
        return Outcome(say("not_delivered", order_id=order["order_id"], status=order["status"],
                           action=say("verb_exchange")))
    if order["status"] == "pending" and (first := _order_change_first(turn, order)) is not None:
        return first
    lines = resolve.order_lines(order, said.text, said.item_ids)
    if lines is None or (len(lines) > 1 and EVERYTHING.search(said.text)):
        return ask_items(order)
    swaps = _swaps(turn, lines, said.text)
    if isinstance(swaps, Outcome):
        return swaps
    user, method = original_payment(turn, order)
    if user is None:
        return turn.failed()
    # Policy: the customer chooses the method that pays or receives the price difference (asked when they have a
    # choice and named none).
    methods = list(user["payment_methods"].values())
    method = resolve.payment_method(user, said.text, method) or (methods[0] if len(methods) == 1 else None)
    if method is None:
        return ask("ask_difference_method", methods=methods_text(user), gist="asking how to pay")
    return _propose(turn, order, swaps, method)


def _swaps(turn: Turn, lines: list[Line], text: str) -> list[Swap] | Outcome:
    """Each line with the variant the customer's words for it ask ("the keyboard for X and the lamp for Y"), or
    the question for the first line whose variant is not clear."""
    swaps = []
    for line, clause in resolve.clauses_by_line(lines, text):
        if turn.keep_only and line["item_id"] not in turn.keep_only:
            continue
        swap = _replacement(turn, line, clause)
        if isinstance(swap, Outcome):
            return swap
        swaps.append((line, swap))
    return swaps


def _propose(turn: Turn, order: dict[str, Any], swaps: list[Swap], method: dict[str, Any]) -> Outcome:
    old_total, new_total = sum(line["price"] for line, _ in swaps), sum(v["price"] for _, v in swaps)
    pending = order["status"] == "pending"
    difference = _difference(turn, new_total, old_total) if len(swaps) == 1 else _sum_difference(turn, swaps)
    arguments = {
        "order_id": order["order_id"],
        "item_ids": [line["item_id"] for line, _ in swaps],
        "new_item_ids": [variant["item_id"] for _, variant in swaps],
        "payment_method_id": method["id"],
    }
    return turn.propose(
        "modify_pending_order_items" if pending else "exchange_delivered_order_items", arguments,
        old=lines_text([line for line, _ in swaps]),
        new=lines_text([{"name": line["name"], **variant} for line, variant in swaps]),
        order_id=order["order_id"], difference=difference,
        direction=say("charged_to" if new_total >= old_total else "refunded_to"), method=method_text(method),
    )


def _order_change_first(turn: Turn, order: dict[str, Any]) -> Outcome | None:
    """A pending order's items can be changed only once and nothing else after (policy): when the customer's
    message also asks to change its address or payment, that comes first and the item change after it."""
    state = turn.state
    index = next((i for i, text in enumerate(state.queued)
                  if understand(text).intent in {Intent.CHANGE_ADDRESS, Intent.CHANGE_PAYMENT}), None)
    if index is None:
        return None
    text = state.queued.pop(index)
    state.queued.insert(0, state.request)
    said = understand(text)
    assert said.intent is not None
    state.intent, state.request, state.order_id = said.intent.value, text, order["order_id"]
    first = turn.FLOWS[said.intent](turn, replace(said, order_ids=said.order_ids or [order["order_id"]]))
    return replace(first, body=f"{say('order_change_first')} {first.body}")


def _replacement(turn: Turn, line: Line, clause: str) -> Line | Outcome:
    """The variant of the line's product that the customer's words ask for, or the question to ask them."""
    product = turn.output("get_product_details", product_id=line["product_id"])
    if product is None:
        return turn.failed()
    variant, alternatives = resolve.replacement_variant(product, line, clause)
    if not alternatives:
        return Outcome(say("no_other_option", item=line_text(line)), gist="no other option")
    if variant is None:  # (what the customer named fits only sold-out variants: said so, not asked again)
        options = term("line_separator").join(
            term("option_price", options=options_text(v["options"]), price=money(v["price"])) for v in alternatives[:8])
        cards = variant_cards(product, alternatives[:8])
        sold_out = resolve.unavailable_wanted(product, line, clause)
        key, wanted = ("option_sold_out", options_text(sold_out["options"])) if sold_out else ("ask_new_option", "")
        return Outcome(say(key, item=line_text(line), name=line["name"], wanted=wanted, options=options), cards=cards,
                       asks=True, asked="option")
    return variant


def _difference(turn: Turn, new: float, old: float) -> str:
    """The size of a price difference (its direction is said in words)."""
    return turn.total([new], minus=old) if new >= old else turn.total([old], minus=new)


def _sum_difference(turn: Turn, swaps: list[Swap]) -> str:
    """Several swaps: the difference of the two totals, computed by the calculator (so the reply is grounded)."""
    news, olds = [v["price"] for _, v in swaps], [line["price"] for line, _ in swaps]
    if sum(news) < sum(olds):
        news, olds = olds, news
    expression = " + ".join(f"{p:.2f}" for p in news) + " - (" + " + ".join(f"{p:.2f}" for p in olds) + ")"
    result = turn.call("calculate", expression=expression)
    return money(result.output) if result.ok else money(sum(news) - sum(olds))
