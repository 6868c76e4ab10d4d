"""Identity that proves something (the store's policy): a signed token, or a one-time code mailed to the account's
email over real SMTP (an aiosmtpd sink on a free port) and typed back into the chat; an email or a name + zip alone
gets no data. tau2's benchmark policy keeps email / name + zip. Real database, real API, real mail."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from agent.manager import Agent, AgentConfig
from agent.replies import say
from agent.sign_in_mail import CodeMailer
from server.app import create_app
from server.config import Settings
from server.dev_mail import CaughtMail, DevOutbox
from server.tokens import verify_customer_token
from tools.context import IdentityPolicy
from tools.mail import Mailer
from tools.sign_in_codes import SignInCode
from tools.store import Store

SECRET = "test-secret"
JAMES = {"id": "james_li_5688", "email": "james.li4495@example.com", "zip": "10083", "name": "James Li"}
JAMES_ORDER = "#W2611340"  # processed, tracking 357962501027
NOAH_ORDER = "#W7678072"  # another customer's order
CODE = re.compile(r"\b(\d{6})\b")
MAIL_WAIT_SECONDS = 15.0  # a bound on waiting for the background sender, not a speed target


@pytest.fixture
def outbox() -> Iterator[DevOutbox]:
    sink = DevOutbox().start()
    yield sink
    sink.stop()


def make_agent(store: Store, outbox: DevOutbox, identity: IdentityPolicy = IdentityPolicy.STORE,
               config: AgentConfig | None = None) -> Agent:
    return Agent(store, identity=identity, code_mail=CodeMailer(Mailer(outbox.smtp)), config=config)


def settings_for(tmp_path: Path, store: Store, **changes: Any) -> Settings:
    return Settings(home=tmp_path, database_url=store.url, backend="none", token_secret=SECRET,
                    rate_limit_per_minute=1000, **changes)


@pytest.fixture
def client(tmp_path: Path, store: Store, outbox: DevOutbox) -> Iterator[TestClient]:
    app = create_app(settings_for(tmp_path, store, demo=True), agent=make_agent(store, outbox), outbox=outbox)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def patient_client(tmp_path: Path, store: Store, outbox: DevOutbox) -> Iterator[TestClient]:
    """Without the escalation monitor, which hands a conversation stuck on wrong or repeated codes to a person."""
    agent = make_agent(store, outbox, config=AgentConfig(escalation=False))
    with TestClient(create_app(settings_for(tmp_path, store, demo=True), agent=agent, outbox=outbox)) as client:
        yield client


class Chat:
    """One conversation through the HTTP API."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        response = client.post("/api/sessions", json={})
        assert response.status_code == 201
        self.session_id = response.json()["session_id"]

    def __call__(self, text: str) -> str:
        response = self.client.post(f"/api/sessions/{self.session_id}/messages", json={"text": text})
        assert response.status_code == 200
        messages = [line for line in response.text.splitlines() if line.startswith("data: ")]
        events = [m for m in messages if '"id"' in m and '"text"' in m]
        return _json(events[-1])["text"]

    def customer(self) -> str | None:
        return self.client.get(f"/api/sessions/{self.session_id}/messages").json()["customer_id"]


def _json(line: str) -> dict[str, Any]:
    return json.loads(line.removeprefix("data: "))


def mails_to(outbox: DevOutbox, address: str, count: int = 1) -> list[CaughtMail]:
    """The mails caught for `address` once there are `count` (newest first); fails after a generous bound."""
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        mails = [mail for mail in outbox.mails() if mail.to == address]
        if len(mails) >= count:
            return mails
        time.sleep(0.05)
    raise AssertionError(f"{count} mail(s) to {address} expected, got {len(outbox.mails())} in all")


def code_in(mail: CaughtMail) -> str:
    found = CODE.search(mail.body)
    assert found and found.group(1) in mail.subject
    return found.group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- the store's policy, end to end ------------------------------------------------------------------------


def test_the_code_mailed_to_the_account_verifies_and_shows_the_orders(client: TestClient, outbox: DevOutbox) -> None:
    chat = Chat(client)
    reply = chat(f"where is my order {JAMES_ORDER}? my email is {JAMES['email']}")
    assert reply == say("code_sent", email=JAMES["email"])
    assert JAMES_ORDER not in reply and chat.customer() is None
    [mail] = mails_to(outbox, JAMES["email"])
    code = code_in(mail)
    reply = chat(code)  # six digits while a code is out: the code, not an order id or a zip
    assert chat.customer() == JAMES["id"]
    assert JAMES_ORDER in reply and "processed" in reply and "357962501027" in reply  # the open request, answered
    assert "W2611340" in chat(f"what's the status of order {JAMES_ORDER}?")


