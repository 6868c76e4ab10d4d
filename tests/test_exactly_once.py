"""Exactly-once actions (issue 21): a confirmed action and its receipt commit in one transaction, so a replayed yes
reports what was done instead of acting again; the reply and the session state commit together; and a yes turn
killed (SIGKILL) at each fault point, then continued after a restart, changes the order exactly once and keeps
every message the customer sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agent.manager import Agent
from evals.kill_runs import load_scenarios, run_point
from evals.live_server import free_port, serve, wait_ready
from tools.context import IdentityPolicy, StoreContext
from tools.faults import POINTS
from tools.receipts import ActionReceipt
from tools.retail.data_model import AuditEntry, Order
from tools.runner import ToolRunner
from tools.store import Store

SOFIA = "sofia_rossi_8776"
SOFIA_PENDING = "#W5918442"
EMMA_EMAIL = "emma.smith3991@example.com"
MOVE = "please change the shipping address of order #W2417020 to 1200 Oak Street, Austin, TX 78701"


def count(store: Store, model: type, *where) -> int:  # type: ignore[no-untyped-def]
    with store.session() as db:
        return db.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_replayed_approval_acts_once_and_reports_the_recorded_result(
        store: Store, runner: ToolRunner, make_ctx: Callable[..., StoreContext]) -> None:
    arguments = {"order_id": SOFIA_PENDING, "reason": "no longer needed"}
    results = []
    for _ in range(2):  # the same proposal approved twice, as after a crash: two contexts, two turns
        ctx = make_ctx(SOFIA)
        ctx.approve("cancel_pending_order", arguments, key="proposal-1")
        results.append(runner.call(ctx, "cancel_pending_order", arguments))
    first, second = results
    assert first.ok and not first.replayed and second.ok and second.replayed
    assert second.output["status"] == first.output["status"] == "cancelled"
    assert count(store, AuditEntry, AuditEntry.action == "cancel_pending_order") == 1
    assert count(store, ActionReceipt) == 1


def test_a_new_proposal_is_a_new_action(store: Store, runner: ToolRunner,
                                        make_ctx: Callable[..., StoreContext]) -> None:
    """Another key is another action: it runs, and the store's own rules answer (a cancelled order stays so)."""
    arguments = {"order_id": SOFIA_PENDING, "reason": "no longer needed"}
    for key in ("proposal-1", "proposal-2"):
        ctx = make_ctx(SOFIA)
        ctx.approve("cancel_pending_order", arguments, key=key)
        result = runner.call(ctx, "cancel_pending_order", arguments)
    assert not result.ok and "cancel" in (result.error or "")
    assert count(store, AuditEntry, AuditEntry.action == "cancel_pending_order") == 1


def test_a_failed_action_leaves_no_receipt(store: Store, runner: ToolRunner,
                                           make_ctx: Callable[..., StoreContext]) -> None:
    arguments = {"order_id": "#W0000000", "reason": "no longer needed"}
    ctx = make_ctx(SOFIA)
    ctx.approve("cancel_pending_order", arguments, key="proposal-1")
    assert not runner.call(ctx, "cancel_pending_order", arguments).ok
    assert count(store, ActionReceipt) == 0


def test_the_yes_sent_twice_changes_the_order_once(store: Store) -> None:
    """The proposal's id travels with it: a second yes to the same proposal (a retry before the state was saved)
    is answered from the receipt."""
    agent = Agent(store, identity=IdentityPolicy.BENCHMARK)  # signed in by email, tau2's rule
    session, _ = agent.open_session()
    list(agent.turn(session.id, f"my email is {EMMA_EMAIL}"))
    list(agent.turn(session.id, MOVE))
    pending = agent.conversations.state(session.id).pending
    assert pending and pending["id"]
    list(agent.turn(session.id, "yes"))
    state = agent.conversations.state(session.id)
    state.pending = pending  # as if the first yes's state had never been saved
    agent.conversations.save_state(session.id, state)
    events = list(agent.turn(session.id, "yes"))
    reply = next(e.data["text"] for e in events if e.type == "message")
    assert "#W2417020" in reply and "Error" not in reply
    assert count(store, AuditEntry, AuditEntry.action == "modify_pending_order_address") == 1
    with store.session() as db:
        assert db.get(Order, "#W2417020").address1 == "1200 Oak Street"


