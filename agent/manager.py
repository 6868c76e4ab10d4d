"""The dialogue manager: user → policy-bound flow (tools) → grounded reply, streamed as events and persisted."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agent import locales, toolcall
from agent.cards import product_cards, suggestion_with_links
from agent.escalation.monitor import EscalationMonitor
from agent.escalation.presence import live_fields
from agent.events import Event
from agent.flows import Outcome, Turn
from agent.grounding import Evidence, GroundingChecker
from agent.llm.base import ChatModel, GenerationOptions
from agent.memory import ChatSession, ConversationStore, DialogueState
from agent.nlu import Understanding, understand
from agent.planner import ModelPlanner
from agent.proactive import ProactiveEngine
from agent.reader import default_reader
from agent.reader.acts import Context
from agent.replies import prompt, say
from agent.risk.guard import RiskGuard
from agent.risk.rules import DEFAULT_RULES
from agent.streaming import ClauseStream, json_string_so_far
from agent.voice import OPENINGS, opening_choices, openings_for  # noqa: F401  (the console and tests read these here)
from retrieval import HybridRetriever
from retrieval.language import conversation_language
from tools import advisory_lock
from tools.context import CodeMail, IdentityPolicy, Role, StoreContext
from tools.faults import fault_point
from tools.retail.data_model import Product, User
from tools.runner import ToolRunner
from tools.sign_in import SIGN_IN_TOOLS
from tools.sign_in_codes import CodeRules
from tools.store import Store

log = logging.getLogger(__name__)

SENTENCES = re.compile(r"(?<=[.!?])\s+")
BODY_PIECES = re.compile(r"(?<=\n)|(?<=[.!?] )")  # the grounded body goes out a sentence or a line at a time


def question_asked(state: DialogueState, outcome: Outcome | None) -> str | None:
    """The question the reply leaves open, which the next message is read after: a proposal awaiting its yes, or
    the detail a flow asked for."""
    if state.pending:
        return Context.CONFIRM.value
    return outcome.asked if outcome is not None and outcome.asks else None


@dataclass(frozen=True)
class AgentConfig:
    opening_line: bool = True  # the model writes a short opening before the grounded body
    opening_max_tokens: int = 20
    model_planner: bool = True  # the model picks a tool when no flow recognises the request
    max_misunderstood: int = 2  # then offer a person
    escalation: bool = True  # score every turn and hand over to a person when the policy says so
    # Risk control (agent/risk/): the rules whose matching customer actions wait for staff approval; None: off.
    risk_rules: Path | None = DEFAULT_RULES


class Agent:
    """Shared by every conversation: the store, its tools, the model and the conversation memory."""

    def __init__(
        self,
        store: Store,
        *,
        model: ChatModel | None = None,
        retriever: HybridRetriever | None = None,
        config: AgentConfig | None = None,
        proactive: ProactiveEngine | None = None,
        identity: IdentityPolicy = IdentityPolicy.STORE,
        code_mail: CodeMail | None = None,
        code_rules: CodeRules | None = None,
    ) -> None:
        self.store = store
        # Who a customer is: the store's proof (a signed token or a mailed one-time code), or tau2's benchmark rule.
        self.identity = identity
        self.code_mail = code_mail
        self.code_rules = code_rules or CodeRules()
        self.model = model
        self.retriever = retriever
        self.config = config or AgentConfig()
        # Unasked suggestions (agent/proactive.py): None = none; ProactiveEngine(late_risk=...) adds the delivery rule.
        self.proactive = proactive or ProactiveEngine(enabled=False)
        guard = RiskGuard.from_file(self.config.risk_rules) if self.config.risk_rules else None
        # The sign-in tools are the flows' only: the model is offered AGENT_TOOLS (agent/toolcall.py).
        self.runner = ToolRunner([*toolcall.AGENT_TOOLS, *SIGN_IN_TOOLS], guard=guard)
        self.conversations = ConversationStore(store)
        self.checker = GroundingChecker(self._product_names(), allowed_text="\n".join(locales.all_texts("replies")))
        self.planner = ModelPlanner(model, self.runner) if model and self.config.model_planner else None
        self.escalation = EscalationMonitor(self) if self.config.escalation else None
        default_reader()  # load the reader now, not on the first customer's message
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def customer_exists(self, customer_id: str) -> bool:
        with self.store.session() as session:
            return session.get(User, customer_id) is not None

    def store_ok(self) -> bool:
        try:
            with self.store.session() as session:
                session.execute(select(1))
            return True
        except Exception:
            log.exception("store health check failed")
            return False

    def _product_names(self) -> list[str]:
        with self.store.session() as session:
            return list(session.scalars(select(Product.name)))

    # --- sessions ----------------------------------------------------------------------------------------------

    def open_session(self, *, customer_id: str | None = None, channel: str = "widget",
                     language: str | None = None) -> tuple[ChatSession, str]:
        """A new conversation; customer_id only for a customer the storefront has already authenticated; language
        (a tag such as the browser's "zh-CN") for the greeting, until the customer's own words say otherwise."""
        locale = locales.served(language)
        session = self.conversations.create(customer_id=customer_id, channel=channel, language=locale)
        with locales.speaking(locale):
            greeting = say("greeting_known" if customer_id else "greeting")
        self.conversations.append(session.id, "assistant", greeting, {"greeting": True})
        return session, greeting

    @contextmanager
    def _lock(self, session_id: str) -> Iterator[None]:
        """One writer of a conversation's state at a time, in this process (the thread lock, taken first so that
        waiting threads hold no connection) and in every process sharing the database (the advisory lock): the
        state is read after taking it and written before letting go."""
        with self._locks_guard:
            lock = self._locks.setdefault(session_id, threading.Lock())
        with lock, advisory_lock.held(self.store, advisory_lock.CONVERSATION, session_id):
            yield

    def context(self, session_id: str, state: DialogueState, role: Role, staff_id: str | None) -> StoreContext:
        return StoreContext(
            self.store,
            role=role,
            customer_id=state.customer_id,
            session_id=session_id,
            staff_id=staff_id,
            retriever=self.retriever,
            identity=self.identity,
            code_mail=self.code_mail,
            code_rules=self.code_rules,
        )

    # --- a turn ------------------------------------------------------------------------------------------------

    def turn(
        self, session_id: str, text: str, *, role: Role = Role.CUSTOMER, staff_id: str | None = None
    ) -> Iterator[Event]:
        """Run one customer turn; yields events as they happen. Every step is persisted before it is yielded: the
        customer's message before the turn works on it, a confirmed action with its receipt (exactly once), then
        the reply together with the state it leaves."""
        with self._lock(session_id):
            state = self.conversations.state(session_id)  # raises SessionNotFound before anything is written
            self.conversations.append(session_id, "user", text)
            fault_point("message_stored")
            state.language = conversation_language(text, state.language)
            with locales.speaking(state.language):  # every text of this turn is in the customer's language
                yield from self._handle(session_id, text, state, role, staff_id)

    def _handle(self, session_id: str, text: str, state: DialogueState, role: Role,
                staff_id: str | None) -> Iterator[Event]:
        """The turn in the customer's language: the flows' outcome (reviewed for escalation), then the reply."""
        turn = Turn(self, session_id, text, state, self.context(session_id, state, role, staff_id))
        try:
            outcome = self._respond(turn, state, text)
        except Exception:
            log.exception("turn failed in session %s", session_id)
            apology = self._apology(session_id, state)  # stored before anything is yielded
            yield from turn.events
            yield from apology
            return
        finished = False
        try:
            yield from turn.events
            if outcome is None:  # a person is answering this conversation: the bot stays silent
                self.conversations.save_state(session_id, state)
                finished = True
                yield Event("done")
                return
            finished = yield from self._deliver(session_id, turn, outcome, state)
        finally:
            if not finished:  # the caller stopped listening before the reply was stored: keep the state
                self.conversations.save_state(session_id, state)

    def _respond(self, turn: Turn, state: DialogueState, text: str) -> Outcome | None:
        said = understand(text, Context(state.asked) if state.asked else None)
        outcome = self.proactive.respond(turn, said) or turn.handle(said)
        if self.escalation is not None:  # may hand off, or keep the bot silent while a person has it
            outcome = self.escalation.review(turn, outcome)
        state.asked = question_asked(state, outcome)
        if outcome is not None:
            outcome.suggestion = self.proactive.offer(turn, said, outcome)
        return outcome

    def _apology(self, session_id: str, state: DialogueState) -> list[Event]:
        text = say("apology")
        message = self.conversations.finish(session_id, state, text, {"error": True})
        return [Event("error", {"detail": "The assistant failed to handle this message."}),
                Event("message", {"id": message.id, "text": text, "repaired": False, "language": locales.current()}),
                Event("done")]

    def _deliver(
        self, session_id: str, turn: Turn, outcome: Outcome, state: DialogueState
    ) -> Generator[Event, None, bool]:
        """The reply's events; True once the reply and the state are stored."""
        cards = product_cards(self.store, outcome.cards)
        suggestion = suggestion_with_links(self.store, outcome.suggestion)
        if cards:
            yield Event("products", {"products": cards})
        if outcome.confirmation:
            yield Event("confirmation", outcome.confirmation)
        if outcome.handoff:  # the customer is told what happens next; the staff summary stays with the ticket
            yield Event("handoff", {"notice": say("handoff_notice"), "language": locales.current()})
        body, violations = self._checked(turn.session_id, outcome.body)
        opening = ""
        # One voice: no opening when the body opens itself. The openings are English pleasantries: a reply in
        # another language goes without one.
        choices = opening_choices(outcome.gist, body, turn.text) if locales.current() == locales.DEFAULT else []
        if self.model is not None and self.config.opening_line and choices:
            try:
                opening = yield from self._stream_opening(turn, outcome, choices, violations)
            except Exception:
                log.exception("the model failed on the opening line; the grounded body is sent alone")
        for piece in BODY_PIECES.split((" " if opening else "") + body):
            if piece:
                yield Event("token", {"text": piece})
        text = f"{opening} {body}" if opening else body
        payload = {
            "products": cards,
            "handoff": bool(outcome.handoff),
            "confirmation": outcome.confirmation,
            "grounding_violations": violations,
            "repaired": bool(violations),
            "suggestion": suggestion,
        }
        fault_point("before_reply")
        message = self.conversations.finish(session_id, state, text, payload)
        fault_point("reply_stored")
        yield Event("message", {"id": message.id, "text": text, "repaired": bool(violations),
                                "language": locales.current(), "closing": outcome.closing})
        if suggestion:  # its own labelled part of the reply, after the answer itself
            yield Event("suggestion", suggestion)
        yield Event("done")
        return True

    def _stream_opening(
        self, turn: Turn, outcome: Outcome, choices: list[str], violations: list[dict[str, str]]
    ) -> Generator[Event, None, str]:
        """The model's opening line, chosen by the model among the lines that fit (decoding constrained to them),
        sent clause by clause as it is decoded, each clause checked first. Returns the line as the customer saw it;
        a refused clause is recorded in `violations` and replaced by the rest of the chosen line, never shown."""
        assert self.model is not None
        messages = [
            {"role": "system", "content": prompt("opening.md")},
            {"role": "user", "content": f"{turn.text}\n(Your reply will go on with: {outcome.gist}.)"},
        ]
        evidence = self.evidence(turn.session_id)
        clauses = ClauseStream(lambda piece: not self.checker.violations(piece, evidence), allowed=tuple(choices))
        options = GenerationOptions(max_tokens=self.config.opening_max_tokens, json_schema={"enum": choices})
        # One line to choose from is no choice: it goes out as the model would have had to write it.
        decoded = iter(self.model.stream(messages, options) if len(choices) > 1 else [json.dumps(choices[0])])
        raw, closed = "", False
        try:
            for chunk in decoded:
                raw += chunk
                text, closed = json_string_so_far(raw)
                line = None if closed else clauses.settled(text)
                if line is not None:  # the choice is made: the grammar forces the rest, which can go out now
                    text, closed = line, True
                for piece in clauses.feed(text, closed):
                    yield Event("token", {"text": piece})
                if clauses.refused is not None:
                    break
                if closed:  # the forced rest is still decoded, after the customer has it: the prompt cache keeps
                    for _ in decoded:  # the opening's system prompt only for a generation that ran to its end
                        pass
                    break
        finally:
            getattr(decoded, "close", lambda: None)()  # frees the model at once when the line is cut short
        if not closed and clauses.refused is None:  # ran out of tokens mid-line
            clauses.refused = json_string_so_far(raw)[0][len(clauses.sent) :]
        if clauses.refused is not None:
            violations.append({"kind": "opening", "value": (clauses.sent + clauses.refused)[:80]})
            rest = clauses.completion()
            if rest and not self.checker.violations(rest, evidence):
                yield Event("token", {"text": rest})
                return clauses.sent + rest
        return clauses.sent

    def _checked(self, session_id: str, body: str) -> tuple[str, list[dict[str, str]]]:
        """The reply body with any sentence that states an unsupported fact removed (none should: it is built
        from tool results; this is the guard that keeps a template or flow bug from reaching a customer)."""
        evidence = self.evidence(session_id)
        violations = [v.__dict__ for v in self.checker.violations(body, evidence)]
        if not violations:
            return body, []
        log.warning("ungrounded reply in session %s: %s", session_id, violations)
        kept = [s for s in SENTENCES.split(body) if not self.checker.violations(s, evidence)]
        return (" ".join(kept) if kept else say("apology")), violations

    # --- helpers for the flows ---------------------------------------------------------------------------------

    def evidence(self, session_id: str) -> Evidence:
        # What the customer typed may be read back to them ("ship order #W... to 12 Oak Street, ... 78701").
        rows = self.conversations.messages(session_id, roles=("tool", "user"))
        return Evidence.from_results(row.text for row in rows if row.role == "user" or row.payload.get("ok"))

    def unplaced(self, turn: Turn, said: Understanding) -> Outcome:
        """No flow recognised the message: a follow-up on the products just shown, a count of a product's options
        or a product search in the catalogue's words, else let the model choose a tool, or say what the agent can
        do."""
        from agent import searching
        from agent.flows.catalogue import count_asked

        outcome = (searching.follow_up(turn, said) or count_asked(turn, said)
                   or searching.catalogue_query(turn, said))
        if outcome is not None:
            turn.state.misunderstood = 0
            return outcome
        if self.planner is not None:
            rows = self.conversations.messages(turn.session_id, roles=("user", "tool", "assistant"))
            history = toolcall.past_turns(rows)[:-1]  # the last turn is this one: its message is `said`
            request = toolcall.open_request(self.conversations.state(turn.session_id))  # as the turn began
            outcome = self.planner.plan(turn, said, history, request)
            if outcome is not None:
                return outcome
        turn.state.misunderstood += 1
        if turn.state.misunderstood >= self.config.max_misunderstood:
            return Outcome(say("offer_human"), gist="offering a person")
        return Outcome(say("misunderstood"), gist="asking the customer to rephrase")

    def summary(self, session_id: str, customer_id: str | None, last: str) -> str:
        """What a person taking over needs: who, and what the customer asked (their own words)."""
        said = [row.text for row in self.conversations.messages(session_id, roles=("user",))][-4:]
        who = f"Customer {customer_id}" if customer_id else "Unverified customer"
        return f"{who}. Customer said: " + " | ".join(said or [last])

    def handoff(self, session_id: str) -> str:
        """The widget's "talk to a person" button: a transfer without going through the model."""
        language = self.conversations.state(session_id).language
        with locales.speaking(language):  # the request is stored in the customer's words, in their language
            request = say("handoff_request")
        notices = [e.data["notice"] for e in self.turn(session_id, request) if e.type == "handoff"]
        with locales.speaking(language):
            return notices[0] if notices else say("handed_off")

    def history(self, session_id: str) -> list[dict[str, Any]]:
        rows = self.conversations.messages(session_id, roles=("user", "assistant"))
        return [
            {
                "id": row.id,
                "role": row.role,
                "text": row.text,
                "created_at": row.created_at.isoformat(),
                "products": row.payload.get("products", []),
                "handoff": bool(row.payload.get("handoff")),
                "greeting": bool(row.payload.get("greeting")),
                "confirmation": row.payload.get("confirmation"),
                "suggestion": row.payload.get("suggestion"),
                **live_fields(row.payload),  # a person's words and notices: who wrote them
            }
            for row in rows
        ]
