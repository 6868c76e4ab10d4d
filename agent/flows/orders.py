"""Which order the customer means: the one they name by number, by its items, by where it was sent, by its status
("my cancelled order") or by recency ("the order I just placed"), among those the open request applies to
(SPECS statuses); each of several orders in turn when the request batches; otherwise the question to ask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent import resolve
from agent.flows import cues, requested
from agent.flows.address import TO_TARGET, names_a_place, names_city
from agent.flows.cues import status_hinted
from agent.flows.outcome import Outcome, ask
from agent.flows.spec import BATCHED, SPECS
from agent.nlu import ALL_ORDERS, Intent, Understanding
from agent.replies import lines_text, say

if TYPE_CHECKING:
    from agent.flows.turn import Turn

Order = dict[str, Any]


def statuses(turn: Turn) -> frozenset[str]:
    """The order statuses the open request applies to (empty: any)."""
    return SPECS[Intent(turn.state.intent)].statuses if turn.state.intent else frozenset()


def order_in(turn: Turn, said: Understanding, intent: Intent) -> Order | Outcome:
    """The order under discussion if its status allows the request; otherwise why not (or what to ask)."""
    found = order(turn, said)
    spec = SPECS[intent]
    if isinstance(found, Outcome) or found["status"] in spec.statuses:
        return found
    if (done := requested.already(turn, found, intent)) is not None:  # asked again, or asked what it comes to
        return Outcome(done, gist="what the order already has requested")
    (status,) = spec.statuses  # "not_pending": "only pending orders can be cancelled"
    return Outcome(say(f"not_{status}", order_id=found["order_id"], status=found["status"], action=say(spec.verb)),
                   gist="an error")


def order(turn: Turn, said: Understanding) -> Order | Outcome:
    """The order under discussion, fetched now; or what to ask to find out which one."""
    batch = _batch_asked(turn, said)
    if batch is not None:
        return batch
    order_id = said.order_ids[0] if said.order_ids else turn.state.order_id
    if not said.order_ids and cues.OTHER_ORDER.search(said.text):
        order_id = None
    shipped = _orders_shipped_to(turn, said) if order_id is None else []
    if len(shipped) == 1:  # "my LA order", "the order I sent to my son's address in Washington DC"
        order_id = shipped[0]["order_id"]
    if order_id is None:
        return _order_in_words(turn, said)
    found = turn.output("get_order_details", order_id=order_id)
    if found is None:
        return turn.failed()
    if turn.new_request and not said.order_ids and turn.state.batch is None and not named_in(found, said):
        # "I also want to change my watch" after the laptop order: the order holding the watch, if one does;
        # "my pending order" after a delivered one: the one pending order.
        others = _order_naming_items(turn, said) or _only_order_hinted(turn, said, found)
        found = others[0] if len(others) == 1 else found
        order_id = found["order_id"]
    turn.state.order_id = order_id
    return found


def _batch_asked(turn: Turn, said: Understanding) -> Order | None:
    """ "All my pending orders", "both my laptops": the first of the orders the words mean, the rest batched."""
    if said.order_ids or turn.state.batch is not None:
        return None
    every_order = ALL_ORDERS.search(said.text) and not cues.ITEMS_IN_ORDERS.search(said.text)
    if every_order and (batch := start_batch(turn)) is not None:
        return batch
    if cues.ALL_NAMED_ITEMS.search(said.text):
        naming = _orders_naming_items(turn, said)
        hinted = [order for order in naming if status_hinted(said.text, order["status"])]
        return start_batch(turn, hinted or naming)
    return None


def _order_in_words(turn: Turn, said: Understanding) -> Order | Outcome:
    """No order number: the order the customer's words describe, or the question which one."""
    candidates = _order_naming_items(turn, said)
    named = candidates[0] if len(candidates) == 1 else None
    if named is None and cues.MOST_RECENT.search(said.text):
        named = _most_recent_order(turn)
    if named is not None:
        turn.state.order_id = named["order_id"]
        return named
    if len(candidates) > 1 and _distinct_items(candidates, said) and turn.state.batch is None:
        batch = start_batch(turn, candidates)
        if batch is not None:
            return batch
    hinted = [] if candidates else _hinted_orders(turn, said)
    if len(hinted) == 1:  # "the tracking number of my cancelled order"
        turn.state.order_id = hinted[0]["order_id"]
        return hinted[0]
    if candidates:  # several orders hold what was named: which of those items, with their options
        lines = [f"{order['order_id']}: {lines_text(named_in(order, said))}" for order in candidates]
        return ask("ask_which_ordered", lines="; ".join(lines), gist="asking which order's item")
    return _only_or_ask(turn, said)


def _only_or_ask(turn: Turn, said: Understanding) -> Outcome:
    """A question about "my order" from a customer with one (live) order answers it; otherwise: which order?"""
    user = turn.user()
    if user is None:
        return turn.failed()
    if not user["orders"]:
        return Outcome(say("no_orders"), gist="no orders")
    if turn.state.intent in {None, Intent.ORDER_STATUS, Intent.ARRIVAL}:
        live = user["orders"] if len(user["orders"]) == 1 else _not_cancelled(turn, user["orders"])
        if len(live) == 1:  # the one order (or the one not cancelled) the question is about
            turn.state.order_id = live[0]
            return turn.FLOWS[Intent(turn.state.intent or Intent.ORDER_STATUS)](turn, said)
    return ask("ask_order", orders=", ".join(user["orders"]), gist="asking which order")


