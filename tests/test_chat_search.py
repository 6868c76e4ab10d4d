"""Product search in the chat (agent/searching.py): the customer's words to the retriever, the items meeting every
constraint first, an honest reply when none does, follow-ups on the cards just shown, no identity prompt for a
catalogue question, no raw tool error; and the `chatsearch` evaluation suite on a few queries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.events import Event
from agent.llm.base import GenerationOptions, GenerationStats, Message
from agent.manager import Agent, AgentConfig
from agent.proactive import ProactiveEngine
from evals.base import EvalConfig
from evals.registry import load_evaluator
from tools.store import Store

FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"


@pytest.fixture
def agent(store: Store, retriever) -> Agent:  # type: ignore[no-untyped-def]
    return Agent(store, retriever=retriever, proactive=ProactiveEngine())  # suggestions on, as the server has them


@pytest.fixture
def chat(agent: Agent) -> Callable[[str], list[Event]]:
    session, _ = agent.open_session()
    return lambda text: list(agent.turn(session.id, text))


def cards(events: list[Event]) -> list[dict[str, Any]]:
    return next((e.data["products"] for e in events if e.type == "products"), [])


def reply(events: list[Event]) -> str:
    return next(e.data["text"] for e in events if e.type == "message")


def items_of(demo_db: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [item for product in demo_db["products"].values() if product["name"] == name
            for item in product["variants"].values()]


# --- what the customer asked for, first -------------------------------------------------------------------------


def test_the_items_meeting_every_constraint_come_first(chat) -> None:
    events = chat("do you have waterproof hiking boots?")
    shown = cards(events)
    assert shown and all(c["name"] == "Hiking Boots" and c["options"]["waterproof"] == "yes" for c in shown)
    assert "Nothing matches" not in reply(events)


def test_nothing_meeting_every_constraint_is_said_with_the_closest(chat) -> None:
    events = chat("waterproof hiking boots size 13")  # no boots come in size 13
    assert "Nothing matches every detail you gave (size: 13)" in reply(events)
    shown = cards(events)
    assert shown and all(c["name"] == "Hiking Boots" and c["options"]["waterproof"] == "yes" for c in shown)


def test_a_price_no_product_meets_shows_the_product_nearest_the_price(chat, demo_db) -> None:
    events = chat("espresso machine under $1000")  # the cheapest costs over $2,700
    assert "Nothing matches every detail you gave (under $1000.00)" in reply(events)
    shown = cards(events)
    assert shown and {c["name"] for c in shown} == {"Espresso Machine"}
    assert float(shown[0]["price"]) == min(item["price"] for item in items_of(demo_db, "Espresso Machine"))


def test_the_closest_are_of_the_product_named_not_one_sharing_a_word(chat) -> None:
    events = chat("a smart watch for under 150 dollars")  # smart watches cost over $300, thermostats over $220
    assert "Nothing matches every detail you gave" in reply(events)
    assert {c["name"] for c in cards(events)} == {"Smart Watch"}


def test_the_words_are_not_rewritten(chat, agent: Agent) -> None:
    events = chat("15 inch laptop in space grey")
    call = next(e.data for e in events if e.type == "tool_started")
    assert call["name"] == "search_products" and call["arguments"]["query"] == "15 inch laptop in space grey"
    first = cards(events)[0]
    assert first["name"] == "Laptop" and first["options"]["screen size"] == "15-inch"
    assert first["options"]["color"] == "space grey"


# --- follow-ups on the cards just shown -------------------------------------------------------------------------


def test_the_9_bar_one_after_espresso_machines(chat) -> None:
    assert cards(chat("show me espresso machines"))
    events = chat("and the 9 bar one?")
    shown = cards(events)
    assert shown and all(c["name"] == "Espresso Machine" and c["options"]["pressure"] == "9 bar" for c in shown)


def test_which_is_cheapest_sorts_what_was_found(chat, demo_db) -> None:
    assert cards(chat("i need a tablet"))
    shown = cards(chat("which is cheapest?"))
    prices = [float(c["price"]) for c in shown]
    assert {c["name"] for c in shown} == {"Tablet"} and prices == sorted(prices)
    assert prices[0] == min(item["price"] for item in items_of(demo_db, "Tablet"))


def test_the_second_one_is_the_second_card(chat) -> None:
    first = cards(chat("looking for hiking boots"))
    assert len(first) >= 2
    assert cards(chat("the second one")) == [first[1]]


def test_another_product_is_a_new_search_not_a_follow_up(chat) -> None:
    assert cards(chat("headphones please"))
    shown = cards(chat("do you have red sneakers?"))
    assert shown and all(c["name"] == "Sneakers" for c in shown)


# --- what must never happen -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["can I order a yoga mat?", "do you deliver espresso machines?"])
def test_a_catalogue_question_never_asks_for_identity(chat, text: str) -> None:
    events = chat(text)
    assert "verify your identity" not in reply(events)
    assert cards(events)


@pytest.mark.parametrize("text", ["where is my order?", "when will my yoga mat arrive?",
                                  "I just received my tablet and it was damaged when I opened the package."])
def test_an_order_question_still_asks_for_identity(chat, text: str) -> None:
    events = chat(text)
    assert "verify your identity" in reply(events) and not cards(events)


class ProposesOneCall:
    """A model proposing one fixed tool call: those whose error text once reached a customer."""

    name = "fake"
    last_stats = GenerationStats()
    tool_tuned = True  # offered every tool, as the fine-tuned model is

    def __init__(self, call: dict[str, Any]) -> None:
        self.call = call

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        yield json.dumps(self.call)


@pytest.mark.parametrize(("call", "error_words"), [
    ({"tool": "recommend_products", "arguments": {"strategy": "complementary"}}, "needs the products"),
    ({"tool": "calculate", "arguments": {"expression": "100 ft"}}, "may contain only numbers"),
])
def test_no_raw_tool_error_reaches_the_customer(store: Store, retriever, call: dict[str, Any],  # type: ignore[no-untyped-def]
                                                 error_words: str) -> None:
    agent = Agent(store, model=ProposesOneCall(call), retriever=retriever,
                  config=AgentConfig(opening_line=False, escalation=False))
    session, _ = agent.open_session()
    events = list(agent.turn(session.id, "are you a robot?"))  # small talk has no flow: the planner answers it
    assert [e.data["name"] for e in events if e.type == "tool_started"][:1] == [call["tool"]]  # it was called
    text = reply(events)
    assert error_words not in text and call["tool"] not in text and "product_ids" not in text


def test_a_suggestion_is_never_among_the_result_cards(chat) -> None:
    """Whatever is suggested beside search results is neither one of them nor a card shown before."""
    seen: set[str] = set()
    for text in ("show me backpacks", "which is cheapest?", "any water bottles?", "the second one"):
        events = chat(text)
        shown = {c["item_id"] for c in cards(events)}
        for suggestion in (e.data for e in events if e.type == "suggestion"):
            assert (suggestion.get("product") or {}).get("item_id") not in shown | seen
        seen |= shown
    assert seen  # the searches showed cards


# --- the evaluation suite ---------------------------------------------------------------------------------------


def test_the_suite_on_a_few_queries(tmp_path: Path, home: Path) -> None:
    queries = tmp_path / "queries"
    queries.mkdir()
    source = Path(__file__).parent.parent / "evals" / "data" / "chat_search"
    wanted = {"en.jsonl": ("boots-waterproof", "followup-9-bar", "nomatch-boots-13"),
              "en_heldout.jsonl": ("h-rgb-keyboard",)}
    for name, ids in wanted.items():
        lines = [line for line in (source / name).read_text().splitlines() if json.loads(line)["id"] in ids]
        (queries / name).write_text("\n".join(lines) + "\n")
    config = EvalConfig(data_dir=FIXTURE_DATA, backend="none", options={"queries": str(queries)})
    run = load_evaluator("chatsearch", config).run(tmp_path / "out")
    metrics = {name: m.value for name, m in run.result.metrics.items()}
    assert metrics["chat_hit@3"] == 1.0 and metrics["heldout_chat_hit@3"] == 1.0
    runs = run.result.details["runs"]["en"]
    assert [len(r["cli_items"]) for r in runs] == [3, 3, 3]  # the retriever alone, side by side
    assert metrics["cli_hit@3"] == pytest.approx(sum(r["cli_hit"] for r in runs) / 3)
    assert metrics["no_match_honest"] == 1.0 and metrics["false_no_match"] == 0
    assert metrics["identity_asked"] == metrics["not_understood"] == metrics["raw_errors"] == 0
    report = (tmp_path / "out" / "chatsearch" / "report.md").read_text()
    assert "`en.jsonl`: 3 queries" in report and "![hit_at_3.png](hit_at_3.png)" in report
