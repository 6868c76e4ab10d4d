"""One turn of the dialogue: the policy-bound flows that decide which store tool runs next and what to say.

Identity before account data, one customer per conversation and confirmation before any change are enforced
here and again in the tools themselves (tools/runner.py, tools/context.py): no model output reaches a write
tool without the customer's explicit yes to exactly those details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from agent import resolve
from agent.addresses import TO_TARGET, names_a_place, names_city
from agent.arrival import arrival
from agent.events import Event
from agent.memory import DialogueState
from agent.nlu import (
    ALL_ORDERS,
    CREDIT_CARD,
    EVERYTHING,
    GIFT_CARD,
    HOW_MANY,
    PAYPAL,
    Intent,
    Understanding,
    cancel_reason,
    split_requests,
    understand,
)
from agent.reader import extract
from agent.reader.acts import Move, PaymentKind
from agent.reader.extract import bare_name
from agent.replies import (
    address_text,
    item_lines,
    line_text,
    lines_text,
    method_text,
    money,
    options_text,
    say,
    variant_cards,
)
from agent.searching import catalogue_question
from tools.context import StoreContext
from tools.runner import ToolResult

if TYPE_CHECKING:
    from agent.manager import Agent

STATUS_CUE = re.compile(r"\b(where|status|track|arriv|when|deliver|shipp)", re.I)
NARROWABLE = {"exchange_delivered_order_items": Intent.EXCHANGE, "modify_pending_order_items": Intent.EXCHANGE,
              "return_delivered_order_items": Intent.RETURN}
MOST_RECENT = re.compile(r"\b(most recent(ly)?|latest|last order|recent order|just (placed|bought|ordered|made|got))\b",
                         re.I)
OTHER_ORDER = re.compile(r"\b(other|another|different|second|previous|older) order", re.I)
# "cancel all my pending orders", "every order": the request applies to each order whose status allows it.
ADDRESS_ASKED = re.compile(r"\b(which|what) address\b|\bwhere\b[^.?!]{0,200}\b(sent|shipped|going)\b", re.I)
# "... and change its item color to red": the same order as the request before.
REFERS_BACK = re.compile(r"\b(its|it|that order|the same order|this order)\b", re.I)
# "... and I want to know the total amount I can get back": the refunds of the message's actions, added up.
TOTAL_BACK = re.compile(r"\b(total|altogether|in all)\b[^.?!]{0,200}\b(get back|refund|back)|\bhow much\b[^.?!]{0,200}"
                        r"\b(get back|refunded|refund)\b", re.I)
# Of two orders holding the named item: "the more expensive one", "the cheaper one".
PRICIER = re.compile(r"\b(more|most) expensive\b|\bpricier\b|\bpriciest\b", re.I)
CHEAPER = re.compile(r"\b(less|least) expensive\b|\bcheaper\b|\bcheapest\b", re.I)
# "modify all my pending tshirts", "both my laptops": each order holding the named items, in turn.
ALL_NAMED_ITEMS = re.compile(r"\b(?:all|both|each|every)(?: of)?(?: my| the)?(?: (?:pending|delivered|received))? "
                             r"(?!orders\b|items\b|things\b)[a-z-]+s\b", re.I)
BATCHED = {Intent.CANCEL, Intent.CHANGE_ADDRESS, Intent.CHANGE_PAYMENT, Intent.RETURN, Intent.EXCHANGE}
# At a proposal, only another action or a request for a person replaces it; a question leaves it standing.
REPLACES_PROPOSAL = BATCHED | {Intent.HUMAN}
# The orders each request can apply to, when the customer names items but not the order.
ORDER_STATUSES_FOR: dict[Intent | None, set[str]] = {
    Intent.CANCEL: {"pending"},
    Intent.CHANGE_ADDRESS: {"pending"},
    Intent.CHANGE_PAYMENT: {"pending"},
    Intent.RETURN: {"delivered"},
    Intent.EXCHANGE: {"pending", "delivered"},
}
NEEDS_ACCOUNT = {
    Intent.CANCEL,
    Intent.RETURN,
    Intent.EXCHANGE,
    Intent.CHANGE_ADDRESS,
    Intent.CHANGE_PAYMENT,
    Intent.ORDER_STATUS,
    Intent.ARRIVAL,
    Intent.ACCOUNT,
}


RECEIVED = re.compile(r"\b(received|got|arrived|delivered)\b", re.I)
CANCELLED_ORDER = re.compile(r"\bcancell?ed order", re.I)  # "the tracking number of my cancelled order"
NOT_YET_RECEIVED = re.compile(r"\b(just (ordered|placed|bought)|pending|not (yet )?(arrived|received|shipped))\b", re.I)


def _other_card(user: dict[str, Any], arguments: dict[str, Any], said: Understanding) -> dict[str, Any] | None:
    """ "I'd prefer the other card": the customer's one other credit card than the proposal's."""
    if not said.moved(Move.OTHER) or extract.payment_kind(said.text) is not PaymentKind.CREDIT_CARD:
        return None
    others = [m for m in user["payment_methods"].values()
              if m["source"] == "credit_card" and m["id"] != arguments.get("payment_method_id")]
    return others[0] if len(others) == 1 else None


def _refunded(tool: str, order: dict[str, Any]) -> float:
    """What a finished action refunds: a cancelled order's refund, or the returned items' prices."""
    if tool == "cancel_pending_order":
        return sum(p["amount"] for p in order["payment_history"] if p["transaction_type"] == "refund")
    if tool == "return_delivered_order_items":
        return sum(line["price"] for line in order["items"] if line["item_id"] in order.get("return_items", []))
    return 0.0


def _distinct_items(orders: list[dict[str, Any]], said: Understanding) -> bool:
    """Whether the items the customer names sit in different orders (the boots in one, the watch in another), not
    one product in each (two tablets: which one is meant)."""
    names = [{line["name"] for line in Turn._named_in(order, said)} for order in orders]
    return all(not (a & b) for i, a in enumerate(names) for b in names[i + 1:])


def _status_hinted(text: str, status: str) -> bool:
    """Whether the customer's words say the order is one they received ("the laptop I received"), not yet, or one
    that was cancelled ("my cancelled order")."""
    if status == "cancelled":
        return bool(CANCELLED_ORDER.search(text))
    if status == "delivered":
        return bool(RECEIVED.search(text)) and not NOT_YET_RECEIVED.search(text)
    return status == "pending" and bool(NOT_YET_RECEIVED.search(text))


@dataclass
class Outcome:
    """What a turn decided: the grounded reply body and what the widget should show with it."""

    body: str
    cards: list[dict[str, Any]] = field(default_factory=list)
    confirmation: dict[str, Any] | None = None
    handoff: str | None = None
    gist: str = ""  # what the reply is about, for the model's opening line
    asks: bool = False  # the agent asked for something the request still needs
    suggestion: dict[str, Any] | None = None  # an unasked suggestion, shown apart (agent/proactive.py)


def ask(key: str, gist: str = "asking for a detail", **slots: Any) -> Outcome:
    return Outcome(say(key, **slots), gist=gist, asks=True)


class Turn:
    def __init__(self, agent: Agent, session_id: str, text: str, state: DialogueState, ctx: StoreContext) -> None:
        self.agent = agent
        self.session_id = session_id
        self.text = text  # the customer's message
        self.state = state
        self.ctx = ctx
        self.events: list[Event] = []
        self.results: list[ToolResult] = []
        self.keep_only: set[str] = set()  # the item ids a narrowed proposal keeps ("only the desk lamp")
        self.new_request = False  # this message makes a request of its own (not an answer to the agent's question)

    # --- tools ---------------------------------------------------------------------------------------------

    def call(self, name: str, **arguments: Any) -> ToolResult:
        self.events.append(Event("tool_started", {"name": name, "arguments": arguments}))
        result = self.agent.runner.call(self.ctx, name, arguments)
        self.state.customer_id = self.ctx.customer_id
        self.results.append(result)
        self.agent.conversations.append(
            self.session_id,
            "tool",
            result.content(),
            {"name": name, "arguments": result.arguments, "ok": result.ok, "error": result.error},
        )
        self.events.append(Event("tool_finished", {"name": name, "ok": result.ok, "error": result.error}))
        return result

    def output(self, name: str, **arguments: Any) -> Any:
        """A read tool's output, or None when it failed (the error is already in self.results)."""
        result = self.call(name, **arguments)
        if not result.ok:
            return None
        return json.loads(result.output) if isinstance(result.output, str) and name != "calculate" else result.output

    def total(self, amounts: list[float], *, minus: float | None = None) -> str:
        """A sum or difference the reply states, computed by the calculator tool so it is in a tool result."""
        expression = " + ".join(f"{amount:.2f}" for amount in amounts) or "0"
        if minus is not None:
            expression = f"{expression} - {minus:.2f}"
        if len(amounts) == 1 and minus is None:
            return money(amounts[0])
        result = self.call("calculate", expression=expression)
        return money(result.output) if result.ok else money(sum(amounts) - (minus or 0))

    def _difference(self, new: float, old: float) -> str:
        """The size of a price difference (its direction is said in words)."""
        return self.total([new], minus=old) if new >= old else self.total([old], minus=new)

    def failed(self) -> Outcome:
        return Outcome(say("tool_failed", error=self.results[-1].error), gist="an error")

    # --- the turn --------------------------------------------------------------------------------------------

    def handle(self, said: Understanding) -> Outcome:
        if self.state.handed_off:
            return Outcome(say("handed_off"), gist="waiting for a person")
        if self.state.pending:
            if said.yes and not self._names_something_else(said):
                return self.execute_pending()
            revised = self._revised(said)
            if revised is not None:
                return revised
            if said.no:
                self._forget_request()
                return Outcome(say("declined"), gist="the customer declined")
            if not set(said.intents) & REPLACES_PROPOSAL and not self._names_something_else(said):
                return self._ask_again()  # neither a clear yes, a no, nor another action: the proposal stands
            self._forget_request()  # a new request replaces the proposal
        elif said.no and not set(said.intents) - {Intent.THANKS, Intent.CANCEL}:
            self._forget_request()
            return Outcome(say("dropped"), gist="the customer dropped the request")
        verified = self.identify(said)
        if verified is not None and not verified:
            key = "wrong_customer" if "another customer" in (self.results[-1].error or "") else "identity_failed"
            return Outcome(say(key), gist="the identity check failed")
        intent = said.intent
        if intent is Intent.ORDER_STATUS and self.state.intent and not STATUS_CUE.search(said.text):
            intent = None  # "order #W3614011" or "it's for my order" answers the open question
        if verified and intent in {Intent.GREET, Intent.THANKS} and self.state.intent:
            intent = None  # "sure, my email is ... thx": the identity answers the open request, the thanks is manners
        if intent is not None:
            self.new_request = True
            self.state.refunds = [] if TOTAL_BACK.search(said.text) else None
            requests = split_requests(said.text)  # "cancel all pending orders and return the watch": one at a time
            if len(requests) > 1:
                self.state.queued = requests[1:]
                said = understand(requests[0])
                intent = said.intent or intent
            self.state.request = said.text
        elif self.state.intent:
            # A message without a request of its own answers the agent's last question: read both together.
            intent = Intent(self.state.intent)
            self.state.request = f"{said.text}\n{self.state.request}"
            said = understand(self.state.request)
        if verified and intent in {None, Intent.GREET, Intent.THANKS}:
            return Outcome(say("identity_ok"), gist="the customer is verified")
        if intent is None:
            return self.agent.unplaced(self, said)
        self.state.misunderstood = 0
        self.state.intent = intent.value
        if intent in NEEDS_ACCOUNT and self.ctx.customer_id is None:
            if (browsing := catalogue_question(self, said, intent)) is not None:  # "can I order a yoga mat?"
                return browsing
            if self.state.name:
                return ask("ask_zip", gist="asking the customer to verify their identity")
            return ask("ask_identity", gist="asking the customer to verify their identity")
        outcome = self._run(intent, said)
        if self.state.batch is not None and not self.state.batch["order_ids"] and not self.state.pending:
            self.state.batch = None  # its last order needed no change: the batch is over
        return self._take_up_queued(outcome)

    def _run(self, intent: Intent, said: Understanding) -> Outcome:
        """The request's flow; the request stays open only while the agent is asking something to complete it."""
        outcome = self.FLOWS[intent](self, said)
        self.state.intent = intent.value if outcome.asks else None
        return outcome

    @staticmethod
    def _joined(done: Outcome, following: Outcome) -> Outcome:
        """One reply for a finished step and the one after it (the next order of a batch, the next request)."""
        return Outcome(f"{done.body}\n\n{following.body}", cards=done.cards + following.cards,
                       confirmation=following.confirmation, gist=following.gist, asks=following.asks)

    def _forget_request(self) -> None:
        self.state.pending = None
        self.state.batch = None
        self.state.queued = []
        self.state.intent = None
        self.state.request = ""

    def _ask_again(self) -> Outcome:
        pending = self.state.pending or {}
        return Outcome(
            pending["summary"] + say("confirm_again"),
            confirmation={"action": pending["tool"], "summary": pending["summary"]},
            gist="asking the customer to confirm an action",
        )

    def _revised(self, said: Understanding) -> Outcome | None:
        """The proposal again, changed as the customer's answer says: for only the items it now names of those
        it covered ("only exchange the desk lamp"), or paid with the method it names ("use my PayPal for any
        additional payment"); None when the message changes neither. The request is re-read whole, so each kept
        item keeps the words that chose its variant."""
        pending = self.state.pending or {}
        arguments = pending.get("arguments", {})
        proposed = arguments.get("item_ids", [])
        if pending.get("tool") not in NARROWABLE:
            return None
        keep: set[str] = set()
        if said.moved(Move.ONLY, Move.CORRECTION) and len(set(proposed)) > 1:  # "(yes, but) only the desk lamp"
            order = self.output("get_order_details", order_id=arguments["order_id"])
            lines = [line for line in (order or {}).get("items", []) if line["item_id"] in proposed]
            named = resolve.named_lines({"items": lines}, said.text)
            keep = {line["item_id"] for line in named} if 0 < len(named) < len(lines) else set()
        method = None
        names_method = any(p.search(said.text) for p in (GIFT_CARD, PAYPAL, CREDIT_CARD))  # the words payment uses
        if names_method and (user := self.user()) is not None:
            method = resolve.payment_method(user, said.text) or _other_card(user, arguments, said)
        if not keep and (method is None or method["id"] == arguments.get("payment_method_id")):
            return None
        self.state.pending = None
        self.keep_only = keep
        request = replace(understand(f"{said.text}\n{self.state.request}"),  # the new words first
                          order_ids=[arguments["order_id"]], item_ids=list(proposed))
        return self._run(NARROWABLE[pending["tool"]], request)

    def _names_something_else(self, said: Understanding) -> bool:
        """A "yes" that names another order or item is a new request, not a confirmation of the proposal."""
        arguments = (self.state.pending or {}).get("arguments", {})
        other_order = any(order_id != arguments.get("order_id") for order_id in said.order_ids)
        proposed_items = set(arguments.get("item_ids", [])) | set(arguments.get("new_item_ids", []))
        other_item = any(item_id not in proposed_items for item_id in said.item_ids)
        return other_order or other_item

    def identify(self, said: Understanding) -> bool | None:
        """Verify the customer from an email or name + zip in the message; None when there is nothing to verify."""
        name = said.name or (bare_name(said.text) if said.zip else None) or self.state.name
        if name and not said.zip and self.ctx.customer_id is None:
            self.state.name = list(name)  # the zip code may follow in the next message
            return None
        zip_is_address = said.address is not None and said.address["zip"] == said.zip
        if not said.emails and (self.ctx.customer_id is not None or zip_is_address):
            return None
        if said.emails:
            result = self.call("find_user_id_by_email", email=said.emails[0])
        elif name and said.zip:
            result = self.call("find_user_id_by_name_zip", first_name=name[0], last_name=name[1], zip=said.zip)
        else:
            return None
        return result.ok

    # --- conversation ----------------------------------------------------------------------------------------

    def greet(self, said: Understanding) -> Outcome:
        key = "greeting_known" if self.ctx.customer_id else "greeting"
        return Outcome(say(key), gist="a greeting")

    def thank(self, said: Understanding) -> Outcome:
        return Outcome(say("thanks"), gist="the customer says thanks")

    def transfer(self, said: Understanding) -> Outcome:
        summary = self.agent.summary(self.session_id, self.ctx.customer_id, said.text)
        result = self.call("transfer_to_human_agents", summary=summary)
        if not result.ok:
            return self.failed()
        self.state.handed_off = True
        return Outcome(say("handoff"), handoff=summary, gist="transferring to a person")

    # --- catalogue -------------------------------------------------------------------------------------------

    def search(self, said: Understanding) -> Outcome:
        from agent.searching import search  # the search flow lives in its own module

        return search(self, said)

    def product(self, said: Understanding) -> Outcome:
        if not said.item_ids:
            counted = HOW_MANY.search(said.text.lower())
            return self.count_options(counted.group(1)) if counted else self.search(said)
        product = self.output("get_product_details", product_id=said.item_ids[0])
        if product is None:
            item = self.output("get_item_details", item_id=said.item_ids[0])
            if item is None:
                return self.search(said)
            product = self.output("get_product_details", product_id=item["product_id"])
            if product is None:
                return self.failed()
        cards = variant_cards(product, list(product["variants"].values())[:8])
        lines = item_lines(cards)
        return Outcome(say("product_details", name=product["name"], lines=lines), cards=cards, gist="a product")

    def count_options(self, name: str) -> Outcome:
        """ "How many T-shirt options are available?": the product the words name, its available variants."""
        hits = self.output("search_products", query=name, limit=1)
        if not hits:
            return Outcome(say("search_empty"), gist="no products found")
        product = self.output("get_product_details", product_id=hits[0]["product_id"])
        if product is None:
            return self.failed()
        available = [v for v in product["variants"].values() if v["available"]]
        cards = variant_cards(product, available[:8])
        return Outcome(say("product_count", name=product["name"], count=len(available), lines=item_lines(cards)),
                       cards=cards, gist="a product's options")

    def recommend(self, said: Understanding) -> Outcome:
        from agent.recommending import recommend  # the recommender flow lives in its own module

        return recommend(self, said)

    # --- account and orders ----------------------------------------------------------------------------------

    def user(self) -> dict[str, Any] | None:
        return self.output("get_user_details", user_id=self.ctx.customer_id)

    def _orders(self, said: Understanding) -> Outcome:
        user = self.user()
        if user is None:
            return self.failed()
        if not user["orders"]:
            return Outcome(say("no_orders"), gist="no orders")
        if self.state.intent in {None, Intent.ORDER_STATUS, Intent.ARRIVAL}:
            live = user["orders"] if len(user["orders"]) == 1 else self._not_cancelled(user["orders"])
            if len(live) == 1:  # the one order (or the one not cancelled) the question is about
                self.state.order_id = live[0]
                return self.FLOWS[Intent(self.state.intent or Intent.ORDER_STATUS)](self, said)
        return ask("ask_order", orders=", ".join(user["orders"]), gist="asking which order")

    def _not_cancelled(self, order_ids: list[str]) -> list[str]:
        return [order_id for order_id in order_ids
                if (order := self.output("get_order_details", order_id=order_id)) and order["status"] != "cancelled"]

    def order(self, said: Understanding) -> dict[str, Any] | Outcome:
        """The order under discussion, fetched now; or what to ask to find out which one."""
        if not said.order_ids and self.state.batch is None and ALL_ORDERS.search(said.text):
            batch = self._batch()
            if batch is not None:
                return batch
        if not said.order_ids and self.state.batch is None and ALL_NAMED_ITEMS.search(said.text):
            naming = self._orders_naming_items(said)
            hinted = [order for order in naming if _status_hinted(said.text, order["status"])]
            batch = self._batch(hinted or naming)
            if batch is not None:
                return batch
        order_id = said.order_ids[0] if said.order_ids else self.state.order_id
        if not said.order_ids and OTHER_ORDER.search(said.text):
            order_id = None
        shipped = self._orders_shipped_to(said) if order_id is None else []
        if len(shipped) == 1:  # "my LA order", "the order I sent to my son's address in Washington DC"
            order_id = shipped[0]["order_id"]
        if order_id is None:
            candidates = self._order_naming_items(said)
            named = candidates[0] if len(candidates) == 1 else None
            if named is None and MOST_RECENT.search(said.text):
                named = self._most_recent_order()
            if named is not None:
                self.state.order_id = named["order_id"]
                return named
            if len(candidates) > 1 and _distinct_items(candidates, said) and self.state.batch is None:
                batch = self._batch(candidates)
                if batch is not None:
                    return batch
            hinted = [] if candidates else self._hinted_orders(said)
            if len(hinted) == 1:  # "the tracking number of my cancelled order"
                self.state.order_id = hinted[0]["order_id"]
                return hinted[0]
            if candidates:  # several orders hold what was named: which of those items, with their options
                lines = [f"{order['order_id']}: {lines_text(self._named_in(order, said))}" for order in candidates]
                return ask("ask_which_ordered", lines="; ".join(lines), gist="asking which order's item")
            return self._orders(said)
        order = self.output("get_order_details", order_id=order_id)
        if order is None:
            return self.failed()
        if self.new_request and not said.order_ids and self.state.batch is None and not self._named_in(order, said):
            # "I also want to change my watch" after the laptop order: the order holding the watch, if one does;
            # "my pending order" after a delivered one: the one pending order.
            others = self._order_naming_items(said) or self._only_order_hinted(said, order)
            order = others[0] if len(others) == 1 else order
            order_id = order["order_id"]
        self.state.order_id = order_id
        return order

    def _batch(self, orders: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
        """The first of the customer's orders (or of the given ones) the request can apply to; the others wait in
        the batch, each to be proposed (and confirmed) in turn once the one before is done."""
        intent = Intent(self.state.intent) if self.state.intent else None
        if intent not in BATCHED:
            return None
        orders = self.customer_orders() if orders is None else orders
        orders = [order for order in orders if order["status"] in ORDER_STATUSES_FOR[intent]]
        if not orders:
            return None
        self.state.batch = {"intent": intent.value, "order_ids": [o["order_id"] for o in orders[1:]]}
        self.state.order_id = orders[0]["order_id"]
        return orders[0]

    def _take_up_queued(self, outcome: Outcome) -> Outcome:
        """Once a request is finished (nothing asked, nothing to confirm): the next one the customer's message
        made, in the same reply."""
        if outcome.asks or outcome.confirmation or self.state.pending:
            return outcome
        if not self.state.queued:
            return self._with_refund_total(outcome)
        text = self.state.queued.pop(0)
        said = understand(text)
        if said.intent is None:
            return outcome
        self.state.intent, self.state.request = said.intent.value, text
        if not REFERS_BACK.search(text):  # "... and return the watch": it names its own order or items
            self.state.order_id = None
        return self._joined(outcome, self._take_up_queued(self._run(said.intent, said)))

    def _with_refund_total(self, outcome: Outcome) -> Outcome:
        """Everything the message asked for done: what it refunds in all, if the customer asked (computed by the
        calculator tool, so the figure is in a tool result)."""
        refunds, self.state.refunds = self.state.refunds, None
        if not refunds:
            return outcome
        total = say("refund_total", amount=self.total(refunds))
        return replace(outcome, body=f"{outcome.body}\n\n{total}")

    def _next_in_batch(self, done: Outcome) -> Outcome:
        """After one order of a batch is done: the proposal for the next, in the same reply (or, the batch done,
        the customer's next request)."""
        batch = self.state.batch
        if not batch or not batch["order_ids"]:
            self.state.batch = None
            return self._take_up_queued(done)
        self.state.order_id = batch["order_ids"].pop(0)
        intent = Intent(batch["intent"])
        self.state.intent = intent.value
        return self._joined(done, self._run(intent, understand(self.state.request)))

    def _most_recent_order(self) -> dict[str, Any] | None:
        """ "The order I just placed": the customer's latest order (the account lists them oldest first) of those
        the request can apply to."""
        user = self.user()
        statuses = ORDER_STATUSES_FOR.get(Intent(self.state.intent) if self.state.intent else None)
        for order_id in reversed(user["orders"] if user else []):
            order = self.output("get_order_details", order_id=order_id)
            if order is not None and (not statuses or order["status"] in statuses):
                return order
        return None

    def customer_orders(self) -> list[dict[str, Any]]:
        """Each of the verified customer's orders, fetched (those that fail to load are left out)."""
        user = self.user()
        return [order for order_id in (user["orders"] if user else [])
                if (order := self.output("get_order_details", order_id=order_id)) is not None]

    def _only_order_hinted(self, said: Understanding, current: dict[str, Any]) -> list[dict[str, Any]]:
        """The customer's orders in the status their words give ("my pending order"), when the current one is not."""
        return [] if _status_hinted(said.text, current["status"]) else self._hinted_orders(said)

    def _hinted_orders(self, said: Understanding) -> list[dict[str, Any]]:
        """The customer's orders in the status their words give: "my pending order", "my cancelled order"."""
        if not (NOT_YET_RECEIVED.search(said.text) or CANCELLED_ORDER.search(said.text)):
            return []
        return [order for order in self.customer_orders() if _status_hinted(said.text, order["status"])]

    def _orders_shipped_to(self, said: Understanding) -> list[dict[str, Any]]:
        """The orders the request can apply to that were sent to the city the customer names them by ("change my
        LA order to ...": the words before the new address)."""
        named = TO_TARGET.split(said.text, maxsplit=1)[0]
        if not names_a_place(named, "order|address"):  # "my LA order", "sent to my son's address in Washington"
            return []
        statuses = ORDER_STATUSES_FOR.get(Intent(self.state.intent) if self.state.intent else None)
        return [order for order in self.customer_orders() if names_city(named, order["address"]["city"])
                and (not statuses or order["status"] in statuses)]

    @staticmethod
    def _named_in(order: dict[str, Any], said: Understanding) -> list[dict[str, Any]]:
        """The order's lines the customer names in words or by item id."""
        by_id = [line for line in order["items"] if line["item_id"] in said.item_ids]
        return resolve.named_lines(order, said.text) or by_id

    def _orders_naming_items(self, said: Understanding) -> list[dict[str, Any]]:
        """The customer's orders with the items they name in words or ids."""
        return [order for order in self.customer_orders() if self._named_in(order, said)]

    def _order_naming_items(self, said: Understanding) -> list[dict[str, Any]]:
        """The orders, among those the request can apply to, with the items the customer names in words: one when
        the words tell which."""
        statuses = ORDER_STATUSES_FOR.get(Intent(self.state.intent) if self.state.intent else None)
        naming = self._orders_naming_items(said)
        fitting = [order for order in naming if not statuses or order["status"] in statuses]
        hinted = [order for order in fitting if _status_hinted(said.text, order["status"])]
        fitting = hinted if len(fitting) > 1 and hinted else fitting
        if len(fitting) > 1 and self.state.intent in BATCHED and _distinct_items(fitting, said):
            return fitting  # "I no longer need the boots, the watch and the keyboard": each order holding them
        if len(fitting) > 1:  # "the bookshelf and the jigsaw from the same order": the order holding most of them
            kinds = [len({line["name"] for line in self._named_in(order, said)}) for order in fitting]
            if kinds.count(max(kinds)) == 1 and max(kinds) > 1:
                fitting = [fitting[kinds.index(max(kinds))]]
        if len(fitting) > 1:  # "my small T-shirt": the order whose line the words describe best, if one does
            scores = [resolve.best_named_score(order, said.text) for order in fitting]
            if scores.count(max(scores)) == 1:
                fitting = [fitting[scores.index(max(scores))]]
        by_price = PRICIER.search(said.text) or CHEAPER.search(said.text)
        if len(fitting) > 1 and by_price:  # "two tablets ... return the more expensive one"
            pick = max if PRICIER.search(said.text) else min
            fitting = [pick(fitting, key=lambda order: max(line["price"] for line in self._named_in(order, said)))]
        if fitting:
            return fitting
        return naming if len(naming) == 1 else []  # the one order naming the items: its status is then explained

    def account(self, said: Understanding) -> Outcome:
        user = self.user()
        if user is None:
            return self.failed()
        methods = ", ".join(method_text(m) for m in user["payment_methods"].values())
        orders = ", ".join(user["orders"]) or "none"
        return Outcome(say("account", count=len(user["orders"]), orders=orders, methods=methods), gist="the account")

    def order_status(self, said: Understanding) -> Outcome:
        order = self.order(said)
        if isinstance(order, Outcome):
            return order
        tracking_ids = [t for f in order["fulfillments"] for t in f["tracking_id"]]
        tracking = say("tracking", tracking_ids=", ".join(tracking_ids)) if tracking_ids else ""
        items = lines_text(order["items"])
        paid = [p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment"]
        if ADDRESS_ASKED.search(said.text):  # "which address the order was sent to"
            tracking = say("order_sent_to", address=address_text(order["address"])) + tracking
        body = say("order_status", order_id=order["order_id"], status=order["status"], items=items, tracking=tracking,
                   paid=say("order_paid", amount=self.total(paid)) if paid else "")
        return Outcome(body, gist="the order's status")

    # --- actions: each ends in a proposal the customer must confirm ------------------------------------------

    def propose(self, tool: str, arguments: dict[str, Any], summary: str) -> Outcome:
        self.state.pending = {"tool": tool, "arguments": arguments, "summary": summary}
        return Outcome(
            summary + say("confirm_question"),
            confirmation={"action": tool, "summary": summary},
            gist="asking the customer to confirm an action",
        )

    def execute_pending(self) -> Outcome:
        pending, self.state.pending = self.state.pending, None
        assert pending is not None
        self.ctx.approve(pending["tool"], pending["arguments"])
        result = self.call(pending["tool"], **pending["arguments"])
        self.state.intent = None
        if not result.ok:
            self.state.batch = None
            return self.failed()
        if self.state.refunds is not None:
            self.state.refunds.append(_refunded(pending["tool"], result.output))
        return self._next_in_batch(Outcome(self._done_text(pending["tool"], result.output), gist="the action is done"))

    def _done_text(self, tool: str, output: dict[str, Any]) -> str:
        if tool == "modify_user_address":
            return say("done_user_address", address=address_text(output["address"]))
        key = {
            "cancel_pending_order": "done_cancel",
            "return_delivered_order_items": "done_return",
            "exchange_delivered_order_items": "done_exchange",
        }.get(tool, "done_modify")
        return say(key, order_id=output["order_id"], status=output["status"])

    def _payment_of(self, order: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The customer's record and the order's original payment method."""
        user = self.user()
        if user is None or not order["payment_history"]:
            return user, None
        original = order["payment_history"][0]["payment_method_id"]
        return user, user["payment_methods"].get(original)

    def order_in(self, said: Understanding, status: str, action: str) -> dict[str, Any] | Outcome:
        """The order under discussion if its status allows the action; otherwise why not (or what to ask)."""
        order = self.order(said)
        if isinstance(order, Outcome) or order["status"] == status:
            return order
        key = "not_pending" if status == "pending" else "not_delivered"
        return Outcome(say(key, order_id=order["order_id"], status=order["status"], action=action), gist="an error")

    def cancel(self, said: Understanding) -> Outcome:
        order = self.order_in(said, "pending", "cancelled")
        if isinstance(order, Outcome):
            return order
        reason = cancel_reason(said.text)
        if reason is None:
            return ask("ask_reason", order_id=order["order_id"])
        user, method = self._payment_of(order)
        if user is None:
            return self.failed()
        paid = self.total([p["amount"] for p in order["payment_history"] if p["transaction_type"] == "payment"])
        summary = say(
            "confirm_cancel",
            order_id=order["order_id"],
            items=lines_text(order["items"]),
            reason=reason,
            amount=paid,
            method=method_text(method) if method else "the original payment method",
        )
        return self.propose("cancel_pending_order", {"order_id": order["order_id"], "reason": reason}, summary)

    def give_back(self, said: Understanding) -> Outcome:
        order = self.order_in(said, "delivered", "returned")
        if isinstance(order, Outcome):
            return order
        lines = resolve.order_lines(order, said.text, said.item_ids)
        if lines is None:
            return self._ask_items(order)
        lines = [line for line in lines if not self.keep_only or line["item_id"] in self.keep_only]
        user, original = self._payment_of(order)
        if user is None:
            return self.failed()
        method = resolve.payment_method(user, said.text)
        if method is None or (method["source"] != "gift_card" and method is not original):
            method = original  # policy: refund to the original payment method or a gift card
        if method is None:
            return ask("ask_payment", methods=self._methods(user), gist="asking how to refund")
        summary = say(
            "confirm_return",
            items=lines_text(lines),
            order_id=order["order_id"],
            amount=self.total([line["price"] for line in lines]),
            method=method_text(method),
        )
        arguments = {
            "order_id": order["order_id"],
            "item_ids": [line["item_id"] for line in lines],
            "payment_method_id": method["id"],
        }
        return self.propose("return_delivered_order_items", arguments, summary)

    def exchange(self, said: Understanding) -> Outcome:
        order = self.order(said)
        if isinstance(order, Outcome):
            return order
        if order["status"] not in {"pending", "delivered"}:
            return Outcome(say("not_delivered", order_id=order["order_id"], status=order["status"], action="exchanged"))
        if order["status"] == "pending" and (first := self._order_change_first(order)) is not None:
            return first
        lines = resolve.order_lines(order, said.text, said.item_ids)
        if lines is None or (len(lines) > 1 and EVERYTHING.search(said.text)):
            return self._ask_items(order)
        swaps = []
        for line, clause in resolve.clauses_by_line(lines, said.text):  # "the keyboard for X and the lamp for Y"
            if self.keep_only and line["item_id"] not in self.keep_only:
                continue
            swap = self._replacement(line, clause)
            if isinstance(swap, Outcome):
                return swap
            swaps.append((line, swap))
        user, method = self._payment_of(order)
        if user is None:
            return self.failed()
        method = resolve.payment_method(user, said.text) or method
        if method is None:
            return ask("ask_payment", methods=self._methods(user), gist="asking how to pay")
        old_total, new_total = sum(line["price"] for line, _ in swaps), sum(v["price"] for _, v in swaps)
        pending = order["status"] == "pending"
        summary = say(
            "confirm_modify_items" if pending else "confirm_exchange",
            old=lines_text([line for line, _ in swaps]),
            new=lines_text([{"name": line["name"], **variant} for line, variant in swaps]),
            order_id=order["order_id"],
            difference=self._difference(new_total, old_total) if len(swaps) == 1 else self._sum_difference(swaps),
            direction="charged to" if new_total >= old_total else "refunded to",
            method=method_text(method),
        )
        arguments = {
            "order_id": order["order_id"],
            "item_ids": [line["item_id"] for line, _ in swaps],
            "new_item_ids": [variant["item_id"] for _, variant in swaps],
            "payment_method_id": method["id"],
        }
        tool = "modify_pending_order_items" if pending else "exchange_delivered_order_items"
        return self.propose(tool, arguments, summary)

    def _order_change_first(self, order: dict[str, Any]) -> Outcome | None:
        """A pending order's items can be changed only once and nothing else after (policy): when the customer's
        message also asks to change its address or payment, that comes first and the item change after it."""
        index = next((i for i, text in enumerate(self.state.queued)
                      if understand(text).intent in {Intent.CHANGE_ADDRESS, Intent.CHANGE_PAYMENT}), None)
        if index is None:
            return None
        text = self.state.queued.pop(index)
        self.state.queued.insert(0, self.state.request)
        said = understand(text)
        assert said.intent is not None
        self.state.intent, self.state.request, self.state.order_id = said.intent.value, text, order["order_id"]
        first = self.FLOWS[said.intent](self, replace(said, order_ids=said.order_ids or [order["order_id"]]))
        return replace(first, body=f"{say('order_change_first')} {first.body}")

    def _replacement(self, line: dict[str, Any], clause: str) -> dict[str, Any] | Outcome:
        """The variant of the line's product that the customer's words ask for, or the question to ask them."""
        product = self.output("get_product_details", product_id=line["product_id"])
        if product is None:
            return self.failed()
        variant, alternatives = resolve.replacement_variant(product, line, clause)
        if not alternatives:
            return Outcome(say("no_other_option", item=line_text(line)), gist="no other option")
        if variant is None:
            options = "; ".join(f"{options_text(v['options'])} ${money(v['price'])}" for v in alternatives[:8])
            cards = variant_cards(product, alternatives[:8])
            return Outcome(say("ask_new_option", item=line_text(line), options=options), cards=cards, asks=True)
        return variant

    def _sum_difference(self, swaps: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
        """Several swaps: the difference of the two totals, computed by the calculator (so the reply is grounded)."""
        news, olds = [v["price"] for _, v in swaps], [line["price"] for line, _ in swaps]
        if sum(news) < sum(olds):
            news, olds = olds, news
        expression = " + ".join(f"{p:.2f}" for p in news) + " - (" + " + ".join(f"{p:.2f}" for p in olds) + ")"
        result = self.call("calculate", expression=expression)
        return money(result.output) if result.ok else money(sum(news) - sum(olds))

    def change_address(self, said: Understanding) -> Outcome:
        from agent.addresses import change_address  # the address flow lives in its own module

        return change_address(self, said)

    def change_payment(self, said: Understanding) -> Outcome:
        order = self.order_in(said, "pending", "changed")
        if isinstance(order, Outcome):
            return order
        user = self.user()
        if user is None:
            return self.failed()
        method = resolve.payment_method(user, said.text)
        if method is None:
            return ask("ask_payment", methods=self._methods(user), gist="asking which payment method")
        summary = say("confirm_payment", order_id=order["order_id"], method=method_text(method))
        arguments = {"order_id": order["order_id"], "payment_method_id": method["id"]}
        return self.propose("modify_pending_order_payment", arguments, summary)

    def _ask_items(self, order: dict[str, Any]) -> Outcome:
        items = lines_text(order["items"])
        return ask("ask_items", order_id=order["order_id"], items=items)

    @staticmethod
    def _methods(user: dict[str, Any]) -> str:
        return "; ".join(method_text(m) for m in user["payment_methods"].values())

    FLOWS: ClassVar[dict[Intent, Callable[[Turn, Understanding], Outcome]]] = {
        Intent.HUMAN: transfer,
        Intent.OUT_OF_SCOPE: transfer,
        Intent.GREET: greet,
        Intent.THANKS: thank,
        Intent.SEARCH: search,
        Intent.RECOMMEND: recommend,
        Intent.PRODUCT: product,
        Intent.ACCOUNT: account,
        Intent.ORDER_STATUS: order_status,
        Intent.ARRIVAL: arrival,
        Intent.CANCEL: cancel,
        Intent.RETURN: give_back,
        Intent.EXCHANGE: exchange,
        Intent.CHANGE_ADDRESS: change_address,
        Intent.CHANGE_PAYMENT: change_payment,
    }
