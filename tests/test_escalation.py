"""The escalation policy's rules, and escalation through the real agent: tickets filed, kept across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.escalation.policy import PolicyConfig, PolicyState, decide
from agent.escalation.signals import TurnSignals, asks_for_person, repeats, risk_topic
from agent.escalation.tables import HandoffTicket
from agent.escalation.tickets import TicketDesk, priority, ticket_risk
from agent.manager import Agent
from retrieval.language import has_han
from tools.store import Store


def run_policy(turns: list[TurnSignals], config: PolicyConfig | None = None) -> list[str | None]:
    state = PolicyState()
    return [decide(state, signals, config or PolicyConfig()).reason for signals in turns]


def calm(n: int) -> list[TurnSignals]:
    return [TurnSignals(frustration=0.05) for _ in range(n)]


# --- the policy's rules --------------------------------------------------------------------------------------


def test_an_explicit_request_escalates_at_once() -> None:
    assert run_policy([TurnSignals(frustration=0.0, explicit=True)]) == ["explicit_request"]


def test_one_rude_message_in_a_calm_conversation_does_not_escalate() -> None:
    turns = [*calm(5), TurnSignals(frustration=0.99), *calm(8)]
    assert run_policy(turns) == [None] * 14


def test_sustained_frustration_escalates_on_the_second_angry_turn() -> None:
    # Hand-computed: three calm turns take the average to 0.0532; 0.95 -> 0.5913 (alert opens at >= 0.55);
    # 0.95 -> 0.8065 (open for two turns: escalate).
    assert run_policy([*calm(3), TurnSignals(0.95), TurnSignals(0.95)]) == [None, None, None, None, "frustration"]


def test_hysteresis_a_milder_message_inside_an_angry_run_keeps_the_alert_open() -> None:
    # Hand-computed from the 0.1 prior: 0.9 -> 0.58 (alert opens); 0.3 -> 0.412, below enter 0.55 but above
    # exit 0.4: the alert stays open for a second turn -> escalate.
    assert run_policy([TurnSignals(0.9), TurnSignals(0.3)]) == [None, "frustration"]
    # Once closed (0.05 -> 0.262 < 0.4) the same kind of message does not reopen it: 0.5 -> 0.4048 < 0.55.
    assert run_policy([TurnSignals(0.9), TurnSignals(0.05), TurnSignals(0.5)]) == [None, None, None]


@pytest.mark.parametrize("topic", ["fraud", "legal", "safety"])
def test_risk_topics_escalate_at_once(topic: str) -> None:
    assert run_policy([*calm(2), TurnSignals(0.1, risk=topic)]) == [None, None, f"risk:{topic}"]


def test_three_stuck_turns_escalate_a_polite_customer_two_do_not() -> None:
    stuck = [TurnSignals(0.05, stuck=["repeated_question"]) for _ in range(3)]
    assert run_policy(stuck) == [None, None, "repeated_failure"]
    assert run_policy([stuck[0], stuck[1], *calm(1), stuck[2]]) == [None] * 4


def test_ablations_switch_rules_or_sentiment_off() -> None:
    angry = [TurnSignals(0.95), TurnSignals(0.95)]
    assert run_policy(angry, PolicyConfig(use_sentiment=False)) == [None, None]
    assert run_policy([TurnSignals(0.0, explicit=True)], PolicyConfig(use_rules=False)) == [None]


# --- rule signals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Can I talk to a real person?", "get me a manager", "I want a human agent",
                                  "转人工", "我要找人工客服"])
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize("text", ["Where is my order?", "I'm looking for a personal blender", "人很好"])
def test_not_requests_for_a_person(text: str) -> None:
    assert not asks_for_person(text)


@pytest.mark.parametrize(("text", "topic"), [
    ("There's an unauthorized charge on my card", "fraud"),
    ("I will contact my lawyer about this", "legal"),
    ("The charger caught fire last night", "safety"),
    ("我的卡被盗刷了", "fraud"),
    ("where is my fire pit order?", None),
    ("the lamp is very bright", None),
    # Classes of words that meet in one clause: a stranger + a use + the customer's payment; a failure + again.
    ("someone used my card", "fraud"),
    ("Somebody has been using my credit card on your site", "fraud"),
    ("有人用了我的卡", "fraud"),
    ("I don't recognize this charge", "fraud"),
    ("damaged twice, terrible service", "repeated_damage"),
    ("The replacement arrived broken again", "repeated_damage"),
    ("第二次收到坏的了", "repeated_damage"),
    ("又坏了，服务太差", "repeated_damage"),
    ("my heater started smoking", "safety"),
    ("smoke came out of the toaster", "safety"),
    ("the kettle burned my hand", "safety"),
    ("充电器冒烟了", "safety"),
    ("it was sparking and there was smoke", "safety"),
    # Near misses: the words, but not together in one clause, or not about what happened.
    ("my order arrived damaged", None),
    ("Can you check again when my order ships?", None),
    ("can someone help, I used my gift card", None),
    ("I didn't get my refund, you charged my card", None),
    ("I want to return my fire pit", None),
    ("smoke detector order status", None),
])
def test_risk_topics(text: str, topic: str | None) -> None:
    assert risk_topic(text) == topic


def handoff_ticket(reason: str, said: str, frustration: float, waited_minutes: float, value: float) -> HandoffTicket:
    now = datetime.now(UTC)
    return HandoffTicket(session_id=said, reason=reason, status="waiting", peak_frustration=frustration,
                         order_value=value, created_at=now - timedelta(minutes=waited_minutes),
                         summary=f"Unverified customer. Escalated: x.\nCustomer said: hello | {said}")


RISK_TICKETS = [
    handoff_ticket("risk:safety", "the charger caught fire", 0.1, 0, 0),
    handoff_ticket("explicit_request", "my heater started smoking, I want a person", 0.1, 0, 0),  # raised, then asked
    handoff_ticket("risk:fraud", "someone used my card", 0.2, 1, 0),
    handoff_ticket("frustration", "有人用了我的卡！！", 0.3, 0, 0),
    handoff_ticket("risk:legal", "I will sue you", 0.0, 0, 0),
    handoff_ticket("risk:repeated_damage", "damaged twice, terrible service", 0.3, 0, 10),
    handoff_ticket("repeated_failure", "又坏了，服务太差", 0.2, 0, 0),
]
CALM_TICKETS = [
    handoff_ticket("explicit_request", "can I talk to a person about my fire pit order", 0.1, 60, 5000),
    handoff_ticket("frustration", "this is so slow, where is my parcel", 1.0, 60, 5000),
    handoff_ticket("repeated_failure", "I need to change my address", 0.6, 30, 900),
    handoff_ticket("explicit_request", "转人工", 0.0, 0, 0),
]


def test_every_risk_ticket_ranks_above_every_calm_one() -> None:
    """Safety, fraud, legal threats and repeated damage first, whatever the calm ones' wait, value or mood."""
    now = datetime.now(UTC)
    lowest_risk = min(priority(t, now) for t in RISK_TICKETS)
    highest_calm = max(priority(t, now) for t in CALM_TICKETS)
    assert lowest_risk > highest_calm
    assert [ticket_risk(t) for t in RISK_TICKETS] == ["safety", "safety", "fraud", "fraud", "legal",
                                                      "repeated_damage", "repeated_damage"]
    assert [ticket_risk(t) for t in CALM_TICKETS] == [None] * len(CALM_TICKETS)


