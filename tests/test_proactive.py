"""Recommendations and proactive suggestions through the real Agent on the demo store (no model: every reply is
the grounded body; the suggestion arrives as its own `suggestion` event)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

import pytest

from agent.events import Event
from agent.manager import Agent
from agent.memory import DialogueState
from agent.proactive import ProactiveEngine, is_complaint
from server.config import Settings
from tools.context import IdentityPolicy
from tools.store import Store

BENCHMARK = IdentityPolicy.BENCHMARK  # the scripted customers sign in by email, as tau2's do

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
    return Agent(store, retriever=retriever, proactive=ProactiveEngine(), identity=BENCHMARK)


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
    assert "\n- " not in text and f"${cards[0]['price']}" not in text  # the cards show options and prices
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


def test_buy_again_after_sign_in_and_a_follow_up_on_a_delivered_order(store: Store, retriever: Any) -> None:
    chat = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(every_turns=1), identity=BENCHMARK))
    assert suggestion(chat(f"my email is {JAMES_EMAIL}")) is None  # the sign-in turn itself: no sales pitch
    offered = suggestion(chat("thanks"))
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
    plain = make_chat(Agent(store, retriever=retriever, identity=BENCHMARK))
    assert all(suggestion(plain(text)) is None for text in (BOOTS, f"my email is {JAMES_EMAIL}", "no thanks"))


def test_late_order_heads_up_only_with_a_delivery_predictor(store: Store, retriever: Any) -> None:
    quiet = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(), identity=BENCHMARK))
    quiet(f"my email is {JAMES_EMAIL}")
    assert suggestion(quiet(f"where is order {JAMES_PROCESSED}?")) is None  # no predictor wired: rule off
    asked: list[str] = []

    def late_risk(order_id: str) -> float | None:
        asked.append(order_id)
        return 0.8

    warned = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(late_risk=late_risk),
                             identity=BENCHMARK))
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


# --- restraint (issue 20): not on sign-in, never a card already shown, at most one in N turns ----------------


def cards(events: list[Event]) -> list[dict[str, Any]]:
    return [card for e in events if e.type == "products" for card in e.data["products"]]


def every_turn(store: Store, retriever: Any) -> Callable[[str], list[Event]]:
    """A chat whose engine may suggest on every turn, so that a test isolates one rule from the spacing rule."""
    return make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(every_turns=1), identity=BENCHMARK))


def test_no_suggestion_on_the_turn_the_customer_signs_in(chat, agent: Agent) -> None:  # type: ignore[no-untyped-def]
    signing_in = chat(f"my email is {JAMES_EMAIL}")
    assert any(e.type == "tool_finished" and e.data["name"] == "find_user_id_by_email" and e.data["ok"]
               for e in signing_in)
    assert suggestion(signing_in) is None
    state = agent.conversations.state(chat.session_id)
    assert state.customer_id == "james_li_5688" and state.suggestions_made == []
    offered = suggestion(chat("thanks"))  # the very next idle turn may: a buy-again was there to offer
    assert offered is not None and offered["kind"] == "buy_again"


def test_signing_in_with_a_name_and_zip_is_a_sign_in_turn_too(
    store: Store, retriever: Any, demo_db: dict[str, Any]
) -> None:
    chat = every_turn(store, retriever)
    zip_code = demo_db["users"]["james_li_5688"]["address"]["zip"]
    signing_in = chat(f"I'm James Li, zip code {zip_code}")
    assert any(e.type == "tool_finished" and e.data["name"] == "find_user_id_by_name_zip" and e.data["ok"]
               for e in signing_in)
    assert suggestion(signing_in) is None
    assert suggestion(chat("thanks")) is not None  # the engine had something to offer


def test_a_product_already_shown_as_a_card_is_never_suggested(store: Store, retriever: Any) -> None:
    control = suggestion(every_turn(store, retriever)("show me a backpack"))
    assert control is not None and control["kind"] == "complementary"  # what a backpack brings on a fresh chat
    chat = every_turn(store, retriever)
    shown = cards(chat(f"show me a {control['product']['name'].lower()}"))
    assert control["product"]["product_id"] in {card["product_id"] for card in shown}
    offered = suggestion(chat("show me a backpack"))
    assert offered is None or offered["product"]["product_id"] != control["product"]["product_id"]


def test_buy_again_skips_a_product_shown_earlier(store: Store, retriever: Any) -> None:
    chat = every_turn(store, retriever)
    chat(f"my email is {JAMES_EMAIL}")
    usual = suggestion(chat("thanks"))
    assert usual is not None and usual["kind"] == "buy_again"
    again = every_turn(store, retriever)
    shown = cards(again(f"show me a {usual['product']['name'].lower()}"))
    assert usual["product"]["product_id"] in {card["product_id"] for card in shown}
    again(f"my email is {JAMES_EMAIL}")
    offered = suggestion(again("thanks"))
    assert offered is None or offered["product"]["product_id"] != usual["product"]["product_id"]


SHOPPING = [BOOTS, "show me a backpack", "show me a t-shirt", "show me a jigsaw puzzle", "show me sunglasses",
            "show me a water bottle", "show me hiking boots in another size"]


def suggested_turns(chat: Callable[[str], list[Event]], script: list[str]) -> list[int]:
    return [i for i, text in enumerate(script) if suggestion(chat(text)) is not None]


def test_at_most_one_suggestion_in_n_turns(chat, store: Store, retriever: Any) -> None:  # type: ignore[no-untyped-def]
    eager = suggested_turns(every_turn(store, retriever), SHOPPING)
    assert len(eager) >= 5  # every turn has something to offer, so the spacing below is the rule's doing
    spaced = suggested_turns(chat, SHOPPING)
    assert spaced and spaced[0] == 0
    assert all(later - earlier >= 3 for earlier, later in pairwise(spaced))
    assert len(spaced) < len(eager)


def test_the_spacing_is_a_setting_with_a_documented_default(store: Store, retriever: Any) -> None:
    assert ProactiveEngine().every_turns == 3 and Settings().suggestion_every_turns == 3
    two = make_chat(Agent(store, retriever=retriever, proactive=ProactiveEngine(every_turns=2), identity=BENCHMARK))
    spaced = suggested_turns(two, SHOPPING)
    assert all(later - earlier >= 2 for earlier, later in pairwise(spaced))
    assert any(later - earlier == 2 for earlier, later in pairwise(spaced))


def test_the_spacing_survives_a_restart(store: Store, retriever: Any) -> None:
    first = Agent(store, retriever=retriever, proactive=ProactiveEngine(), identity=BENCHMARK)
    session, _ = first.open_session()
    assert suggestion(list(first.turn(session.id, BOOTS))) is not None
    restarted = Agent(store, retriever=retriever, proactive=ProactiveEngine(), identity=BENCHMARK)
    assert suggestion(list(restarted.turn(session.id, "show me a backpack"))) is None
    state = restarted.conversations.state(session.id)
    assert state.turns == 2 and state.suggested_turn == 1 and "product:7363354090" in state.cards_shown


def test_the_proactive_replay_reports_suggestions_per_conversation(store: Store, retriever: Any) -> None:
    from evals.proactive_replay import CONVERSATIONS, replay

    spaced = replay(Agent(store, retriever=retriever, proactive=ProactiveEngine(), identity=BENCHMARK))
    eager = replay(Agent(store, retriever=retriever, proactive=ProactiveEngine(every_turns=1), identity=BENCHMARK))
    print("proactive replay:", spaced, "every turn allowed:", eager)
    assert spaced["conversations"] == 4 and spaced["suggestions_per_conversation"] > 0
    assert spaced["suggestions_per_conversation"] < eager["suggestions_per_conversation"]
    longest = max(len(script) for script in CONVERSATIONS)
    assert spaced["suggestions_per_conversation"] <= -(-longest // 3)  # at most one in 3 turns
