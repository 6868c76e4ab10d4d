"""Risk control: the rules file is checked when loaded, each shipped rule holds the action it names (and lets the
same action through below its threshold or outside its window), a held action changes nothing in the store but
its record and audit entry, the customer hears what happens next without internals, and a staff member's own
action is refused where their role may not approve it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent.escalation.roles import StaffRole
from agent.manager import Agent
from agent.memory import ConversationStore
from agent.risk.guard import RiskGuard
from agent.risk.rules import DEFAULT_RULES, RiskRule, RiskRulesError, load_rules, parse_rule
from agent.risk.tables import RiskHold
from agent.toolcall import AGENT_TOOLS
from tools.context import IdentityPolicy, Role, StoreContext
from tools.retail.data_model import AuditEntry, Order, User
from tools.runner import ToolResult, ToolRunner
from tools.store import Store

RULES = {rule.name: rule for rule in load_rules()}
ADDRESS = {"address1": "12 Oak Street", "address2": "", "city": "Austin", "state": "TX", "country": "USA",
           "zip": "78701"}


class Desk:
    """A conversation of one customer, with the agent's runner under the shipped rules at a chosen time."""

    def __init__(self, store: Store, customer_id: str, rules: list[RiskRule] | None = None) -> None:
        self.store = store
        self.customer_id = customer_id
        self.now = datetime.now(UTC)
        self.guard = RiskGuard(rules if rules is not None else list(RULES.values()), clock=lambda: self.now)
        self.runner = ToolRunner(AGENT_TOOLS, guard=self.guard)
        self.session_id = ConversationStore(store).create(customer_id=customer_id, channel="test").id

    def call(self, tool: str, role: Role = Role.CUSTOMER, staff_role: str | None = None,
             **arguments: Any) -> ToolResult:
        ctx = StoreContext(self.store, role=role, customer_id=self.customer_id, session_id=self.session_id,
                           staff_id="sam" if role is Role.STAFF else None, staff_role=staff_role)
        ctx.approve(tool, self.runner.validate(tool, arguments), "To confirm: this.")
        return self.runner.call(ctx, tool, arguments)

    def order(self, order_id: str) -> dict[str, Any]:
        ctx = StoreContext(self.store, role=Role.SYSTEM)
        return json.loads(self.runner.call(ctx, "get_order_details", {"order_id": order_id}).content())

    def holds(self) -> list[RiskHold]:
        return holds(self.store)


def holds(store: Store) -> list[RiskHold]:
    with store.session() as db:
        return list(db.scalars(select(RiskHold).order_by(RiskHold.id)))


def status(store: Store, order_id: str) -> str:
    with store.session() as db:
        order = db.get(Order, order_id)
        assert order is not None
        return order.status


def return_all(desk: Desk, order_id: str) -> ToolResult:
    order = desk.order(order_id)
    return desk.call("return_delivered_order_items", order_id=order_id,
                     item_ids=[line["item_id"] for line in order["items"]],
                     payment_method_id=order["payment_history"][0]["payment_method_id"])


# --- the rules file -------------------------------------------------------------------------------------------


def test_the_shipped_rules_cover_each_signal() -> None:
    assert {rule.signal for rule in RULES.values()} == {"order_value", "repeated", "after", "failed_identity"}
    assert load_rules(DEFAULT_RULES) == list(RULES.values())


@pytest.mark.parametrize(("change", "named"), [
    ({"signal": "gut_feeling"}, "'signal'"),
    ({"actions": ["cancel_pending_order", "launch_rocket"]}, "launch_rocket"),
    ({"actions": []}, "'actions'"),
    ({"above": -1}, "'above'"),
    ({"above": True}, "'above'"),
    ({"approver": "owner"}, "'approver'"),
    ({"threshold": 3}, "unknown threshold"),
])
def test_a_bad_rule_is_refused_with_its_name_and_field(change: dict[str, Any], named: str) -> None:
    raw = {"name": "big order", "signal": "order_value", "above": 100.0, "actions": ["cancel_pending_order"]}
    with pytest.raises(RiskRulesError, match="big order") as error:
        parse_rule({**raw, **change})
    assert named in str(error.value)


def test_a_rule_missing_its_threshold_or_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RiskRulesError, match="missing allowed"):
        parse_rule({"name": "x", "signal": "repeated", "window_minutes": 5, "actions": ["modify_user_address"]})
    broken = tmp_path / "rules.toml"
    broken.write_text("[[rule]\nname = ")
    with pytest.raises(RiskRulesError, match="cannot read"):
        load_rules(broken)


# --- each rule --------------------------------------------------------------------------------------------------


