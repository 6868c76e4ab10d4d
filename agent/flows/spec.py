"""What each request needs, in one table: `SPECS` says, per request, whether it needs the customer's identity,
which orders it applies to, the slots its flow fills, the tools it ends in with their confirmation and done texts
(keys in agent/locales/<locale>/replies.toml), and whether it goes over several orders in turn.

The generic machinery reads this table instead of repeating per-request code:
- turn.py asks who the customer is before any request with `identity` (identity before account data);
- orders.py chooses among the customer's orders in `statuses`, and over each of them in turn when `batches`;
- proposals.py proposes an `Action`'s tool with its `confirm` text, runs it only after the customer's yes to
  exactly that (checked again in tools/), then says its `done` text; a proposal of a request with "items" can be
  narrowed to some of them ("only the desk lamp").
A request's own logic (how its slots are read from the customer's words) is its `flow`, in its own module.

Adding a request (say "gift wrap an order"):
1. its `Intent` in agent/nlu.py, given by the reader's act;
2. its flow, `def gift_wrap(turn, said) -> Outcome` in a module here (gift_wrap.py): fill each slot from `said`,
   `ask(...)` for what is missing, end in `turn.propose(tool, arguments, **text_slots)`; it reaches orders and
   tools through `turn` (turn.order_in, turn.user, turn.output), and so must not import this module, turn.py,
   orders.py or proposals.py (they import it);
3. its entry in SPECS below, with its Action(s);
4. its texts in agent/locales/<locale>/replies.toml: its questions, `confirm_...` and `done_...`;
5. a test in tests/test_agent.py walking a conversation through it: identity, a question, the proposal, the yes,
   the tool's effect on the store (and the no that leaves it unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from agent.flows import address, cancel, catalogue, conversation, exchange, payment, problem, returns, status
from agent.flows.outcome import Flow
from agent.nlu import Intent

# What a flow gathers before it can propose: the order (orders.py), items of it, a replacement variant of each,
# an address, a payment method, a reason.
Slot = Literal["order", "items", "variant", "address", "payment", "reason"]

PENDING = frozenset({"pending"})
DELIVERED = frozenset({"delivered"})


@dataclass(frozen=True)
class Action:
    """A write tool a request ends in, proposed with `confirm` and, once the customer says yes and it ran, reported
    with `done` (both keys in replies.toml)."""

    tool: str
    confirm: str
    done: str
    refunded: Callable[[dict[str, Any]], float] | None = None  # what it refunds, from the tool's output


@dataclass(frozen=True)
class RequestSpec:
    intent: Intent
    flow: Flow  # the request's own logic
    identity: bool = False  # the customer must be verified first (policy: identity before account data)
    statuses: frozenset[str] = frozenset()  # the order statuses it applies to (empty: any)
    slots: tuple[Slot, ...] = ()
    actions: tuple[Action, ...] = ()  # the tools it may propose: each only after the customer's yes
    verb: str = ""  # replies.toml key of the word for it in "only pending orders can be {action}"
    batches: bool = False  # "all my pending orders": each order it applies to, proposed and confirmed in turn
    replaces_proposal: bool = False  # asked while another action awaits a yes, it replaces that proposal
    rules: str = ""  # the policy its flow keeps, in words


SPECS: dict[Intent, RequestSpec] = {spec.intent: spec for spec in (
    RequestSpec(
        Intent.CANCEL, cancel.cancel, identity=True, statuses=PENDING, slots=("order", "reason"),
        actions=(Action("cancel_pending_order", "confirm_cancel", "done_cancel", cancel.refunded),),
        verb="verb_cancel", batches=True, replaces_proposal=True,
        rules="the reason is 'no longer needed' or 'ordered by mistake'; the refund goes to the original method"),
    RequestSpec(
        Intent.RETURN, returns.give_back, identity=True, statuses=DELIVERED, slots=("order", "items", "payment"),
        actions=(Action("return_delivered_order_items", "confirm_return", "done_return", returns.refunded),),
        verb="verb_return", batches=True, replaces_proposal=True,
        rules="the refund goes to the original payment method or a gift card"),
    RequestSpec(
        Intent.EXCHANGE, exchange.exchange, identity=True, statuses=PENDING | DELIVERED,
        slots=("order", "items", "variant", "payment"),
        actions=(Action("exchange_delivered_order_items", "confirm_exchange", "done_exchange"),
                 Action("modify_pending_order_items", "confirm_modify_items", "done_modify")),
        verb="verb_exchange", batches=True, replaces_proposal=True,
        rules="another available variant of the same product; a pending order's items change once, so an address "
              "or payment change asked in the same message comes first"),
    RequestSpec(
        Intent.CHANGE_ADDRESS, address.change_address, identity=True, statuses=PENDING, slots=("order", "address"),
        actions=(Action("modify_pending_order_address", "confirm_order_address", "done_modify"),
                 Action("modify_user_address", "confirm_user_address", "done_user_address")),
        verb="verb_change", batches=True, replaces_proposal=True,
        rules="a pending order's shipping address, or the account's default address"),
    RequestSpec(
        Intent.CHANGE_PAYMENT, payment.change_payment, identity=True, statuses=PENDING, slots=("order", "payment"),
        actions=(Action("modify_pending_order_payment", "confirm_payment", "done_modify"),),
        verb="verb_change", batches=True, replaces_proposal=True,
        rules="another payment method on file"),
    RequestSpec(Intent.ORDER_STATUS, status.order_status, identity=True, slots=("order",)),
    RequestSpec(Intent.ARRIVAL, status.arrival, identity=True, slots=("order",)),
    RequestSpec(Intent.ACCOUNT, status.account, identity=True),
    RequestSpec(Intent.PROBLEM, problem.ask_wish, identity=True,
                rules="a problem told without a wish is not guessed as a return: the customer is asked what they "
                      "would like done"),
    RequestSpec(Intent.SEARCH, catalogue.search),
    RequestSpec(Intent.PRODUCT, catalogue.product),
    RequestSpec(Intent.RECOMMEND, catalogue.recommend),
    RequestSpec(Intent.HUMAN, conversation.transfer, replaces_proposal=True),
    RequestSpec(Intent.OUT_OF_SCOPE, conversation.transfer),
    RequestSpec(Intent.GREET, conversation.greet),
    RequestSpec(Intent.THANKS, conversation.thank),
)}

# The table read the ways the machinery asks it.
NEEDS_ACCOUNT = {intent for intent, spec in SPECS.items() if spec.identity}
BATCHED = {intent for intent, spec in SPECS.items() if spec.batches}
REPLACES_PROPOSAL = {intent for intent, spec in SPECS.items() if spec.replaces_proposal}
ACTIONS = {action.tool: action for spec in SPECS.values() for action in spec.actions}
# The proposals the customer can narrow to some of their items ("only the desk lamp"), and the request to re-run.
NARROWABLE = {action.tool: spec.intent for spec in SPECS.values() if "items" in spec.slots for action in spec.actions}
