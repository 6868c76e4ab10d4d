"""The agent's escalation hook: every customer turn is scored, the policy decides, and an escalation files a
handoff ticket and tells the customer what happens next. While a person has the conversation the bot is silent.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from agent.escalation import handoff
from agent.escalation.policy import PolicyConfig, PolicyState, calm_again, decide
from agent.escalation.sentiment import SentimentScorer, shared_scorer
from agent.escalation.signals import (
    TurnSignals,
    asks_for_person,
    frustration_floor,
    offered_person,
    repeats,
    risk_topic,
    similar,
)
from agent.escalation.tables import EscalationTurn
from agent.escalation.texts import escalation_reply
from agent.escalation.tickets import TicketDesk
from agent.flows import Outcome, Turn
from agent.memory import ChatMessage
from agent.nlu import understand

if TYPE_CHECKING:
    from agent.manager import Agent

log = logging.getLogger(__name__)

ASKS_FOR_PERSON = 0.9  # the English head's "contact a human agent" probability that counts as asking
UNPLACED_GISTS = {"asking the customer to rephrase", "offering a person"}


class EscalationMonitor:
    def __init__(self, agent: Agent, config: PolicyConfig | None = None, scorer: SentimentScorer | None = None) -> None:
        self.agent = agent
        self.config = config or PolicyConfig()
        self.desk = TicketDesk(agent.store)
        self._scorer = scorer

    @property
    def scorer(self) -> SentimentScorer:
        if self._scorer is None:
            retriever = self.agent.retriever
            self._scorer = shared_scorer(retriever.encoder if retriever is not None else None)
        return self._scorer

    # --- the hook ------------------------------------------------------------------------------------------

    def review(self, turn: Turn, outcome: Outcome) -> Outcome | None:
        """The turn's outcome, replaced by a handoff when the policy escalates; None when a person is answering
        (the bot stays silent). A failure here never breaks the turn: the outcome goes out unchanged."""
        try:
            return self._review(turn, outcome)
        except Exception:
            log.exception("escalation review failed in session %s", turn.session_id)
            return outcome

    def _review(self, turn: Turn, outcome: Outcome) -> Outcome | None:
        ticket = self.desk.open_ticket(turn.session_id)
        signals = self.signals(turn, outcome)
        state = self.policy_state(turn.session_id)
        if ticket is not None:
            decide(state, signals, self.config)  # keeps the timeline going for the person on the ticket
            self._record(turn.session_id, signals, state, None)
            return None if ticket.status == "active" else outcome
        decision = decide(state, signals, self.config)
        self._record(turn.session_id, signals, state, decision.reason)
        if not decision.escalate or decision.reason is None:
            return outcome
        return self.escalate(turn, outcome, decision.reason, state)

    # --- signals -------------------------------------------------------------------------------------------

    def signals(self, turn: Turn, outcome: Outcome) -> TurnSignals:
        score = self.scorer.score(turn.text)
        history = self.agent.conversations.messages(turn.session_id, roles=("user", "assistant"))
        earlier_user = [m.text for m in history if m.role == "user"][:-1]
        # The greeting is not a reply: answering "hi" with it again is no sign of being stuck.
        last_reply = next((m.text for m in reversed(history)
                           if m.role == "assistant" and not (m.payload or {}).get("greeting")), "")
        accepted_offer = offered_person(last_reply) and understand(turn.text).yes
        unplaced = outcome.gist in UNPLACED_GISTS
        stuck = []
        if repeats(turn.text, earlier_user):
            stuck.append("repeated_question")
        if not outcome.handoff and not unplaced and similar(outcome.body, last_reply):
            stuck.append("same_reply")  # a canned "I didn't understand" again is counted once, as unplaced
        if any(not result.ok and not result.held for result in turn.results):  # a held action is no failure
            stuck.append("tool_error")
        if unplaced:
            stuck.append("misunderstood")
        return TurnSignals(
            frustration=max(score.frustration, frustration_floor(turn.text)),
            language=score.language,
            explicit=asks_for_person(turn.text) or score.asks_for_person >= ASKS_FOR_PERSON or accepted_offer,
            risk=risk_topic(turn.text),
            stuck=stuck,
            flow_handoff=bool(outcome.handoff),
        )

    def policy_state(self, session_id: str) -> PolicyState:
        with self.agent.store.session() as session:
            last = session.scalars(select(EscalationTurn).where(EscalationTurn.session_id == session_id)
                                   .order_by(EscalationTurn.id.desc())).first()
        return PolicyState.from_json(last.policy_state if last else None)

    def _record(self, session_id: str, signals: TurnSignals, state: PolicyState, decision: str | None) -> None:
        with self.agent.store.transaction() as session:
            message_id = session.scalars(select(ChatMessage.id).where(
                ChatMessage.session_id == session_id, ChatMessage.role == "user")
                .order_by(ChatMessage.id.desc())).first()
            session.add(EscalationTurn(session_id=session_id, message_id=message_id,
                                       frustration=signals.frustration, smoothed=state.smoothed or 0.0,
                                       signals=signals.to_json(), policy_state=state.to_json(), decision=decision))

    # --- escalation ----------------------------------------------------------------------------------------

    def escalate(self, turn: Turn, outcome: Outcome, reason: str, state: PolicyState) -> Outcome:
        """File the ticket (once), mark the conversation handed off, and tell the customer what happens next."""
        if not outcome.handoff:
            # The same tool the flows use, so the transfer is in the conversation's record like any other.
            turn.call("transfer_to_human_agents", summary=f"Escalated ({reason}): {turn.text[:300]}")
        with self.agent.store.session() as session:
            context = handoff.gather(session, turn.session_id, turn.ctx.customer_id, reason, turn.state.order_id)
        ticket = self.desk.file(turn.session_id, turn.ctx.customer_id, reason, context, state.peak)
        turn.state.handed_off = True
        turn.state.pending = None  # a proposal waiting for a yes is the person's to make again
        log.info("session %s escalated (%s): ticket %s", turn.session_id, reason, ticket.id)
        if outcome.handoff:  # the flows' own transfer already told the customer; the person gets the full context
            outcome.handoff = context.summary
            return outcome
        return Outcome(escalation_reply(reason), handoff=context.summary, gist="transferring to a person")

    def with_person(self, session_id: str) -> bool:
        ticket = self.desk.open_ticket(session_id)
        return ticket is not None and ticket.status == "active"

    def reset(self, session_id: str) -> None:
        """After a hand-back: the policy starts calm again (recorded as a turn-less state row)."""
        state = self.policy_state(session_id)
        calm_again(state, self.config)
        with self.agent.store.transaction() as session:
            session.add(EscalationTurn(session_id=session_id, message_id=None, frustration=0.0,
                                       smoothed=state.smoothed or 0.0, signals={"reset": True},
                                       policy_state=state.to_json(), decision="handed_back"))

