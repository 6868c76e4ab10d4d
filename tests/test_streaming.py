"""Streaming and one voice: model-written text goes out in checked pieces, a piece that fails the grounding check is
never sent, and a reply never stacks two openers (apology, thanks, acknowledgement)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.grounding import Evidence, GroundingChecker
from agent.llm.base import GenerationOptions, GenerationStats, Message
from agent.manager import Agent
from agent.replies import templates
from agent.streaming import ClauseStream, json_string_so_far
from agent.voice import OPENING_KINDS, OPENINGS, opening_choices, openings_for, opens_itself
from server.app import create_app
from server.config import Settings
from tests.test_api import events_of
from tools.store import Store

# The test's own notion of an opener, independent of openings.toml: a sentence that apologises, thanks, greets or
# acknowledges before saying anything.
OPENER = re.compile(
    r"^(i'm sorry|sorry|i apologi[sz]e|unfortunately|thanks|thank you|you're welcome|hi|hello|sure|certainly"
    r"|of course|ok|okay|all ?right|no problem|got it|great|good question|i can help|i understand|happy to help)\b",
    re.I,
)
CALM = "where is my order?"
UPSET = [
    "This is ridiculous, the blender broke again and I'm going to sue you.",
    "I will call my lawyer about this order.",
    "This charge is fraudulent, I never made this purchase!",
    "The charger caught fire and burned my desk.",
]


@pytest.fixture
def settings(tmp_path: Path, store: Store) -> Settings:
    return Settings(home=tmp_path, database_url=store.url, backend="none", rate_limit_per_minute=1000)


# --- decoding a constrained line as it is written -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('"Sure, hap', ("Sure, hap", False)),
        (' "Of course!"', ("Of course!", True)),
        ('"I\'m sorry', ("I'm sorry", False)),
        ('"a \\"quoted\\" \\u00e9"', ('a "quoted" é', True)),
        ('"half an escape \\', ("half an escape ", False)),
        ("not json", ("", False)),
    ],
)
def test_the_line_being_written_is_decoded_as_far_as_it_goes(raw: str, expected: tuple[str, bool]) -> None:
    assert json_string_so_far(raw) == expected


def test_a_line_is_released_clause_by_clause_as_tokens_arrive() -> None:
    clauses = ClauseStream(lambda piece: True, allowed=("Sure, happy to help!", "Certainly."))
    released = [clauses.feed(text, complete) for text, complete in
                [("Su", False), ("Sure,", False), ("Sure, hap", False), ("Sure, happy to help!", True)]]
    assert released == [[], [], ["Sure,"], [" happy to help!"]]
    assert clauses.refused is None and clauses.sent == "Sure, happy to help!"


def test_a_piece_failing_the_grounding_check_is_never_released(store: Store) -> None:
    with store.session() as session:
        from sqlalchemy import select

        from tools.retail.data_model import Product

        names = list(session.scalars(select(Product.name)))
    checker = GroundingChecker(names)
    evidence = Evidence.from_results(['{"order_id": "#W2611340", "status": "processed"}'])
    clauses = ClauseStream(lambda piece: not checker.violations(piece, evidence))
    text = "Sure, order #W2611340 is processed. It cost $12.34, and ships today. Anything else?"
    sent = [piece for end in range(1, len(text) + 1) for piece in clauses.feed(text[:end], end == len(text))]
    assert sent == ["Sure,", " order #W2611340 is processed."]
    assert clauses.refused == " It cost $12.34,"  # the unsupported amount: refused, and nothing after it is sent


def test_a_line_that_leaves_the_allowed_lines_is_cut_and_completed_from_them() -> None:
    clauses = ClauseStream(lambda piece: True, allowed=("Sure, happy to help!",))
    assert clauses.feed("Sure, your order ships today!", True) == ["Sure,"]
    assert clauses.refused == " your order ships today!" and clauses.completion() == " happy to help!"


# --- one voice ---------------------------------------------------------------------------------------------------


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?:])\s", text.strip(), maxsplit=1)[0]


@pytest.mark.parametrize("customer", [CALM, *UPSET])
def test_no_canned_opening_stacks_on_a_body_that_opens_itself(customer: str) -> None:
    """Every canned opening × every canned reply body × every kind of reply: at most one opener."""
    gists = [*OPENING_KINDS, "something no flow names"]
    stacked = [
        (opening, key)
        for key, body in templates().items()
        for gist in gists
        for opening in opening_choices(gist, body, customer)
        if OPENER.match(first_sentence(body))
    ]
    assert stacked == []
    assert opening_choices("an error", templates()["tool_failed"], CALM) == []  # "I'm sorry... I'm sorry, ..."
    assert opening_choices("the action is done", templates()["identity_ok"], CALM) == []  # "Thanks... Thanks, ..."


def test_each_canned_opening_is_itself_one_opener() -> None:
    for kind, lines in OPENINGS.items():
        for line in lines:
            assert OPENER.match(line) and opens_itself(line), (kind, line)


@pytest.mark.parametrize("customer", UPSET)
def test_an_upset_customer_never_hears_a_cheerful_opening(customer: str) -> None:
    body = "Order #W2611340 is delivered."
    for gist in OPENING_KINDS:
        choices = opening_choices(gist, body, customer)
        assert not {"Certainly.", "Great question!", "Sure, happy to help!", "Of course!"} & set(choices), gist
    assert opening_choices("transferring to a person", "Transferring you now.", customer) == OPENINGS["upset"]


def test_a_calm_customer_gets_the_openings_of_the_kind_of_reply() -> None:
    body = "Order #W2611340 is delivered."
    assert opening_choices("products found", body, CALM) == openings_for("products found")


# --- through the agent and the API -------------------------------------------------------------------------------


class GrammarIgnoringModel:
    """A remote backend that ignores the JSON schema and writes its own line, token by token (the LangChain
    adapter to a server without structured output can): what it writes may claim a fact no tool gave."""

    name = "grammar-ignoring"
    last_stats = GenerationStats()

    def __init__(self, line: str) -> None:
        self.line = line

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        yield from re.findall(r"\S+\s*", json.dumps(self.line))


def turn_with(store: Store, retriever, line: str) -> tuple[list[str], dict[str, Any]]:  # type: ignore[no-untyped-def]
    agent = Agent(store, retriever=retriever, model=GrammarIgnoringModel(line))
    session, _ = agent.open_session()
    events = list(agent.turn(session.id, "do you have a mechanical keyboard?"))
    pieces = [e.data["text"] for e in events if e.type == "token"]
    message = next(e.data for e in events if e.type == "message")
    assert "".join(pieces) == message["text"]
    return pieces, message


def test_an_opening_that_fails_its_checks_is_never_sent(store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    pieces, message = turn_with(store, retriever, "Your order #W9999999 ships today for $12.34!")
    assert not [piece for piece in pieces if "W9999999" in piece or "12.34" in piece or "Your order" in piece]
    assert message["text"].startswith("I found ") and message["repaired"] is True  # the body alone


def test_once_one_line_is_left_it_is_sent_at_once(store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    """'Sure' can only become 'Sure, happy to help!' (under the grammar the rest is forced): it is sent at once,
    clause by clause, and whatever a backend ignoring the grammar goes on to write is never shown."""
    pieces, message = turn_with(store, retriever, "Sure, your order #W9999999 ships today for $12.34!")
    assert pieces[:2] == ["Sure,", " happy to help!"] and not [piece for piece in pieces if "W9999999" in piece]
    assert message["text"].startswith("Sure, happy to help! I found ")


def test_settled_names_the_line_once_only_one_is_left() -> None:
    clauses = ClauseStream(lambda piece: True, allowed=("Of course!", "Of course.", "Certainly."))
    assert clauses.settled("Of cou") is None and clauses.settled("C") == "Certainly."
    assert clauses.settled("Of course!") == "Of course!" and clauses.settled("Nope") is None


def test_a_model_reply_streams_in_pieces_through_the_api(settings: Settings, store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    """The real serving backend (SmolLM2-135M through llama.cpp): the opening goes out clause by clause before
    the grounded body, each piece its own `token` event, and the final message carries the whole text."""
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is installed by scripts/bootstrap.sh")
    from agent.llm.registry import load_chat_model

    agent = Agent(store, retriever=retriever, model=load_chat_model("llama_cpp", "smollm2-135m"))
    with TestClient(create_app(settings, agent=agent)) as client:
        session_id = client.post("/api/sessions", json={}).json()["session_id"]
        response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "do you have a water bottle?"})
    events = events_of(response)
    pieces = [data["text"] for name, data in events if name == "token"]
    message = next(data for name, data in events if name == "message")
    opening = next(line for line in openings_for("products found") if message["text"].startswith(line + " "))
    assert len(pieces) > 1 and "".join(pieces) == message["text"]
    opening_pieces = len(re.findall(r"[,.!?](?=\s|$)", opening))
    assert "".join(pieces[:opening_pieces]) == opening  # one piece per clause of the model's line
    assert "\n- " not in message["text"]  # the cards are shown: the text sums them up, it does not list them again