def test_within_a_band_frustration_waiting_and_value_still_order_tickets() -> None:
    now = datetime.now(UTC)
    calm, upset = (handoff_ticket("explicit_request", "a person please", f, 0, 0) for f in (0.1, 0.9))
    assert priority(upset, now) > priority(calm, now)


def test_repeats_finds_the_same_question_but_not_short_answers() -> None:
    assert repeats("Where is my refund for the blender?", ["hi", "where is my refund for the blender"])
    assert not repeats("yes", ["yes"])
    assert not repeats("do you sell wireless keyboards", ["do you sell running shoes"])


# --- through the real agent ----------------------------------------------------------------------------------


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever)


def say(agent: Agent, session_id: str, text: str) -> list[Any]:
    return list(agent.turn(session_id, text))


def reply_of(events: list[Any]) -> str | None:
    return next((e.data["text"] for e in events if e.type == "message"), None)


def test_asking_for_a_person_files_a_ticket_that_survives_a_restart(agent: Agent, store: Store,
                                                                   retriever: Any) -> None:
    session, _ = agent.open_session(customer_id="yusuf_rossi_9620")
    say(agent, session.id, "where is my order #W2378156?")
    events = say(agent, session.id, "I want to talk to a real person please")
    assert any(e.type == "handoff" for e in events)
    assert "person from our team" in (reply_of(events) or "")
    ticket = agent.escalation.desk.open_ticket(session.id)
    assert ticket is not None and ticket.reason == "explicit_request" and ticket.status == "waiting"
    assert "talk to a real person" in ticket.summary and "Order details (#W2378156)" in ticket.summary
    assert [o["order_id"] for o in ticket.orders if o["mentioned"]] == ["#W2378156"]
    assert ticket.order_value > 0 and len(ticket.timeline) == 2

    restarted = TicketDesk(Store(store.url))  # a new process on the same database file
    queued = restarted.queue()
    assert [row["session_id"] for row in queued] == [session.id]
    assert queued[0]["timeline"] == ticket.timeline
    # The conversation stays with a person after the restart too.
    again = Agent(Store(store.url), retriever=retriever)
    assert "person from our team" in (reply_of(say(again, session.id, "hello?")) or "")
    assert len(restarted.queue()) == 1  # no second ticket


