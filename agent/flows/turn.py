"""One turn of the dialogue: the customer's act (agent/nlu.py `understand()`) gives the command, and the request's
flow (SPECS) runs it deterministically, deciding which store tool runs next and what to say.

Identity before account data, one customer per conversation and confirmation before any change are enforced
here and again in the tools themselves (tools/runner.py, tools/context.py): no model output reaches a write
tool without the customer's explicit yes to exactly those details.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from agent import locales
from agent.events import Event
from agent.flows import identity, orders, proposals, refusals
from agent.flows.batches import forget_request, take_up_queued
from agent.flows.cues import STATUS_CUE, TOTAL_BACK
from agent.flows.outcome import Flow, Outcome
from agent.flows.spec import NEEDS_ACCOUNT, SPECS
from agent.memory import DialogueState
from agent.nlu import Intent, Understanding, split_requests, understand
from agent.reader.extract import bare_name
from agent.replies import failure_text, money, say
from agent.searching import catalogue_question
from tools.context import IdentityPolicy, StoreContext
from tools.runner import ToolResult

if TYPE_CHECKING:
    from agent.manager import Agent


# The request a message would make that, right after the agent asked for this detail, is the answer instead.
# (A problem told right after "why would you like to cancel?" is the reason: "these were all ordered by mistake".)
ANSWERED_BY = {"payment": Intent.CHANGE_PAYMENT, "address": Intent.CHANGE_ADDRESS, "reason": Intent.PROBLEM}


class Turn:
    FLOWS: ClassVar[dict[Intent, Flow]] = {intent: spec.flow for intent, spec in SPECS.items()}

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

    # --- the turn --------------------------------------------------------------------------------------------

    def handle(self, said: Understanding) -> Outcome:
        if self.state.handed_off:
            return Outcome(say("handed_off"), gist="waiting for a person")
        if self.state.pending:
            answered = proposals.answer(self, said)
            if answered is not None:
                return answered
        elif said.no and not set(said.intents) - {Intent.THANKS, Intent.CANCEL} and self.state.asked != "reason":
            # (a no to "why would you like to cancel?" declines to give a reason: the cancel flow says why it needs one)
            forget_request(self)
            return Outcome(say("dropped"), gist="the customer dropped the request")
        verified = self.identify(said)
        if isinstance(verified, Outcome):  # a code sent or refused (the store's identity policy)
            return verified
        if verified is not None and not verified:
            key = "wrong_customer" if "another customer" in (self.results[-1].error or "") else "identity_failed"
            return Outcome(say(key), gist="the identity check failed")
        if verified and self.ctx.identity is IdentityPolicy.STORE:
            said = identity.without_code(said)  # the code is no order id: read the rest of the message alone
        intent, said = self.request_of(said, verified)
        if verified and intent in {None, Intent.GREET, Intent.THANKS}:
            return Outcome(say("identity_ok"), gist="the customer is verified")
        if intent is None:
            return self.agent.unplaced(self, said)
        self.state.misunderstood = 0
        self.state.intent = intent.value
        if intent in NEEDS_ACCOUNT and self.ctx.customer_id is None:
            return self._ask_identity(said, intent)
        outcome = self.run(intent, said)
        if self.state.batch is not None and not self.state.batch["order_ids"] and not self.state.pending:
            self.state.batch = None  # its last order needed no change: the batch is over
        return take_up_queued(self, outcome)

    def request_of(self, said: Understanding, verified: bool | None) -> tuple[Intent | None, Understanding]:
        """The request this message makes (the first, when it makes several: the others are queued), or the open
        one it answers, with the words to read it from."""
        intent = said.intent
        if intent is Intent.ORDER_STATUS and self.state.intent and not STATUS_CUE.search(said.text):
            intent = None  # "order #W3614011" or "it's for my order" answers the open question
        if self.state.intent and self.state.intent != intent and ANSWERED_BY.get(self.state.asked or "") == intent:
            intent = None  # "I'd like to use PayPal" answers "which payment method?", it is no request of its own
        if verified and intent in {Intent.GREET, Intent.THANKS} and self.state.intent:
            intent = None  # "sure, my email is ... thx": the identity answers the open request, the thanks is manners
        if intent is not None:
            self.new_request = True
            # The wish that answers "what would you like done?" is read with the problem told before it: its words
            # name the items and the order the wish is about ("I want to return them").
            told = self.state.request if self.state.intent == Intent.PROBLEM and intent is not Intent.PROBLEM else ""
            self.state.refunds = [] if TOTAL_BACK.search(said.text) else None
            requests = split_requests(said.text)  # "cancel all pending orders and return the watch": one at a time
            if len(requests) > 1:
                self.state.queued = requests[1:]
                said = understand(requests[0])
                intent = said.intent or intent
            self.state.request = said.text
            if told:
                self.state.request = f"{said.text}\n{told}"
                said = understand(self.state.request)
        elif self.state.intent:
            # A message without a request of its own answers the agent's last question: read both together.
            intent = Intent(self.state.intent)
            self.state.request = f"{said.text}\n{self.state.request}"
            said = understand(self.state.request)
        return intent, said

    def _ask_identity(self, said: Understanding, intent: Intent) -> Outcome:
        """A request about the account before the customer is verified: who they are first (or, for "can I order
        a yoga mat?", the catalogue's answer)."""
        if (browsing := catalogue_question(self, said, intent)) is not None:
            return browsing
        return identity.question(self)

    def identify(self, said: Understanding) -> bool | Outcome | None:
        """Verify the customer from what the message proves under the identity policy: under the store's, a
        one-time code (agent/flows/identity.py); under tau2's benchmark policy, an email or name + zip. None when
        there is nothing to verify."""
        if self.ctx.identity is IdentityPolicy.STORE:
            return identity.prove(self, said)
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

    def run(self, intent: Intent, said: Understanding) -> Outcome:
        """The request's flow; the request stays open only while the agent is asking something to complete it."""
        outcome = self.FLOWS[intent](self, said)
        self.state.intent = intent.value if outcome.asks else None
        return outcome

    # --- what the flows use ----------------------------------------------------------------------------------

    def call(self, name: str, **arguments: Any) -> ToolResult:
        self.events.append(Event("tool_started", {"name": name, "arguments": arguments, "locale": locales.current()}))
        result = self.agent.runner.call(self.ctx, name, arguments)
        self.state.customer_id = self.ctx.customer_id
        self.results.append(result)
        self.agent.conversations.append(
            self.session_id,
            "tool",
            result.content(),
            {"name": name, "arguments": result.arguments, "ok": result.ok, "error": result.error,
             "replayed": result.replayed},
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

    def failed(self) -> Outcome:
        return Outcome(say("tool_failed", error=self.refusal(self.results[-1].error or "")), gist="an error")

    def refusal(self, error: str) -> str:
        """A store tool's error as the customer is told it: in English the tool's words with the payment method
        as they know it; in another language its translation (agent/locales/glosses.toml)."""
        return failure_text(error) or refusals.in_words(self, error)

    def user(self) -> dict[str, Any] | None:
        return self.output("get_user_details", user_id=self.ctx.customer_id)

    def customer_orders(self) -> list[dict[str, Any]]:
        return orders.customer_orders(self)

    def order(self, said: Understanding) -> dict[str, Any] | Outcome:
        return orders.order(self, said)

    def order_in(self, said: Understanding, intent: Intent) -> dict[str, Any] | Outcome:
        return orders.order_in(self, said, intent)

    def propose(self, tool: str, arguments: dict[str, Any], **text: Any) -> Outcome:
        return proposals.propose(self, tool, arguments, **text)
