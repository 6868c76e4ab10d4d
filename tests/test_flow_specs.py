"""The flows' spec table (agent/flows/spec.py) is complete and consistent with the tools and the reply texts."""

from __future__ import annotations

from agent.flows import NEEDS_ACCOUNT, SPECS, Turn
from agent.flows.spec import ACTIONS, BATCHED, NARROWABLE
from agent.nlu import Intent
from agent.replies import templates
from agent.toolcall import AGENT_TOOLS
from tools.runner import ToolKind, tool_kind


def test_every_request_has_one_spec_and_flow() -> None:
    assert set(SPECS) == set(Intent)
    assert all(spec.intent is intent for intent, spec in SPECS.items())
    flows = {intent: spec.flow for intent, spec in SPECS.items()}
    assert flows == Turn.FLOWS


def test_every_write_tool_is_one_requests_action_behind_identity() -> None:
    writes = {t.name for t in AGENT_TOOLS if tool_kind(t) is ToolKind.WRITE}
    assert set(ACTIONS) == writes
    for spec in SPECS.values():
        assert not spec.actions or spec.identity  # identity before any change to an account
        assert not spec.actions or (spec.statuses and "order" in spec.slots)


def test_the_specs_texts_are_in_the_replies() -> None:
    texts = templates()
    for spec in SPECS.values():
        assert not spec.verb or spec.verb in texts
        for action in spec.actions:
            assert action.confirm in texts and action.done in texts


def test_the_policy_sets_read_from_the_table() -> None:
    actions = {Intent.CANCEL, Intent.RETURN, Intent.EXCHANGE, Intent.CHANGE_ADDRESS, Intent.CHANGE_PAYMENT}
    assert actions | {Intent.ORDER_STATUS, Intent.ARRIVAL, Intent.ACCOUNT, Intent.PROBLEM} == NEEDS_ACCOUNT
    assert actions == BATCHED
    narrowable = {"exchange_delivered_order_items": Intent.EXCHANGE, "modify_pending_order_items": Intent.EXCHANGE,
                  "return_delivered_order_items": Intent.RETURN}
    assert narrowable == NARROWABLE
