"""Runs the labelled conversations through the real agent (flows, tools, the escalation monitor) on a private
copy of the demo store, and replays the recorded turn signals under other policy settings (ablations)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agent.escalation.policy import PolicyConfig, PolicyState, decide
from agent.escalation.signals import TurnSignals
from agent.escalation.tables import EscalationTurn
from evals.escalation_metrics import ConversationOutcome

DEFAULT_CONVERSATIONS = Path(__file__).parent / "data" / "escalation" / "conversations.jsonl"


def load_conversations(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        missing = {"id", "category", "escalate", "turns"} - set(row)
        if missing:
            raise ValueError(f"{path}: conversation {row.get('id', '?')} lacks {', '.join(sorted(missing))}")
    return rows


@dataclass
class Run:
    outcome: ConversationOutcome
    signals: list[TurnSignals] = field(default_factory=list)  # every turn, as the monitor recorded it
    replies: list[str] = field(default_factory=list)


def open_agent(workdir: Path, index_dir: Path, model: Any = None):  # type: ignore[no-untyped-def]
    """The real agent on a fresh copy of the bundled demo store."""
    from agent.manager import Agent
    from retrieval import HybridRetriever
    from tools.context import IdentityPolicy
    from tools.retail.catalog import store_documents
    from tools.retail.loader import load_store
    from tools.store import Store, sqlite_url

    store = Store(sqlite_url(workdir / "store.db"))
    store.migrate()
    load_store(store)
    with store.session() as session:
        documents = store_documents(session)
    # The labelled conversations sign in by email, as tau2's customers do: the benchmark identity policy.
    return Agent(store, model=model, retriever=HybridRetriever.open(documents, index_dir),
                 identity=IdentityPolicy.BENCHMARK)


def run_conversation(agent, conversation: dict[str, Any]) -> Run:  # type: ignore[no-untyped-def]
    session, _ = agent.open_session(customer_id=conversation.get("customer_id"))
    escalated_turn, reason, replies = None, None, []
    for number, text in enumerate(conversation["turns"], start=1):
        events = list(agent.turn(session.id, text))
        replies.append(next((e.data["text"] for e in events if e.type == "message"), ""))
        if escalated_turn is None:
            ticket = agent.escalation.desk.open_ticket(session.id)
            if ticket is not None:
                escalated_turn, reason = number, ticket.reason
    with agent.store.session() as db:
        rows = list(db.scalars(select(EscalationTurn).where(EscalationTurn.session_id == session.id)
                               .order_by(EscalationTurn.id)))
    outcome = ConversationOutcome(
        conversation["id"], conversation["category"], conversation.get("language", "en"),
        bool(conversation["escalate"]), conversation.get("escalate_from"), escalated_turn, reason)
    return Run(outcome, [TurnSignals.from_json(r.signals) for r in rows], replies)


def replay(run: Run, config: PolicyConfig) -> ConversationOutcome:
    """The same conversation's recorded signals under another policy."""
    state, escalated, reason = PolicyState(), None, None
    for number, signals in enumerate(run.signals, start=1):
        decision = decide(state, signals, config)
        if decision.escalate:
            escalated, reason = number, decision.reason
            break
    o = run.outcome
    return ConversationOutcome(o.conversation_id, o.category, o.language, o.should_escalate, o.escalate_from,
                               escalated, reason)
