"""The copilot console's API: staff sign-in, authorisation (no customer token ever gets in), the queue,
taking a ticket, replies reaching the customer's live stream, approved actions under the same policy checks,
and handing back to the bot."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.escalation.staff import StaffDirectory, StaffError, check_password, hash_password
from agent.manager import Agent
from server.app import create_app
from server.config import Settings
from server.staff_tokens import sign_staff_token, verify_staff_token
from server.tokens import InvalidToken, sign_customer_token
from tools.retail.data_model import AuditEntry, Order
from tools.store import Store

PASSWORD = "correct horse battery"
CUSTOMER = "yusuf_rossi_9620"


@pytest.fixture
def settings(tmp_path: Path, store: Store) -> Settings:
    return Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="test-secret",
                    rate_limit_per_minute=10_000)


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever)


@pytest.fixture
def client(settings: Settings, agent: Agent, store: Store) -> Iterator[TestClient]:
    StaffDirectory(store).add("dana", PASSWORD, "Dana")
    with TestClient(create_app(settings, agent=agent)) as test_client:
        yield test_client


def staff_headers(client: TestClient, staff_id: str = "dana") -> dict[str, str]:
    response = client.post("/api/console/login", json={"staff_id": staff_id, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def escalated_session(agent: Agent, *turns: str, customer_id: str | None = CUSTOMER) -> str:
    session, _ = agent.open_session(customer_id=customer_id)
    for text in turns:
        list(agent.turn(session.id, text))
    return session.id


# --- authentication and authorisation ------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password("a long password"), hash_password("a long password")
    assert first != second and first.startswith("scrypt$")
    assert check_password("a long password", first) and not check_password("a long passwore", first)


def test_staff_users_need_a_valid_id_and_a_long_password(store: Store) -> None:
    directory = StaffDirectory(store)
    with pytest.raises(StaffError):
        directory.add("dana", "short")
    with pytest.raises(StaffError):
        directory.add("Not Valid!", PASSWORD)
    directory.add("dana", PASSWORD)
    with pytest.raises(StaffError):
        directory.add("dana", PASSWORD)  # no second account of that name


def test_staff_and_customer_tokens_never_verify_as_each_other() -> None:
    staff = sign_staff_token("s", "dana")
    assert verify_staff_token("s", staff) == "dana"
    customer = sign_customer_token("s", "dana")
    with pytest.raises(InvalidToken):
        verify_staff_token("s", customer)
    with pytest.raises(InvalidToken):
        verify_staff_token("other secret", staff)
    with pytest.raises(InvalidToken):
        verify_staff_token("s", sign_staff_token("s", "dana", ttl_seconds=-1))


@pytest.mark.parametrize("path", ["/api/console/me", "/api/console/tickets", "/api/console/tickets/1"])
def test_console_routes_refuse_no_token_and_customer_tokens(client: TestClient, settings: Settings,
                                                          path: str) -> None:
    assert client.get(path).status_code == 401
    customer = sign_customer_token(settings.secret(), CUSTOMER)
    assert client.get(path, headers={"Authorization": f"Bearer {customer}"}).status_code == 401
    forged = sign_staff_token("another secret", "dana")
    assert client.get(path, headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_console_writes_refuse_customer_tokens(client: TestClient, settings: Settings, agent: Agent) -> None:
    session_id = escalated_session(agent, "I want to talk to a person")
    ticket_id = agent.escalation.desk.open_ticket(session_id).id
    customer = {"Authorization": f"Bearer {sign_customer_token(settings.secret(), CUSTOMER)}"}
    assert client.post(f"/api/console/tickets/{ticket_id}/take", headers=customer).status_code == 401
    assert client.post(f"/api/console/tickets/{ticket_id}/messages", json={"text": "hi"},
                       headers=customer).status_code == 401
    assert agent.escalation.desk.get(ticket_id).status == "waiting"


def test_wrong_password_and_unknown_staff_are_refused(client: TestClient) -> None:
    wrong = {"staff_id": "dana", "password": "wrong password!"}
    assert client.post("/api/console/login", json=wrong).status_code == 401
    assert client.post("/api/console/login", json={"staff_id": "nobody", "password": PASSWORD}).status_code == 401
    assert client.get("/api/console/me", headers=staff_headers(client)).json()["display_name"] == "Dana"


# --- working a ticket ------------------------------------------------------------------------------------------


def test_the_queue_puts_risk_and_frustration_first(client: TestClient, agent: Agent) -> None:
    calm = escalated_session(agent, "I want to talk to a person", customer_id=None)
    risky = escalated_session(agent, "there is an unauthorized charge on my card", customer_id=None)
    tickets = client.get("/api/console/tickets", headers=staff_headers(client)).json()["tickets"]
    assert [t["session_id"] for t in tickets] == [risky, calm]
    assert tickets[0]["priority"] > tickets[1]["priority"]


def test_a_pending_order_is_offered_a_cancellation_and_the_first_draft_apologises_once(
        client: TestClient, agent: Agent) -> None:
    escalated_session(agent, "what's the status of order #W6247578?", "I want to talk to a person")
    headers = staff_headers(client)
    ticket_id = client.get("/api/console/tickets", headers=headers).json()["tickets"][0]["id"]
    view = client.get(f"/api/console/tickets/{ticket_id}", headers=headers).json()
    actions = view["actions"]
    assert {a["tool"] for a in actions} == {"cancel_pending_order"}  # pending: cancel only, no look-up, no return
    assert {a["arguments"]["reason"] for a in actions} == {"no longer needed", "ordered by mistake"}  # none given
    assert all(a["arguments"]["order_id"] == "#W6247578" and a["kind_text"] for a in actions)
    first = view["drafts"][0]["text"]
    assert first.lower().count("sorry") == 1 and first.count("Let me sort this out") == 1


def test_a_ticket_about_a_risk_drafts_thanks_not_an_apology(client: TestClient, agent: Agent) -> None:
    escalated_session(agent, "someone used my card to buy things I never ordered")
    headers = staff_headers(client)
    ticket = client.get("/api/console/tickets", headers=headers).json()["tickets"][0]
    assert (ticket["reason"], ticket["reason_text"]) == ("risk:fraud", "possible fraud")
    drafts = client.get(f"/api/console/tickets/{ticket['id']}", headers=headers).json()["drafts"]
    assert drafts[0]["text"].startswith("Thank you for telling us") and "sorry" not in drafts[0]["text"].lower()


def test_take_reply_and_the_customer_stream_carries_the_reply(client: TestClient, agent: Agent) -> None:
    session_id = escalated_session(agent, "where is my order #W2378156?", "I want to talk to a person")
    headers = staff_headers(client)
    ticket_id = client.get("/api/console/tickets", headers=headers).json()["tickets"][0]["id"]
    view = client.get(f"/api/console/tickets/{ticket_id}", headers=headers).json()
    assert view["customer"]["customer_id"] == CUSTOMER
    assert view["customer"]["orders"][0]["order_id"] == "#W2378156"
    assert len(view["timeline"]) == 2
    assert any("#W2378156" in draft["text"] for draft in view["drafts"])  # grounded in get_order_details
    # #W2378156 is delivered: a return fits, a cancellation does not, and a look-up is never offered to approve.
    assert [a["tool"] for a in view["actions"]] == ["return_delivered_order_items"]
    assert view["ticket"]["reason_text"] == "asked for a person"
    looked_up = next(m for m in view["transcript"] if m["role"] == "tool")
    assert looked_up["tool"] == "Order details" and looked_up["result"]["order_id"] == "#W2378156"

    # Replying before taking the ticket is refused.
    assert client.post(f"/api/console/tickets/{ticket_id}/messages", json={"text": "hi"},
                       headers=headers).status_code == 409
    assert client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers).json()["status"] == "active"
    sent = client.post(f"/api/console/tickets/{ticket_id}/messages", json={"text": "Hi, Dana here. Let me check."},
                       headers=headers)
    assert sent.status_code == 201

    stream = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0})
    events = [json.loads(line[5:]) for line in stream.text.splitlines() if line.startswith("data:")]
    assert [e["text"] for e in events][-1] == "Hi, Dana here. Let me check."
    assert events[0]["notice"] is True  # "Dana from our team has joined the conversation."
    last = events[-1]["id"]
    again = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0, "after": last})
    assert "data:" not in again.text  # nothing new after the cursor

    # The customer's next message goes to the person; the bot stays silent.
    turn = client.post(f"/api/sessions/{session_id}/messages", json={"text": "thank you, waiting"})
    assert "event: message" not in turn.text

    back = client.post(f"/api/console/tickets/{ticket_id}/handback", headers=headers)
    assert back.json()["status"] == "returned"
    reply = client.post(f"/api/sessions/{session_id}/messages", json={"text": "do you sell office chairs?"})
    assert "event: message" in reply.text and "Office Chair" in reply.text  # the bot answers again
    assert agent.escalation.desk.open_ticket(session_id) is None


def test_the_customer_sees_who_joined_and_when_they_left(client: TestClient, agent: Agent, store: Store) -> None:
    StaffDirectory(store).add("sam", PASSWORD, "Sam Lee", avatar_url="/staff/sam.png")
    session_id = escalated_session(agent, "I want to talk to a person")
    assert client.get(f"/api/sessions/{session_id}/messages").json()["person"] is None  # waiting: nobody yet
    headers = staff_headers(client, "sam")
    ticket_id = agent.escalation.desk.open_ticket(session_id).id
    client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers)
    client.post(f"/api/console/tickets/{ticket_id}/messages", json={"text": "Hello, Sam here."}, headers=headers)

    history = client.get(f"/api/sessions/{session_id}/messages").json()
    assert history["person"] == {"name": "Sam Lee", "avatar_url": "/staff/sam.png"}
    joined, said = history["messages"][-2:]
    assert (joined["notice"], joined["presence"], joined["author"]) == (True, "joined", "Sam Lee")
    assert (said["notice"], said["presence"], said["author"], said["avatar_url"]) == (
        False, None, "Sam Lee", "/staff/sam.png")
    assert "sam" not in json.dumps(history).replace("Sam", "").replace("sam.png", "")  # never the login name

    client.post(f"/api/console/tickets/{ticket_id}/resolve", headers=headers)
    stream = client.get(f"/api/sessions/{session_id}/events", params={"wait": 0})
    events = [json.loads(line[5:]) for line in stream.text.splitlines() if line.startswith("data:")]
    assert [(e["presence"], e["notice"]) for e in events] == [("joined", True), (None, False), ("left", True)]
    assert client.get(f"/api/sessions/{session_id}/messages").json()["person"] is None


def test_a_staff_picture_must_be_a_web_address(store: Store) -> None:
    with pytest.raises(StaffError, match="http"):
        StaffDirectory(store).add("eve", PASSWORD, "Eve", avatar_url="javascript:alert(1)")
    assert StaffDirectory(store).get("eve") is None


def test_an_approved_action_runs_under_the_same_policy_and_is_audited_as_staff(
        client: TestClient, agent: Agent, store: Store, db_rows) -> None:  # type: ignore[no-untyped-def]
    session_id = escalated_session(agent, "I want to talk to a person")
    headers = staff_headers(client)
    ticket_id = agent.escalation.desk.open_ticket(session_id).id
    client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers)

    # A delivered order cannot be cancelled: refused by the tool's policy, whoever approves it; nothing changes.
    before = db_rows(store)
    refused = client.post(f"/api/console/tickets/{ticket_id}/actions", headers=headers, json={
        "tool": "cancel_pending_order", "arguments": {"order_id": "#W2378156", "reason": "no longer needed"}}).json()
    assert refused["ok"] is False and "pending" in refused["error"]
    changed = {k for k, v in db_rows(store).items() if v != before[k]}
    assert changed <= {"chat_messages"}  # only the refused call's record in the conversation
    # Another customer's order is refused too (the conversation's customer only).
    other = client.post(f"/api/console/tickets/{ticket_id}/actions", headers=headers, json={
        "tool": "cancel_pending_order", "arguments": {"order_id": "#W8770097", "reason": "no longer needed"}}).json()
    assert other["ok"] is False

    done = client.post(f"/api/console/tickets/{ticket_id}/actions", headers=headers, json={
        "tool": "cancel_pending_order", "arguments": {"order_id": "#W6247578", "reason": "no longer needed"}}).json()
    assert done["ok"] is True, done
    with store.session() as db:
        assert db.get(Order, "#W6247578").status == "cancelled"
        entry = db.scalars(select(AuditEntry).where(AuditEntry.target_id == "#W6247578")).one()
    assert entry.actor == "staff:dana" and entry.session_id == session_id


def test_only_the_person_who_took_a_ticket_works_it(client: TestClient, agent: Agent, store: Store) -> None:
    StaffDirectory(store).add("lee", PASSWORD, "Lee")
    session_id = escalated_session(agent, "I want to talk to a person")
    ticket_id = agent.escalation.desk.open_ticket(session_id).id
    client.post(f"/api/console/tickets/{ticket_id}/take", headers=staff_headers(client))
    lee = staff_headers(client, "lee")
    assert client.post(f"/api/console/tickets/{ticket_id}/take", headers=lee).status_code == 409
    assert client.post(f"/api/console/tickets/{ticket_id}/handback", headers=lee).status_code == 409
    assert client.get("/api/console/tickets/999", headers=lee).status_code == 404


def test_add_staff_cli(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from server.cli import app
    from server.config import get_settings

    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path))
    monkeypatch.delenv("SHOPAGENT_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["escalation", "add-staff", "dana", "--name", "Dana", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        assert StaffDirectory(Store(f"sqlite:///{tmp_path / 'store.db'}")).authenticate("dana", PASSWORD)
        short = CliRunner().invoke(app, ["escalation", "add-staff", "lee", "--password", "short"])
        assert short.exit_code == 2
        pictured = CliRunner().invoke(app, ["escalation", "add-staff", "sam", "--name", "Sam", "--avatar",
                                            "https://cdn.example.com/sam.png", "--password", PASSWORD])
        assert pictured.exit_code == 0, pictured.output
        assert StaffDirectory(Store(f"sqlite:///{tmp_path / 'store.db'}")).get("sam").avatar_url == (
            "https://cdn.example.com/sam.png")
        bad = CliRunner().invoke(app, ["escalation", "add-staff", "eve", "--avatar", "javascript:x", "--password",
                                       PASSWORD])
        assert bad.exit_code == 2 and "http" in bad.output
    finally:
        get_settings.cache_clear()