def _not_cancelled(turn: Turn, order_ids: list[str]) -> list[str]:
    return [order_id for order_id in order_ids
            if (order := turn.output("get_order_details", order_id=order_id)) and order["status"] != "cancelled"]


def start_batch(turn: Turn, orders: list[Order] | None = None) -> Order | None:
    """The first of the customer's orders (or of the given ones) the request can apply to; the others wait in
    the batch, each to be proposed (and confirmed) in turn once the one before is done (batches.py)."""
    intent = Intent(turn.state.intent) if turn.state.intent else None
    if intent not in BATCHED:
        return None
    orders = customer_orders(turn) if orders is None else orders
    orders = [order for order in orders if order["status"] in SPECS[intent].statuses]
    if not orders:
        return None
    turn.state.batch = {"intent": intent.value, "order_ids": [o["order_id"] for o in orders[1:]]}
    turn.state.order_id = orders[0]["order_id"]
    return orders[0]


def customer_orders(turn: Turn) -> list[Order]:
    """Each of the verified customer's orders, fetched (those that fail to load are left out)."""
    user = turn.user()
    return [order for order_id in (user["orders"] if user else [])
            if (order := turn.output("get_order_details", order_id=order_id)) is not None]


def _most_recent_order(turn: Turn) -> Order | None:
    """ "The order I just placed": the customer's latest order (the account lists them oldest first) of those
    the request can apply to."""
    user = turn.user()
    allowed = statuses(turn)
    for order_id in reversed(user["orders"] if user else []):
        order = turn.output("get_order_details", order_id=order_id)
        if order is not None and (not allowed or order["status"] in allowed):
            return order
    return None


def _only_order_hinted(turn: Turn, said: Understanding, current: Order) -> list[Order]:
    """The customer's orders in the status their words give ("my pending order"), when the current one is not."""
    return [] if status_hinted(said.text, current["status"]) else _hinted_orders(turn, said)


def _hinted_orders(turn: Turn, said: Understanding) -> list[Order]:
    """The customer's orders in the status their words give: "my pending order", "my cancelled order"."""
    if not (cues.NOT_YET_RECEIVED.search(said.text) or cues.CANCELLED_ORDER.search(said.text)):
        return []
    return [order for order in customer_orders(turn) if status_hinted(said.text, order["status"])]


def _orders_shipped_to(turn: Turn, said: Understanding) -> list[Order]:
    """The orders the request can apply to that were sent to the city the customer names them by ("change my
    LA order to ...": the words before the new address)."""
    named = TO_TARGET.split(said.text, maxsplit=1)[0]
    if not names_a_place(named, "order|address"):  # "my LA order", "sent to my son's address in Washington"
        return []
    allowed = statuses(turn)
    return [order for order in customer_orders(turn) if names_city(named, order["address"]["city"])
            and (not allowed or order["status"] in allowed)]


def named_in(order: Order, said: Understanding) -> list[dict[str, Any]]:
    """The order's lines the customer names in words or by item id."""
    by_id = [line for line in order["items"] if line["item_id"] in said.item_ids]
    return resolve.named_lines(order, said.text) or by_id


def _orders_naming_items(turn: Turn, said: Understanding) -> list[Order]:
    """The customer's orders with the items they name in words or ids."""
    return [order for order in customer_orders(turn) if named_in(order, said)]


def _order_naming_items(turn: Turn, said: Understanding) -> list[Order]:
    """The orders, among those the request can apply to, with the items the customer names in words: one when
    the words tell which."""
    allowed = statuses(turn)
    naming = _orders_naming_items(turn, said)
    fitting = [order for order in naming if not allowed or order["status"] in allowed]
    hinted = [order for order in fitting if status_hinted(said.text, order["status"])]
    fitting = hinted if len(fitting) > 1 and hinted else fitting
    if len(fitting) > 1 and turn.state.intent in BATCHED and _distinct_items(fitting, said):
        return fitting  # "I no longer need the boots, the watch and the keyboard": each order holding them
    if len(fitting) > 1:
        fitting = _narrowed(fitting, said)
    if fitting:
        return fitting
    return naming if len(naming) == 1 else []  # the one order naming the items: its status is then explained


def _narrowed(fitting: list[Order], said: Understanding) -> list[Order]:
    """Of several orders holding what the customer names, the one their words tell, if they do."""
    kinds = [len({line["name"] for line in named_in(order, said)}) for order in fitting]
    if kinds.count(max(kinds)) == 1 and max(kinds) > 1:  # "the bookshelf and the jigsaw from the same order"
        fitting = [fitting[kinds.index(max(kinds))]]
    if len(fitting) > 1:  # "my small T-shirt": the order whose line the words describe best, if one does
        scores = [resolve.best_named_score(order, said.text) for order in fitting]
        if scores.count(max(scores)) == 1:
            fitting = [fitting[scores.index(max(scores))]]
    by_price = cues.PRICIER.search(said.text) or cues.CHEAPER.search(said.text)
    if len(fitting) > 1 and by_price:  # "two tablets ... return the more expensive one"
        pick = max if cues.PRICIER.search(said.text) else min
        fitting = [pick(fitting, key=lambda order: max(line["price"] for line in named_in(order, said)))]
    return fitting


def _distinct_items(orders: list[Order], said: Understanding) -> bool:
    """Whether the items the customer names sit in different orders (the boots in one, the watch in another), not
    one product in each (two tablets: which one is meant)."""
    names = [{line["name"] for line in named_in(order, said)} for order in orders]
    return all(not (a & b) for i, a in enumerate(names) for b in names[i + 1:])
