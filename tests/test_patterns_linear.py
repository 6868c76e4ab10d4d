"""No customer message can stall the agent: every pattern that reads customer text, fed inputs built to make a
backtracking matcher blow up (evals/adversarial_text.py) up to the message limit, finishes within a generous
bound; so do the extractors, the reader and a whole turn. The bound is an alarm (the regex engine checks for
signals), far above the linear cost: a failure means catastrophic backtracking, not a slow machine. The worst
case's speed is measured by evals/pattern_benchmark.py, not here."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from evals.adversarial_text import MESSAGE_LIMIT, adversarial_inputs, customer_text_patterns, scan

BOUND_SECONDS = 1.0  # per pattern and input; the worst linear case takes ~50 ms at 2,000 characters
ISSUE_MESSAGE = "status of order #W" + "1" * 1960  # took 95 s in understand() before


class Stalled(Exception):
    pass


@contextmanager
def bounded(seconds: float) -> Iterator[None]:
    def expire(*_: Any) -> None:
        raise Stalled

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def stalls(work: Callable[[], object], seconds: float = BOUND_SECONDS) -> bool:
    try:
        with bounded(seconds):
            work()
    except Stalled:
        return True
    return False


@pytest.fixture(scope="module")
def patterns() -> dict[str, re.Pattern[str]]:
    return customer_text_patterns()


def test_the_bound_catches_catastrophic_backtracking() -> None:
    """The check can fail: a nested quantifier on a long run is stopped by the alarm."""
    assert stalls(lambda: scan(re.compile(r"(a+)+$"), "a" * 40 + "b"))
    assert not stalls(lambda: scan(re.compile(r"a+$"), "a" * MESSAGE_LIMIT + "b"))


def test_the_inventory_holds_every_module_pattern(patterns: dict[str, re.Pattern[str]]) -> None:
    for name in ("agent.reader.extract.ADDRESS", "agent.reader.extract.STREET_ADDRESS", "agent.reader.extract.ORDER_ID",
                 "agent.reader.extract.EMAIL", "agent.reader.reader.CLAUSE_BREAK", "agent.flows.address.SAME_AS_ORDER",
                 "agent.flows.cues.TOTAL_BACK", "agent.resolve.OTHERS_KEPT", "retrieval.filters._RANGE_RE"):
        assert name in patterns
    assert len(patterns) > 100


def test_the_inputs_reach_the_message_limit() -> None:
    lengths = [len(text) for text in adversarial_inputs()]
    assert max(lengths) == MESSAGE_LIMIT and len(lengths) > 400


def test_every_customer_text_pattern_finishes_on_adversarial_input(patterns: dict[str, re.Pattern[str]]) -> None:
    stalled = [f"{name} on {text[:30]!r}..." for name, pattern in patterns.items()
               for text in adversarial_inputs(pattern) if stalls(lambda p=pattern, t=text: scan(p, t))]
    assert stalled == []


ADVERSARIAL_MESSAGES = [
    ISSUE_MESSAGE,
    "status of order #W" + " " * 1960,
    ("1 a, " * 400)[:MESSAGE_LIMIT],
    ("1 main st " * 200)[:MESSAGE_LIMIT],
    ("order " * 400)[:MESSAGE_LIMIT],
    "my email is " + "a" * 1980,
    "same as order " + " " * 1980 + "w",
    ("I want to return the " * 100)[:MESSAGE_LIMIT],
]


@pytest.mark.parametrize("text", ADVERSARIAL_MESSAGES, ids=lambda text: text[:16])
def test_the_extractors_finish_on_adversarial_messages(text: str) -> None:
    from agent.reader import extract

    assert not stalls(lambda: extract.slots(text))


def test_the_issue_message_is_understood_and_names_no_order() -> None:
    from agent.nlu import understand

    result: list[Any] = []
    assert not stalls(lambda: result.append(understand(ISSUE_MESSAGE)), seconds=20)
    assert result[0].order_ids == [] and result[0].address is None


@pytest.mark.parametrize("text", ADVERSARIAL_MESSAGES[:5], ids=lambda text: text[:16])
def test_a_whole_turn_on_an_adversarial_message_finishes(store, retriever, text: str) -> None:  # type: ignore[no-untyped-def]
    """Everything a turn applies to the text (reader, flows, search query parsing, grounding), end to end."""
    from agent.manager import Agent

    agent = Agent(store, retriever=retriever)
    session, _ = agent.open_session()
    events: list[Any] = []
    assert not stalls(lambda: events.extend(agent.turn(session.id, text)), seconds=30)
    assert [event.type for event in events][-1] == "done"