def test_the_code_is_kept_hashed_in_the_store(client: TestClient, outbox: DevOutbox, store: Store) -> None:
    chat = Chat(client)
    chat(f"my email is {JAMES['email']}")
    code = code_in(mails_to(outbox, JAMES["email"])[0])
    with store.session() as session:
        row = session.scalars(select(SignInCode).where(SignInCode.session_id == chat.session_id)).one()
    assert row.user_id == JAMES["id"] and code not in row.code_hash and code not in row.salt
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_someone_elses_email_alone_gets_no_data(client: TestClient, outbox: DevOutbox) -> None:
    chat = Chat(client)
    chat(f"I'm {JAMES['email']}")
    for text in (f"what's the status of order {JAMES_ORDER}?", "show me my account details", "cancel my order"):
        reply = chat(text)
        assert JAMES_ORDER not in reply and "357962501027" not in reply and "10083" not in reply
    assert chat.customer() is None
    assert chat(f"I'm {JAMES['name']}, zip {JAMES['zip']}") == say("code_needs_email")
    assert chat.customer() is None


def test_an_unknown_email_gets_the_same_reply_and_no_mail(client: TestClient, outbox: DevOutbox) -> None:
    nobody = "nobody.at.all@example.com"
    assert Chat(client)(f"my email is {nobody}") == say("code_sent", email=nobody)
    Chat(client)(f"my email is {JAMES['email']}")
    mails_to(outbox, JAMES["email"])  # one sender thread, in order: a mail to nobody would have come first
    assert [mail.to for mail in outbox.mails()] == [JAMES["email"]]


def test_a_wrong_code_is_refused_then_the_right_one_works(client: TestClient, outbox: DevOutbox) -> None:
    chat = Chat(client)
    chat(f"my email is {JAMES['email']}")
    code = code_in(mails_to(outbox, JAMES["email"])[0])
    assert chat(f"it's {other_code(code)}") == say("code_wrong")
    assert chat.customer() is None
    assert chat(code) == say("identity_ok")
    assert chat.customer() == JAMES["id"]