def test_an_order_over_the_value_threshold_is_held_and_changes_nothing(store: Store, db_rows) -> None:  # type: ignore[no-untyped-def]
    desk = Desk(store, "liam_thomas_8833")  # #W3761872: $9,715.41 pending; #W1129578: $3,297.62 pending
    before = db_rows(store)
    held = desk.call("cancel_pending_order", order_id="#W3761872", reason="no longer needed")
    assert held.held and not held.ok
    assert status(store, "#W3761872") == "pending"
    changed = {table for table, rows in db_rows(store).items() if rows != before[table]}
    assert changed == {"risk_holds", "audit_log"}  # the hold and its audit entry, nothing else
    [hold] = desk.holds()
    assert (hold.tool, hold.rules, hold.approver, hold.summary) == (
        "cancel_pending_order", ["high-value order"], "supervisor", "To confirm: this.")
    with store.session() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "risk_hold")).one()
    assert entry.target_id == str(hold.id) and entry.actor == "customer:liam_thomas_8833"
    assert desk.call("cancel_pending_order", order_id="#W1129578", reason="no longer needed").ok  # under it


def test_a_third_return_within_a_day_is_held_and_a_later_one_runs(store: Store) -> None:
    desk = Desk(store, "chen_silva_7485")  # four delivered orders, each under the value threshold
    assert return_all(desk, "#W3069600").ok and return_all(desk, "#W2598834").ok
    third = return_all(desk, "#W8171054")
    assert third.held and status(store, "#W8171054") == "delivered"
    assert desk.holds()[0].rules == ["many returns in a short time"]
    desk.now += timedelta(minutes=RULES["many returns in a short time"].window_minutes + 1)
    assert return_all(desk, "#W9571698").ok  # the earlier returns are outside the window now


def test_a_third_address_change_is_held_for_an_agent_to_approve(store: Store) -> None:
    desk = Desk(store, "yusuf_rossi_9620")
    assert desk.call("modify_user_address", user_id="yusuf_rossi_9620", **ADDRESS).ok
    assert desk.call("modify_pending_order_address", order_id="#W6247578", **ADDRESS).ok
    third = desk.call("modify_user_address", user_id="yusuf_rossi_9620", **{**ADDRESS, "zip": "78702"})
    assert third.held
    with store.session() as db:
        assert db.get(User, "yusuf_rossi_9620").zip == "78701"  # the second change stands, the third waits
    assert desk.holds()[0].approver == "agent"  # the rule says an agent may approve it


def test_a_payment_change_right_after_an_address_change_is_held(store: Store) -> None:
    rule = RULES["payment change right after an address change"]
    desk = Desk(store, "harper_santos_8115", rules=[rule])  # #W6629830 pending, paid by card; has PayPal too
    order = desk.order("#W6629830")
    paid_with = order["payment_history"][0]["payment_method_id"]
    other = "paypal_2870241" if paid_with != "paypal_2870241" else "credit_card_7507679"
    assert desk.call("modify_pending_order_address", order_id="#W6629830", **ADDRESS).ok
    held = desk.call("modify_pending_order_payment", order_id="#W6629830", payment_method_id=other)
    assert held.held
    assert desk.order("#W6629830")["payment_history"][0]["payment_method_id"] == paid_with


def test_a_payment_change_alone_runs(store: Store) -> None:
    desk = Desk(store, "harper_santos_8115", rules=[RULES["payment change right after an address change"]])
    paid_with = desk.order("#W6629830")["payment_history"][0]["payment_method_id"]
    other = "paypal_2870241" if paid_with != "paypal_2870241" else "credit_card_7507679"
    assert desk.call("modify_pending_order_payment", order_id="#W6629830", payment_method_id=other).ok


def test_an_action_after_failed_identity_checks_is_held(store: Store, retriever: Any) -> None:
    agent = Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK)  # identified by email
    session, _ = agent.open_session()
    replies = [say(agent, session.id, text) for text in (
        "I want to cancel an order", "my email is nobody1@example.com", "sorry, it is nobody2@example.com",
        "yusuf.rossi7301@example.com", "order #W6247578, no longer needed", "yes")]
    assert status(store, "#W6247578") == "pending"
    [hold] = holds(store)
    assert hold.rules == ["action after failed identity checks"] and hold.customer_id == "yusuf_rossi_9620"
    assert hold.summary.startswith("To confirm: cancel order #W6247578")
    last = replies[-1]
    assert "review" in last and "Nothing has been changed" in last
    for internal in ("identity", "rule", "risk", "cancel_pending_order", str(hold.id), "supervisor"):
        assert internal not in last


