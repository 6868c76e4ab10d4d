"""The agent with the real model (SmolLM2-135M-Instruct through llama.cpp) on scripted conversations.

Whatever the model writes, the policy holds and every reply is grounded: these tests assert on the store and
on the tool calls, and check each reply with the grounding checker.
"""

from __future__ import annotations

import pytest

from agent.events import Event
from agent.manager import Agent, openings_for
from tools.context import IdentityPolicy
from tools.store import Store

pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by scripts/bootstrap.sh")

JAMES_EMAIL = "james.li4495@example.com"
EMMA_EMAIL = "emma.smith3991@example.com"
EMMA_PENDING = "#W2417020"
NOAH_ORDER = "#W7678072"


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    from agent.llm.registry import load_chat_model

    return load_chat_model("llama_cpp", "smollm2-135m")


@pytest.fixture
def agent(store: Store, retriever, model) -> Agent:  # type: ignore[no-untyped-def]
    return Agent(store, model=model, retriever=retriever, identity=IdentityPolicy.BENCHMARK)


def converse(agent: Agent, *texts: str) -> list[list[Event]]:
    session, _ = agent.open_session()
    turns = [list(agent.turn(session.id, text)) for text in texts]
    evidence = agent.evidence(session.id)
    for events in turns:
        assert events[-1].type == "done"
        message = next(e.data for e in events if e.type == "message")
        assert agent.checker.violations(message["text"], evidence) == [], message["text"]
        assert "".join(e.data["text"] for e in events if e.type == "token") == message["text"]
    return turns


def tools(events: list[Event]) -> list[str]:
    return [e.data["name"] for e in events if e.type == "tool_started"]


def reply(events: list[Event]) -> str:
    return next(e.data["text"] for e in events if e.type == "message")


def status(store: Store, order_id: str) -> str:
    from tools.retail.data_model import Order

    with store.session() as session:
        return session.get(Order, order_id).status


def test_order_status_after_authentication(agent: Agent) -> None:
    ask, verify = converse(agent, "where is my order #W2611340?", f"it's {JAMES_EMAIL}")
    assert tools(ask) == [] and "verify your identity" in reply(ask)
    assert tools(verify) == ["find_user_id_by_email", "get_order_details"]
    assert "processed" in reply(verify) and "#W2611340" in reply(verify)


def test_cancel_that_needs_and_gets_confirmation(agent: Agent, store: Store) -> None:
    _, propose, confirm = converse(
        agent, f"hello, my email is {EMMA_EMAIL}", f"cancel {EMMA_PENDING} please, ordered by mistake", "yes"
    )
    assert any(e.type == "confirmation" for e in propose) and "cancel_pending_order" not in tools(propose)
    assert tools(confirm) == ["cancel_pending_order"]
    assert status(store, EMMA_PENDING) == "cancelled"


def test_cancel_refused_without_confirmation(agent: Agent, store: Store) -> None:
    *_, declined = converse(agent, f"I'm {EMMA_EMAIL}", f"cancel {EMMA_PENDING}, no longer needed", "no thanks")
    assert "cancel_pending_order" not in tools(declined)
    assert status(store, EMMA_PENDING) == "pending"


def test_another_customers_order_is_refused(agent: Agent) -> None:
    *_, other = converse(agent, f"my email is {JAMES_EMAIL}", f"show me order {NOAH_ORDER}")
    assert "not found" in reply(other)  # the same reply as for an unknown id (tests/test_hardening.py)
    assert "Noah" not in reply(other)


def test_product_search(agent: Agent) -> None:
    (search,) = converse(agent, "I'm looking for a mechanical keyboard")
    cards = next(e.data["products"] for e in search if e.type == "products")
    assert cards[0]["name"] == "Mechanical Keyboard"


def test_a_change_the_store_would_refuse_is_explained_not_proposed(agent: Agent, store: Store) -> None:
    """The gift card cannot pay the dearer boots: the store's check, rehearsed before any proposal, is said in the
    customer's words with the model's opening, and a yes afterwards runs nothing."""
    *_, refused, after = converse(
        agent, f"my email is {JAMES_EMAIL}", "exchange the hiking boots in #W4435622", "size 11 in leather", "yes"
    )
    assert "exchange_delivered_order_items" not in tools(refused) + tools(after)
    assert "I can't set that up." in reply(refused) and "balance" in reply(refused)
    assert status(store, "#W4435622") == "delivered"


def test_unplaced_messages_and_the_model_planner_never_crash(agent: Agent) -> None:
    for events in converse(agent, "what's the weather like on mars?", "asdf qwerty", "how are you today"):
        assert reply(events)


def test_the_model_opening_fits_the_kind_of_reply(agent: Agent) -> None:
    """The model picks the opening under a grammar among those for the reply's kind: never a claim of its own; and
    none in front of a reply that opens itself (one voice)."""
    greeting, search, ask = converse(agent, "hello!", "do you have a mechanical keyboard?", "cancel my order")
    assert openings_for("a greeting") == [] and reply(greeting).startswith("Hi!")  # it opens warmly itself
    opening = next(line for line in openings_for("products found") if reply(search).startswith(line + " "))
    assert "".join(e.data["text"] for e in search if e.type == "token").startswith(opening + " ")
    assert reply(ask).startswith("I can help with that.")  # it acknowledges itself: no opening in front of it


def test_a_turn_without_the_opening_sends_the_grounded_reply_alone(agent: Agent) -> None:
    """What the server does for a turn that already waited in line: the same reply, without the model's line."""
    session, _ = agent.open_session()
    events = list(agent.turn(session.id, "do you have a mechanical keyboard?", opening=False))
    text = reply(events)
    assert events[-1].type == "done" and any(e.type == "products" for e in events)
    assert text.startswith("I found")  # the grounded body itself, no line in front of it
    assert agent.checker.violations(text, agent.evidence(session.id)) == []


def test_the_server_sends_a_turn_that_waited_without_the_opening(agent: Agent) -> None:
    import asyncio
    import threading
    import time

    from server.turns import start_turn, take_slot

    slots = threading.BoundedSemaphore(1)

    async def served(waited_s: float) -> list[Event]:
        session, _ = agent.open_session()
        queue = start_turn(agent, session.id, "do you have a mechanical keyboard?", take_slot(slots), budget=60,
                           arrived=time.monotonic() - waited_s, opening_wait_limit=1.0)
        events = []
        while (event := await queue.get()) is not None:
            events.append(event)
        return events

    assert reply(asyncio.run(served(5.0))).startswith("I found")  # waited past the limit: the body alone
    fresh = reply(asyncio.run(served(0.0)))
    assert any(fresh.startswith(line + " ") for line in openings_for("products found"))
