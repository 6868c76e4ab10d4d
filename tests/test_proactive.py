"""Recommendations and proactive suggestions through the real Agent on the demo store (no model: every reply is
the grounded body; the suggestion arrives as its own `suggestion` event)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent.events import Event
from agent.manager import Agent
from agent.memory import DialogueState
from agent.proactive import ProactiveEngine, is_complaint
from tools.store import Store

JAMES_EMAIL = "james.li4495@example.com"
JAMES_DELIVERED = "#W4435622"
JAMES_PROCESSED = "#W2611340"
BOOTS = "show me hiking boots"


def make_chat(agent: Agent) -> Callable[[str], list[Event]]:
    session, _ = agent.open_session()

    def say(text: str) -> list[Event]:
        events = list(agent.turn(session.id, text))
        assert events[-1].type == "done"
        assert len([e for e in events if e.type == "suggestion"]) <= 1  # at most one suggestion per turn
        return events

    say.session_id = session.id  # type: ignore[attr-defined]
    return say


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever, proactive=ProactiveEngine())


@pytest.fixture
def chat(agent: Agent) -> Callable[[str], list[Event]]:
    return make_chat(agent)


def suggestion(events: list[Event]) -> dict[str, Any] | None:
    found = [e.data for e in events if e.type == "suggestion"]
    return found[0] if found else None


def reply(events: list[Event]) -> str:
    return next(e.data["text"] for e in events if e.type == "message")


# --- the recommend flow -------------------------------------------------------------------------------------


def test_what_goes_with_a_product_shows_cards_with_reasons(chat) -> None:  # type: ignore[no-untyped-def]
    events = chat("what goes well with hiking boots?")
    cards = next(e.data["products"] for e in events if e.type == "products")
    text = reply(events)
    assert text.startswith("These go well with Hiking Boots")
    assert "often bought with Hiking Boots" in text
    assert cards and all(card["available"] and card["name"] != "Hiking Boots" for card in cards)
    assert suggestion(events) is None  # the answer already is a recommendation


def test_recommend_me_something_answers_a_guest_and_a_customer(chat) -> None:  # type: ignore[no-untyped-def]
    assert reply(chat("can you recommend me something?")).startswith("Some favourites of our customers")
    chat(f"my email is {JAMES_EMAIL}")
    events = chat("what would you recommend?")
    assert reply(events).startswith("Picked for you from your orders")
    assert any(e.type == "tool_started" and e.data["arguments"].get("user_id") == "james_li_5688" for e in events)


# --- when to suggest ----------------------------------------------------------------------------------------


def test_a_product_question_gets_one_complementary_suggestion(chat) -> None:  # type: ignore[no-untyped-def]
    events = chat(BOOTS)
    offered = suggestion(events)
    assert offered is not None and offered["kind"] == "complementary"
    assert offered["label"] == "Suggested for you" and "often bought with Hiking Boots" in offered["text"]
    assert offered["product"]["available"] and offered["product"]["name"] != "Hiking Boots"
    kinds = [e.type for e in events]
    assert kinds.index("message") < kinds.index("suggestion") < kinds.index("done")
    assert offered["text"] not in reply(events)  # a separate part, not mixed into the answer


def test_no_suggestion_during_a_complaint(chat) -> None:  # type: ignore[no-untyped-def]
    assert is_complaint("my last boots arrived broken, this is unacceptable")
    events = chat("show me hiking boots, my old ones are terrible and I am really disappointed")
    assert any(e.type == "products" for e in events)  # the question is still answered
    assert suggestion(events) is None


def test_a_declined_suggestion_is_never_made_again(chat, agent: Agent) -> None:  # type: ignore[no-untyped-def]
    declined = suggestion(chat(BOOTS))
    assert declined is not None
    assert "won't suggest that again" in reply(chat("No thanks"))
    assert declined["id"] in agent.conversations.state(chat.session_id).suggestions_declined
    for _ in range(3):
        offered = suggestion(chat(BOOTS))
        assert offered is None or offered["id"] != declined["id"]


def test_not_interested_declines_too_but_a_new_request_does_not(chat, agent: Agent) -> None:  # type: ignore[no-untyped-def]
    first = suggestion(chat(BOOTS))
    assert first is not None
    chat("show me a backpack")  # moving on is not a no
    assert first["id"] not in agent.conversations.state(chat.session_id).suggestions_declined
    second = suggestion(chat(BOOTS))
    if second is not None:
        chat("not interested")
        assert second["id"] in agent.conversations.state(chat.session_id).suggestions_declined


def test_the_customer_can_turn_suggestions_off_and_on(chat) -> None:  # type: ignore[no-untyped-def]
    assert "stop making suggestions" in reply(chat("please stop suggesting things"))
    for text in (BOOTS, "show me a water bottle", f"my email is {JAMES_EMAIL}", "thanks"):
        assert suggestion(chat(text)) is None
    assert "again" in reply(chat("ok, turn suggestions back on"))
    assert suggestion(chat("show me a backpack")) is not None


def test_nothing_is_suggested_after_a_hand_off_or_with_a_question_open(chat) -> None:  # type: ignore[no-untyped-def]
    chat(f"my email is {JAMES_EMAIL}")
    asking = chat(f"please return the boots from order {JAMES_DELIVERED}")
    assert any(e.type == "confirmation" for e in asking) and suggestion(asking) is None
    chat("no")
    handed = chat("I want to talk to a person")
    assert any(e.type == "handoff" for e in handed) and suggestion(handed) is None
    assert suggestion(chat(BOOTS)) is None


def test_buy_again_after_sign_in_and_a_follow_up_on_a_delivered_order(chat) -> None:  # type: ignore[no-untyped-def]
    offered = suggestion(chat(f"my email is {JAMES_EMAIL}"))
    assert offered is not None and offered["kind"] == "buy_again" and "you buy this regularly" in offered["text"]
    follow_up = suggestion(chat(f"what's the status of order {JAMES_DELIVERED}?"))
    assert follow_up is not None and follow_up["kind"] == "follow_up" and JAMES_DELIVERED in follow_up["text"]


def test_an_unavailable_item_gets_an_in_stock_alternative(chat, store: Store) -> None:  # type: ignore[no-untyped-def]
    events = chat("show me a water bottle")
    cards = next(e.data["products"] for e in events if e.type == "products")
    assert not cards[0]["available"]  # the best match is out of stock
    offered = suggestion(events)
    assert offered is not None and offered["kind"] == "alternative"
    assert offered["product"]["available"] and offered["product"]["product_id"] == cards[0]["product_id"]


def test_an_agent_without_the_engine_suggests_nothing(store: Store, retriever: Any) -> None:
    plain = make_chat(Agent(store, retriever=retriever))
    assert all(suggestion(plain(text)) is None for text in (BOOTS, f"my email is {JAMES_EMAIL}", "no thanks"))


def test_late_order_heads_up_only_with_a_delivery_predictor(store: Store, retriever: Any) -> None:
    quiet = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine()))
    quiet(f"my email is {JAMES_EMAIL}")
    assert suggestion(quiet(f"where is order {JAMES_PROCESSED}?")) is None  # no predictor wired: rule off
    asked: list[str] = []

    def late_risk(order_id: str) -> float | None:
        asked.append(order_id)
        return 0.8

    warned = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(late_risk=late_risk)))
    warned(f"my email is {JAMES_EMAIL}")
    offered = suggestion(warned(f"where is order {JAMES_PROCESSED}?"))
    assert asked == [JAMES_PROCESSED]
    assert offered is not None and offered["kind"] == "late_order" and JAMES_PROCESSED in offered["text"]


def test_suggestions_are_kept_in_the_history_and_old_sessions_still_load(chat, agent: Agent) -> None:  # type: ignore[no-untyped-def]
    offered = suggestion(chat(BOOTS))
    history = agent.history(chat.session_id)
    assert history[-1]["suggestion"] == offered
    old = DialogueState.from_json({"customer_id": None, "handed_off": False, "misunderstood": 1})
    assert old.suggestions_off is False and old.suggestions_declined == [] and old.suggestion_open is None
