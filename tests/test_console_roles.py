"""Staff roles, ticket assignment and held actions through the console API, with an agent's and a
supervisor's token: an agent reads and works its own and unassigned tickets, a supervisor all; a held action is
approved by the role its rule names, runs exactly once as the approver, and the customer hears the decision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.escalation.staff import StaffDirectory
from agent.manager import Agent
from agent.risk.tables import RiskHold
from server.app import create_app
from server.config import Settings
from tools.retail.data_model import AuditEntry, Order
from tools.store import Store

PASSWORD = "correct horse battery"
BIG_ORDER, SMALL_ORDER = "#W3761872", "#W1129578"  # liam_thomas_8833's pending orders: $9,715.41 and $3,297.62


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever)


@pytest.fixture
def client(tmp_path: Path, store: Store, agent: Agent) -> Iterator[TestClient]:
    directory = StaffDirectory(store)
    directory.add("ari", PASSWORD, "Ari")  # an agent (the default role)
    directory.add("bo", PASSWORD, "Bo", role="agent")
    directory.add("sam", PASSWORD, "Sam", role="supervisor")
    settings = Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="test-secret",
                        rate_limit_per_minute=10_000)
    with TestClient(create_app(settings, agent=agent)) as test_client:
        yield test_client


def sign_in(client: TestClient, staff_id: str) -> dict[str, str]:
    response = client.post("/api/console/login", json={"staff_id": staff_id, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def held_cancel(agent: Agent) -> str:
    """A customer confirms cancelling their high-value order: held for a supervisor."""
    session, _ = agent.open_session(customer_id="liam_thomas_8833")
    list(agent.turn(session.id, f"please cancel order {BIG_ORDER}, I no longer need it"))
    list(agent.turn(session.id, "yes"))
    return session.id


def escalated(agent: Agent) -> int:
    session, _ = agent.open_session()
    list(agent.turn(session.id, "I want to talk to a person"))
    ticket = agent.escalation.desk.open_ticket(session.id)
    assert ticket is not None
    return ticket.id


def order_status(store: Store, order_id: str) -> str:
    with store.session() as db:
        return db.get(Order, order_id).status


def notices(client: TestClient, session_id: str) -> list[str]:
    stream = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0})
    return [json.loads(line[5:])["text"] for line in stream.text.splitlines() if line.startswith("data:")]


# --- roles ------------------------------------------------------------------------------------------------------


def test_sign_in_says_the_role(client: TestClient) -> None:
    assert client.get("/api/console/me", headers=sign_in(client, "ari")).json()["role"] == "agent"
    assert client.get("/api/console/me", headers=sign_in(client, "sam")).json()["role"] == "supervisor"


# --- tickets: assignment and who may read and work them -----------------------------------------------------------


def test_an_agent_sees_and_works_its_own_and_unassigned_tickets_only(client: TestClient, agent: Agent) -> None:
    ari, bo, sam = sign_in(client, "ari"), sign_in(client, "bo"), sign_in(client, "sam")
    mine, free = escalated(agent), escalated(agent)
    assert client.post(f"/api/console/tickets/{mine}/claim", headers=ari).json()["staff_id"] == "ari"

    assert {t["id"] for t in client.get("/api/console/tickets", headers=bo).json()["tickets"]} == {free}
    assert {t["id"] for t in client.get("/api/console/tickets", headers=ari).json()["tickets"]} == {mine, free}
    assert {t["id"] for t in client.get("/api/console/tickets", headers=sam).json()["tickets"]} == {mine, free}
    assert client.get(f"/api/console/tickets/{mine}", headers=bo).status_code == 403
    assert client.post(f"/api/console/tickets/{mine}/take", headers=bo).status_code == 403
    assert client.post(f"/api/console/tickets/{mine}/claim", headers=bo).status_code == 403
    assert agent.escalation.desk.get(mine).staff_id == "ari"  # nothing changed by the refusals

    assert client.get(f"/api/console/tickets/{mine}", headers=sam).status_code == 200
    assert client.post(f"/api/console/tickets/{mine}/take", headers=ari).json()["status"] == "active"


def test_only_a_supervisor_assigns_and_may_move_a_ticket(client: TestClient, agent: Agent) -> None:
    ari, bo, sam = sign_in(client, "ari"), sign_in(client, "bo"), sign_in(client, "sam")
    ticket = escalated(agent)
    assert client.post(f"/api/console/tickets/{ticket}/assign", json={"staff_id": "bo"},
                       headers=ari).status_code == 403
    assert client.get("/api/console/staff", headers=ari).status_code == 403
    assert {s["staff_id"] for s in client.get("/api/console/staff", headers=sam).json()["staff"]} == {
        "ari", "bo", "sam"}
    assert client.post(f"/api/console/tickets/{ticket}/assign", json={"staff_id": "nobody"},
                       headers=sam).status_code == 404
    assigned = client.post(f"/api/console/tickets/{ticket}/assign", json={"staff_id": "bo"}, headers=sam)
    assert assigned.json()["staff_id"] == "bo" and assigned.json()["status"] == "waiting"
    assert client.post(f"/api/console/tickets/{ticket}/take", headers=ari).status_code == 403
    assert client.post(f"/api/console/tickets/{ticket}/take", headers=bo).json()["status"] == "active"
    # An active ticket moves to its new owner, who can then reply; the old one cannot.
    client.post(f"/api/console/tickets/{ticket}/assign", json={"staff_id": "ari"}, headers=sam)
    assert client.post(f"/api/console/tickets/{ticket}/messages", json={"text": "Hi, Ari here."},
                       headers=ari).status_code == 201
    assert client.post(f"/api/console/tickets/{ticket}/messages", json={"text": "Bo here."},
                       headers=bo).status_code == 409


# --- held actions ----------------------------------------------------------------------------------------------


def test_a_supervisor_approves_a_held_action_and_it_runs_exactly_once(client: TestClient, agent: Agent,
                                                                      store: Store) -> None:
    session_id = held_cancel(agent)
    ari, sam = sign_in(client, "ari"), sign_in(client, "sam")
    [hold] = client.get("/api/console/holds", headers=ari).json()["holds"]
    assert hold["tool"] == "cancel_pending_order" and hold["rules"] == ["high-value order"]
    assert hold["can_decide"] is False
    assert client.get("/api/console/holds", headers=sam).json()["holds"][0]["can_decide"] is True

    assert client.post(f"/api/console/holds/{hold['id']}/approve", headers=ari).status_code == 403
    assert order_status(store, BIG_ORDER) == "pending"

    approved = client.post(f"/api/console/holds/{hold['id']}/approve", headers=sam)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "sam"
    assert order_status(store, BIG_ORDER) == "cancelled"
    assert client.post(f"/api/console/holds/{hold['id']}/approve", headers=sam).status_code == 409
    assert client.post(f"/api/console/holds/{hold['id']}/reject", headers=sam).status_code == 409
    with store.session() as db:
        entries = list(db.scalars(select(AuditEntry).where(AuditEntry.session_id == session_id)
                                  .order_by(AuditEntry.id)))
    assert [(e.action, e.actor) for e in entries] == [
        ("risk_hold", "customer:liam_thomas_8833"), ("risk_hold_approved", "staff:sam"),
        ("cancel_pending_order", "staff:sam")]
    told = notices(client, session_id)[-1]
    assert told.startswith("A member of our team has approved your request.") and BIG_ORDER in told
    assert client.get("/api/console/holds", headers=sam).json()["holds"] == []


def test_a_rejected_hold_changes_nothing_and_tells_the_customer(client: TestClient, agent: Agent,
                                                                store: Store) -> None:
    session_id = held_cancel(agent)
    sam = sign_in(client, "sam")
    hold_id = client.get("/api/console/holds", headers=sam).json()["holds"][0]["id"]
    rejected = client.post(f"/api/console/holds/{hold_id}/reject", headers=sam)
    assert rejected.json()["status"] == "rejected"
    assert order_status(store, BIG_ORDER) == "pending"
    assert client.post(f"/api/console/holds/{hold_id}/approve", headers=sam).status_code == 409
    assert order_status(store, BIG_ORDER) == "pending"
    told = notices(client, session_id)[-1]
    assert "could not approve it" in told and BIG_ORDER in told and "high-value" not in told


def test_an_approval_the_store_refuses_now_is_recorded_as_failed(client: TestClient, agent: Agent,
                                                                 store: Store) -> None:
    session_id = held_cancel(agent)
    with store.transaction() as db:  # the order moved on meanwhile (the warehouse processed it)
        db.get(Order, BIG_ORDER).status = "processed"
    sam = sign_in(client, "sam")
    hold_id = client.get("/api/console/holds", headers=sam).json()["holds"][0]["id"]
    failed = client.post(f"/api/console/holds/{hold_id}/approve", headers=sam).json()
    assert failed["status"] == "failed" and "pending" in failed["outcome"]
    assert order_status(store, BIG_ORDER) == "processed"
    assert "could not be completed" in notices(client, session_id)[-1]


def test_the_console_action_button_cannot_skip_a_supervisor(client: TestClient, agent: Agent,
                                                            store: Store) -> None:
    session, _ = agent.open_session(customer_id="liam_thomas_8833")
    list(agent.turn(session.id, "I want to talk to a person"))
    ticket = agent.escalation.desk.open_ticket(session.id).id
    ari, sam = sign_in(client, "ari"), sign_in(client, "sam")
    client.post(f"/api/console/tickets/{ticket}/take", headers=ari)
    cancel = {"tool": "cancel_pending_order", "arguments": {"order_id": BIG_ORDER, "reason": "no longer needed"}}
    refused = client.post(f"/api/console/tickets/{ticket}/actions", json=cancel, headers=ari).json()
    assert refused["ok"] is False and "supervisor" in refused["error"]
    assert order_status(store, BIG_ORDER) == "pending"
    small = {"tool": "cancel_pending_order", "arguments": {"order_id": SMALL_ORDER, "reason": "no longer needed"}}
    assert client.post(f"/api/console/tickets/{ticket}/actions", json=small, headers=ari).json()["ok"] is True
    client.post(f"/api/console/tickets/{ticket}/assign", json={"staff_id": "sam"}, headers=sam)
    done = client.post(f"/api/console/tickets/{ticket}/actions", json=cancel, headers=sam).json()
    assert done["ok"] is True and order_status(store, BIG_ORDER) == "cancelled"
    with store.session() as db:
        assert db.scalars(select(RiskHold)).first() is None  # staff actions are refused or run, never held


def test_unknown_holds_are_404(client: TestClient) -> None:
    sam = sign_in(client, "sam")
    assert client.post("/api/console/holds/999/approve", headers=sam).status_code == 404
    assert client.post("/api/console/holds/999/reject", headers=sam).status_code == 404
    assert client.get("/api/console/holds").status_code == 401


def test_the_cli_adds_staff_with_a_role_and_changes_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from server.cli import app
    from server.config import get_settings

    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path))
    monkeypatch.delenv("SHOPAGENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        cli = CliRunner()
        added = cli.invoke(app, ["escalation", "add-staff", "sam", "--role", "supervisor", "--password", PASSWORD])
        assert added.exit_code == 0 and "supervisor" in added.output, added.output
        bad_role = cli.invoke(app, ["escalation", "add-staff", "x1", "--role", "boss", "--password", PASSWORD])
        assert bad_role.exit_code == 2
        assert cli.invoke(app, ["escalation", "set-role", "sam", "--role", "agent"]).exit_code == 0
        assert cli.invoke(app, ["escalation", "set-role", "nobody", "--role", "agent"]).exit_code == 2
        cli_store = Store(f"sqlite:///{tmp_path / 'store.db'}")
        directory = StaffDirectory(cli_store)
        assert directory.get("sam").role == "agent" and directory.get("x1") is None

        from agent.memory import ConversationStore

        session_id = ConversationStore(cli_store).create(customer_id="ann_1", channel="test").id
        with cli_store.transaction() as db:
            db.add(RiskHold(session_id=session_id, customer_id="ann_1", tool="cancel_pending_order",
                            arguments={"order_id": "#W1"}, rules=["high-value order"], approver="supervisor"))
            db.add(RiskHold(session_id=session_id, customer_id="bob_2", tool="modify_user_address", status="rejected"))
        from agent.escalation import cli as escalation_cli

        monkeypatch.setattr(escalation_cli.console, "width", 200)  # a table row on one line
        listed = cli.invoke(app, ["escalation", "holds"])
        assert listed.exit_code == 0 and "ann_1" in listed.output and "high-value order" in listed.output
        assert "bob_2" not in listed.output  # decided ones are not waiting
    finally:
        get_settings.cache_clear()


def test_two_concurrent_approvals_run_the_action_once(client: TestClient, agent: Agent, store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from agent.escalation.console import ConsoleService
    from agent.escalation.tickets import TicketError

    held_cancel(agent)
    sam = StaffDirectory(store).get("sam")
    console = ConsoleService(agent)
    hold_id = console.holds.waiting(sam)[0]["id"]

    def approve() -> str:
        try:
            return console.holds.approve(hold_id, sam).status
        except TicketError:
            return "refused"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(lambda _: approve(), range(2)))
    assert outcomes == ["approved", "refused"]
    with store.session() as db:
        done = db.scalars(select(AuditEntry).where(AuditEntry.action == "cancel_pending_order")).all()
    assert len(done) == 1 and order_status(store, BIG_ORDER) == "cancelled"