def test_sustained_anger_escalates_but_one_outburst_does_not(agent: Agent) -> None:
    calm_session, _ = agent.open_session()
    for text in ["hi", "do you have a mechanical keyboard?", "This is absolutely useless, what a stupid answer!",
                 "ok, show me the cheapest one", "thanks"]:
        say(agent, calm_session.id, text)
    assert agent.escalation.desk.open_ticket(calm_session.id) is None

    angry, _ = agent.open_session()
    say(agent, angry.id, "hi")
    replies = [reply_of(say(agent, angry.id, text)) for text in [
        "This is the worst service I have ever had. Absolutely unacceptable!",
        "You are useless. I am furious, nobody answers and my package never arrived!"]]
    ticket = agent.escalation.desk.open_ticket(angry.id)
    assert ticket is not None and ticket.reason == "frustration"
    assert "frustrating" in (replies[-1] or "")


@pytest.mark.parametrize(("text", "topic"), [
    ("Someone used my card to buy things on your store!", "fraud"),
    ("The mug arrived damaged twice, terrible service", "repeated_damage"),
    ("又坏了，第二次收到坏的了", "repeated_damage"),
])
def test_fraud_and_repeated_damage_escalate_in_the_live_conversation(agent: Agent, text: str, topic: str) -> None:
    session, _ = agent.open_session()
    say(agent, session.id, "hi")
    events = say(agent, session.id, text)
    assert any(e.type == "handoff" for e in events)
    told = "人工客服" if has_han(text) else "person from our team"  # in the customer's language (agent/locales)
    assert told in (reply_of(events) or "")
    ticket = agent.escalation.desk.open_ticket(session.id)
    assert ticket is not None and ticket.reason == f"risk:{topic}"


def test_a_risk_topic_escalates_and_a_taken_ticket_silences_the_bot(agent: Agent, store: Store) -> None:
    session, _ = agent.open_session()
    say(agent, session.id, "The charger I bought caught fire last night")
    ticket = agent.escalation.desk.open_ticket(session.id)
    assert ticket is not None and ticket.reason == "risk:safety"
    agent.escalation.desk.take(ticket.id, "dana")
    events = say(agent, session.id, "hello? is anyone there?")
    assert [e.type for e in events] == ["done"]  # the person answers; the bot says nothing
    assert agent.history(session.id)[-1]["text"] == "hello? is anyone there?"  # the message is kept
    with store.session() as db:
        assert db.get(HandoffTicket, ticket.id).status == "active"