@pytest.mark.parametrize("point", POINTS)
def test_a_yes_killed_at_each_point_acts_exactly_once(point: str, store_template: Path, tmp_path: Path) -> None:
    scenario = load_scenarios()[POINTS.index(point) % len(load_scenarios())]
    run = run_point(store_template, tmp_path, scenario, point)
    assert run.killed, "the child was not killed at the point: the point is never reached"
    assert (run.effects, run.receipts, run.order_as_audited) == (1, 1, True), run
    assert run.lost == [], run
    assert scenario.order_id in run.reply, run


def test_a_worker_that_loses_the_race_rolls_its_action_back(
        store: Store, runner: ToolRunner, make_ctx: Callable[..., StoreContext],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers with the same approval, the second not yet seeing the first's receipt: its receipt collides,
    its whole transaction (the action's second audit entry included) rolls back, and it reports the first's."""
    from tools import receipts

    arguments = {"order_id": "#W2417020", "address1": "1200 Oak Street", "address2": "", "city": "Austin",
                 "state": "TX", "country": "USA", "zip": "78701"}
    results = []
    for blind in (False, True):
        if blind:
            monkeypatch.setattr(receipts, "recorded", _blind_once(receipts.recorded))
        ctx = make_ctx("emma_smith_8564")
        ctx.approve("modify_pending_order_address", arguments, key="proposal-1")
        results.append(runner.call(ctx, "modify_pending_order_address", arguments))
    assert [r.ok for r in results] == [True, True] and results[1].replayed
    assert count(store, AuditEntry, AuditEntry.action == "modify_pending_order_address") == 1


def _blind_once(recorded):  # type: ignore[no-untyped-def]
    calls = []

    def blind(*args):  # type: ignore[no-untyped-def]
        calls.append(args)
        return None if len(calls) == 1 else recorded(*args)

    return blind


# --- the same through a real server: `shopagent serve`, killed in the middle of the yes ------------------------

def _send(base: str, session_id: str, text: str) -> str:
    return httpx.post(f"{base}/api/sessions/{session_id}/messages", json={"text": text}, timeout=60).text


@pytest.mark.slow
def test_a_real_server_killed_after_the_effect_acts_once_when_the_yes_is_sent_again(tmp_path: Path) -> None:
    port = free_port()
    base, home = f"http://127.0.0.1:{port}", tmp_path / "home"
    # Signed in by email (tau2's rule): the test is about the yes, not sign-in; the fault point is reached only by
    # a confirmed action.
    server = serve(home, port, IDENTITY="benchmark", FAULT_POINT="effect_committed")
    try:
        wait_ready(base, server)
        session_id = httpx.post(f"{base}/api/sessions", json={}).json()["session_id"]
        _send(base, session_id, f"my email is {EMMA_EMAIL}")
        assert "To confirm" in _send(base, session_id, MOVE)
        with pytest.raises(httpx.TransportError):  # the server dies under the request
            _send(base, session_id, "yes")
        assert server.wait(timeout=30) == -9
    finally:
        server.kill()
    server = serve(home, port, IDENTITY="benchmark")
    try:
        wait_ready(base, server)
        history = httpx.get(f"{base}/api/sessions/{session_id}/messages").json()["messages"]
        assert history[-1]["role"] == "user" and history[-1]["text"] == "yes"  # stored, never answered
        assert "#W2417020" in _send(base, session_id, "yes")  # the client sends it again
        history = httpx.get(f"{base}/api/sessions/{session_id}/messages").json()["messages"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    said = [m["text"] for m in history if m["role"] == "user"]
    assert said == [f"my email is {EMMA_EMAIL}", MOVE, "yes", "yes"]
    store = Store(f"sqlite:///{home / 'store.db'}")
    try:
        assert count(store, AuditEntry, AuditEntry.action == "modify_pending_order_address") == 1
        with store.session() as db:
            assert db.get(Order, "#W2417020").address1 == "1200 Oak Street"
    finally:
        store.dispose()