def test_one_failed_identity_check_holds_nothing(store: Store, retriever: Any) -> None:
    agent = Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK)  # identified by email
    session, _ = agent.open_session()
    for text in ("I want to cancel an order", "my email is nobody1@example.com", "yusuf.rossi7301@example.com",
                 "order #W6247578, no longer needed", "yes"):
        say(agent, session.id, text)
    assert status(store, "#W6247578") == "cancelled" and holds(store) == []


def test_a_batch_goes_on_after_a_held_order(store: Store, retriever: Any) -> None:
    agent = Agent(store, retriever=retriever)
    session, _ = agent.open_session(customer_id="liam_thomas_8833")
    say(agent, session.id, "please cancel all my pending orders, I no longer need them")
    replies = [say(agent, session.id, "yes"), say(agent, session.id, "yes")]
    statuses = {order_id: status(store, order_id) for order_id in ("#W3761872", "#W1129578")}
    assert statuses == {"#W3761872": "pending", "#W1129578": "cancelled"}, replies
    assert [hold.arguments["order_id"] for hold in holds(store)] == ["#W3761872"]


# --- staff actions ---------------------------------------------------------------------------------------------


def test_a_staff_action_a_rule_would_hold_needs_the_rules_role(store: Store) -> None:
    desk = Desk(store, "liam_thomas_8833")
    refused = desk.call("cancel_pending_order", role=Role.STAFF, staff_role=StaffRole.AGENT,
                        order_id="#W3761872", reason="no longer needed")
    assert not refused.ok and not refused.held and "supervisor" in (refused.error or "")
    assert status(store, "#W3761872") == "pending" and desk.holds() == []
    done = desk.call("cancel_pending_order", role=Role.STAFF, staff_role=StaffRole.SUPERVISOR,
                     order_id="#W3761872", reason="no longer needed")
    assert done.ok and status(store, "#W3761872") == "cancelled"


def test_maintenance_jobs_and_an_agent_without_rules_are_not_held(store: Store, retriever: Any,
                                                                  tmp_path: Path) -> None:
    from agent.manager import AgentConfig

    desk = Desk(store, "liam_thomas_8833")
    ctx = StoreContext(store, role=Role.SYSTEM, require_confirmation=False)
    assert desk.runner.call(ctx, "cancel_pending_order", {"order_id": "#W1129578", "reason": "no longer needed"}).ok
    assert Agent(store, retriever=retriever, config=AgentConfig(risk_rules=None)).runner.guard is None
    empty = tmp_path / "no-rules.toml"
    empty.write_text("# this store holds nothing\n")
    agent = Agent(store, retriever=retriever, config=AgentConfig(risk_rules=empty))
    session, _ = agent.open_session(customer_id="liam_thomas_8833")
    say(agent, session.id, "please cancel order #W3761872, I no longer need it")
    say(agent, session.id, "yes")
    assert status(store, "#W3761872") == "cancelled" and holds(store) == []


# --- helpers ---------------------------------------------------------------------------------------------------


def say(agent: Agent, session_id: str, text: str) -> str:
    events = list(agent.turn(session_id, text))
    return next(e.data["text"] for e in events if e.type == "message")



def test_the_same_action_confirmed_again_while_it_waits_is_held_once(store: Store) -> None:
    desk = Desk(store, "liam_thomas_8833")
    for _ in range(2):
        assert desk.call("cancel_pending_order", order_id="#W3761872", reason="no longer needed").held
    assert len(desk.holds()) == 1


def test_the_retention_purge_keeps_a_waiting_hold_and_masks_a_decided_one(store: Store) -> None:
    from sqlalchemy import update

    from agent.memory import ChatSession
    from agent.privacy.records import purge

    every_change = parse_rule({"name": "hold all", "signal": "repeated", "allowed": 0, "window_minutes": 60,
                               "actions": ["modify_user_address"]})
    desk = Desk(store, "yusuf_rossi_9620", rules=[every_change])
    assert desk.call("modify_user_address", user_id="yusuf_rossi_9620", **ADDRESS).held
    then = datetime.now(UTC) - timedelta(days=200)
    with store.transaction() as db:
        db.execute(update(ChatSession).where(ChatSession.id == desk.session_id).values(updated_at=then))
    assert purge(store, 90).sessions == 0  # a person still has to decide it
    with store.transaction() as db:
        db.execute(update(RiskHold).values(status="rejected"))
    assert purge(store, 90).sessions == 1
    [hold] = desk.holds()
    assert hold.customer_id is None and "12 Oak Street" not in json.dumps(hold.arguments)
