"""The customer's stream shows no internals: the scanner (evals/customer_stream.py) and its run over the 74 tau2
tasks played through the agent."""

from __future__ import annotations

from pathlib import Path

from agent.events import Event
from evals.base import EvalConfig
from evals.customer_stream import internals, scan_turn, tool_names
from evals.registry import load_evaluator

TOOLS = tool_names()


def test_the_scanner_finds_each_kind_of_internal() -> None:
    said = "my order #W2611340, item 1234567890 please"
    leaky = ['Already done: get_order_details(order_id="#W2611340")', '{"order_id": "#W2611340"}',
             "refunded to credit_card_7815826", "Customer james_li_5688", "item 9999999999 swapped"]
    found = [internals([text], said, TOOLS) for text in leaky]
    assert all(found), found
    clean = ["Order #W2611340 is processed. Tracking number: 357962501027.", "item 1234567890 is in your order",
             "The refund goes to visa card ending 6593."]
    assert internals(clean, said, TOOLS) == []


def test_the_servers_filter_is_what_is_scanned() -> None:
    """A proposal's action name is stripped by the server before the customer sees it; a message is shown whole."""
    proposal = Event("confirmation", {"action": "cancel_pending_order", "summary": "To confirm: cancel #W1."})
    assert scan_turn([proposal, Event("tool_started", {"name": "get_order_details"})], "", TOOLS) == []
    leak = Event("message", {"text": "I'm sorry, I couldn't do that: gift_card_0000001 is short."})
    assert [item["found"] for item in scan_turn([leak], "", TOOLS)] == ["id gift_card_0000001"]


def test_no_internal_reaches_the_customer_over_the_74_tasks(data_dir: Path, tmp_path: Path, home: Path) -> None:
    run = load_evaluator("tasks", EvalConfig(data_dir=data_dir, backend="none")).run(tmp_path / "out")
    runs = run.result.details["runs"]
    assert len(runs) == 74
    assert run.result.metrics["internals_shown"].value == 0, [r["internals_shown"] for r in runs
                                                              if r["internals_shown"]]