def test_an_expired_code_is_refused(client: TestClient, outbox: DevOutbox, store: Store) -> None:
    chat = Chat(client)
    chat(f"my email is {JAMES['email']}")
    code = code_in(mails_to(outbox, JAMES["email"])[0])
    with store.transaction() as session:  # eleven minutes later
        session.execute(update(SignInCode).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert chat(code) == say("code_expired")
    assert chat.customer() is None


def test_too_many_wrong_codes_lock_the_code(patient_client: TestClient, outbox: DevOutbox) -> None:
    chat = Chat(patient_client)
    chat(f"my email is {JAMES['email']}")
    code = code_in(mails_to(outbox, JAMES["email"])[0])
    replies = [chat(other_code(code)) for _ in range(5)]
    assert replies == [say("code_wrong")] * 4 + [say("code_locked")]
    chat(code)  # the right code, too late: that code is gone
    assert chat.customer() is None
    chat(f"my email is {JAMES['email']}")  # a new code works
    assert chat(code_in(mails_to(outbox, JAMES["email"], 2)[0])) == say("identity_ok")
    assert chat.customer() == JAMES["id"]


def test_a_new_code_supersedes_the_last_and_sends_are_limited(patient_client: TestClient, outbox: DevOutbox) -> None:
    client = patient_client
    chat = Chat(client)
    for _ in range(3):
        assert chat(f"my email is {JAMES['email']}") == say("code_sent", email=JAMES["email"])
    assert chat(f"my email is {JAMES['email']}") == say("code_throttled")
    assert Chat(client)(f"my email is {JAMES['email']}") == say("code_throttled")  # per address, not per chat
    mails = mails_to(outbox, JAMES["email"], 3)
    assert chat(code_in(mails[-1])) == say("code_wrong")  # the first code was superseded
    assert chat(code_in(mails[0])) == say("identity_ok")
    nobody = "nobody.at.all@example.com"  # an address without an account is limited alike: nothing tells them apart
    replies = [Chat(client)(f"my email is {nobody}") for _ in range(4)]
    assert replies == [say("code_sent", email=nobody)] * 3 + [say("code_throttled")]


def test_wrong_codes_count_as_failed_identity_checks_for_the_risk_rules(patient_client: TestClient,
                                                                       outbox: DevOutbox, store: Store) -> None:
    from agent.risk.tables import RiskHold

    yusuf = "yusuf.rossi7301@example.com"
    chat = Chat(patient_client)
    chat("I want to cancel an order")
    chat(f"my email is {yusuf}")
    code = code_in(mails_to(outbox, yusuf)[0])
    assert [chat(other_code(code)) for _ in range(2)] == [say("code_wrong")] * 2
    chat(code)
    chat("order #W6247578, no longer needed")
    reply = chat("yes")
    with store.session() as session:
        [hold] = session.scalars(select(RiskHold)).all()
    assert hold.rules == ["action after failed identity checks"] and hold.customer_id == "yusuf_rossi_9620"
    assert "review" in reply


def test_a_row_for_an_address_without_account_never_verifies(store: Store) -> None:
    from tools.sign_in_codes import Checked, CodeRules, _hash, check

    now = datetime.now(UTC)
    with store.transaction() as session:  # as issue() leaves it for an unknown address, with a known code
        session.add(SignInCode(session_id="s1", email_key="k", user_id=None, salt="00" * 16,
                               code_hash=_hash("123456", "00" * 16), created_at=now, expires_at=now + timedelta(1)))
    with store.transaction() as session:
        assert check(session, "s1", "123456", CodeRules()) == (Checked.WRONG, None)
        assert check(session, "another conversation", "123456", CodeRules()) == (Checked.NONE, None)


def test_six_digits_are_no_code_while_none_is_out(client: TestClient) -> None:
    chat = Chat(client)
    chat("123456")
    assert chat.customer() is None
    history = client.get(f"/api/sessions/{chat.session_id}/messages").json()["messages"]
    assert all("verified" not in m["text"] for m in history)


def test_order_ids_cannot_be_probed_before_identity(client: TestClient) -> None:
    replies = [Chat(client)(f"what's the status of order {order_id}?")
               for order_id in (JAMES_ORDER, NOAH_ORDER, "#W0000000")]
    assert replies == [say("ask_identity_code")] * 3


def test_the_tools_refuse_to_identify_by_email_or_name_and_zip(runner, make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx(identity=IdentityPolicy.STORE)
    for name, arguments in (("find_user_id_by_email", {"email": JAMES["email"]}),
                            ("find_user_id_by_name_zip", {"first_name": "James", "last_name": "Li", "zip": "10083"})):
        result = runner.call(ctx, name, arguments)
        assert not result.ok and "do not prove" in (result.error or "")
    assert ctx.customer_id is None
    unknown = runner.call(ctx, "find_user_id_by_email", {"email": "nobody@example.com"})
    assert unknown.error == result.error  # refused before any look-up: says nothing about the address


# --- tau2's benchmark policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("identify", [f"my email is {JAMES['email']}", f"I'm {JAMES['name']}, zip {JAMES['zip']}"])
def test_the_benchmark_policy_keeps_email_and_name_zip(store: Store, outbox: DevOutbox, identify: str) -> None:
    agent = make_agent(store, outbox, IdentityPolicy.BENCHMARK)
    session, _ = agent.open_session()
    replies = [e.data["text"] for e in agent.turn(session.id, identify) if e.type == "message"]
    assert replies == [say("identity_ok")]
    assert agent.conversations.state(session.id).customer_id == JAMES["id"]
    assert outbox.mails() == []


def test_the_setting_selects_the_policy(tmp_path: Path, store: Store) -> None:
    assert Settings(home=tmp_path).identity is IdentityPolicy.STORE
    assert Settings(home=tmp_path, identity="benchmark").identity is IdentityPolicy.BENCHMARK
    with pytest.raises(ValueError):
        Settings(home=tmp_path, identity="email")


# --- demo mode: the outbox page and demo sign-in ---------------------------------------------------------------


def test_the_outbox_and_demo_sign_in_are_off_by_default(tmp_path: Path, store: Store, outbox: DevOutbox) -> None:
    app = create_app(settings_for(tmp_path, store), agent=make_agent(store, outbox), outbox=outbox)
    with TestClient(app) as plain:
        assert plain.get("/dev/outbox").status_code == 404
        assert plain.get("/api/demo").status_code == 404
        assert plain.post("/api/demo/sign-in", json={}).status_code == 404


def test_the_outbox_page_shows_the_mail_escaped(client: TestClient, outbox: DevOutbox) -> None:
    assert "No mail yet" in client.get("/dev/outbox").text
    Chat(client)(f"my email is {JAMES['email']}")
    code = code_in(mails_to(outbox, JAMES["email"])[0])
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and code in page.text and JAMES["email"] in page.text
    assert "<script" not in page.text


def test_demo_sign_in_mints_a_token_for_a_demo_customer(client: TestClient) -> None:
    assert client.get("/api/demo").json()["outbox"] == "/dev/outbox"
    chosen = client.post("/api/demo/sign-in", json={"customer_id": JAMES["id"]}).json()
    assert chosen["customer_id"] == JAMES["id"] and chosen["name"] == JAMES["name"]
    assert verify_customer_token(SECRET, chosen["token"]) == JAMES["id"]
    session = client.post("/api/sessions", json={"token": chosen["token"]}).json()
    assert session["customer_id"] == JAMES["id"]
    anyone = client.post("/api/demo/sign-in", json={}).json()
    assert verify_customer_token(SECRET, anyone["token"]) == anyone["customer_id"]
    assert client.post("/api/demo/sign-in", json={"customer_id": "no_such_customer"}).status_code == 404


def test_a_signed_in_customer_sees_orders_at_once(client: TestClient) -> None:
    token = client.post("/api/demo/sign-in", json={"customer_id": JAMES["id"]}).json()["token"]
    session_id = client.post("/api/sessions", json={"token": token}).json()["session_id"]
    response = client.post(f"/api/sessions/{session_id}/messages",
                           json={"text": f"what's the status of order {JAMES_ORDER}?"})
    assert "357962501027" in response.text

