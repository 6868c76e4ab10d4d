"""Privacy: masking of each kind of personal data, the masked logs, retention (purge), one customer's conversations
exported or deleted, and the demo conversations leaving no email or street address in clear in logs or exports."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from agent.escalation.tables import HandoffTicket
from agent.manager import Agent
from agent.memory import ChatMessage, ChatSession
from agent.privacy import MaskingFilter, install_log_masking, mask_text, mask_value
from agent.privacy.mask import customer_values
from agent.privacy.records import delete_customer, export_customer, export_transcripts, purge
from evals.tasks.runner import TaskRun
from evals.tasks.scoring import write_failures
from server.config import get_settings
from tools.context import IdentityPolicy
from tools.retail.data_model import AuditEntry, Order, User
from tools.sign_in_codes import CodeRules, SignInCode, issue
from tools.store import Store

BENCHMARK = IdentityPolicy.BENCHMARK  # the scripted customers sign in by email, as tau2's do

NOAH = {"id": "noah_brown_6181", "email": "noah.brown7922@example.com", "street": "986 Sunset Drive"}
JAMES = {"id": "james_li_5688", "email": "james.li4495@example.com", "zip": "10083"}

# --- masking, kind by kind ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "gone", "kept"), [
    ("my email is Noah.Brown7922@example.com.", "Noah.Brown7922", "N***@example.com"),
    ("pay with credit_card_7815826", "7815826", "credit_card_***5826"),
    ("the gift card gift_card_4374071 please", "4374071", "gift_card_***4071"),
    ("refund to paypal_5727330", "5727330", "paypal_***7330"),
    ("my card is 4111 1111 1111 1234", "4111 1111", "[card ending 1234]"),
    ("card 4111-1111-1111-1234 expires soon", "4111-1111", "[card ending 1234]"),
    ("card 4111111111111234", "4111111111111234", "[card ending 1234]"),
    ("call (555) 123-4567", "123-4567", "[phone ending 67]"),
    ("call 555-123-4567 or 555.123.4567", "123", "[phone ending 67] or [phone ending 67]"),
    ("my number is +44 20 7946 0958", "7946", "[phone ending 58]"),
    ("ship to 986 Sunset Drive, Suite 259, Denver, CO 80279", "Sunset", "[street], [unit], Denver, CO 802**"),
    ("910 Pine Road Boston, MA 26033", "Pine", "[street] Boston, MA 260**"),
    ("it's 12 Elmwood, Springfield, IL 62704, USA", "Elmwood", "[street], Springfield, IL 627**"),
    ("I moved to 123 Broadway last week", "123 Broadway", "I moved to [street] last week"),
    ("just 45 Maple St. apt 3B", "Maple", "[street] [unit]"),
    ("I'm James Li, zip code 10083", "10083", "zip code 100**"),
    ('{"address1": "986 Sunset Drive", "zip": "80279"}', "80279", '"zip": "802**"'),
])
def test_each_kind_of_personal_data_is_masked(text: str, gone: str, kept: str) -> None:
    masked = mask_text(text)
    assert gone not in masked and kept in masked, masked


@pytest.mark.parametrize("text", [
    "where is order #W2611340?",  # order ids: not personal, and the customer needs them
    "exchange item 9612497925 for 1234567890",  # item ids (a bare run of ten digits is no phone number)
    "tracking number 357962501027",  # tracking ids (12 digits are no card number)
    "I bought 2 shirts and 3 pairs of shoes for $299.99 on 2024-05-12 at 10:30",
    "the 17-inch laptop, 4 pieces, 1000 ml",
])
def test_what_the_customer_needs_to_see_is_kept(text: str) -> None:
    assert mask_text(text) == text


def test_masking_is_idempotent() -> None:
    text = ("noah.brown7922@example.com, credit_card_7815826, (555) 123-4567, 4111 1111 1111 1234, "
            "986 Sunset Drive, Suite 259, Denver, CO 80279, zip 10083")
    once = mask_text(text)
    assert mask_text(once) == once


def test_fields_are_masked_by_name_in_json_values() -> None:
    arguments = {"user_id": "x", "email": "a.b@c.com", "address1": "1 Main", "address2": "", "zip": "12345",
                 "first_name": "James", "payment_method_id": "gift_card_4374071",
                 "notes": [{"text": "call 555-123-4567"}], "count": 2}
    assert mask_value(arguments) == {
        "user_id": "x", "email": "a***@c.com", "address1": "[street]", "address2": "", "zip": "123**",
        "first_name": "J.", "payment_method_id": "gift_card_***4071", "notes": [{"text": "call [phone ending 67]"}],
        "count": 2,
    }
    assert arguments["email"] == "a.b@c.com"  # the input is left alone


def test_every_demo_customer_email_and_street_is_masked(demo_db: dict[str, Any]) -> None:
    """Every address the demo store holds, written as a customer writes it, or alone; every email."""
    records = [*demo_db["users"].values(), *demo_db["orders"].values()]
    for record in records:
        a = record["address"]
        for written in (f"{a['address1']}, {a['address2']}, {a['city']}, {a['state']} {a['zip']}",
                        f"{a['address1']} {a['city']}, {a['state']} {a['zip']}", f"I live at {a['address1']}"):
            masked = mask_text(written)
            assert a["address1"] not in masked and a["zip"] not in masked.replace("I live", ""), masked
    for user in demo_db["users"].values():
        assert user["email"] not in mask_text(f"email: {user['email']}")


def test_a_customers_own_values_are_masked_whatever_their_shape() -> None:
    known = customer_values("James", "Li", "james.li4495@example.com",
                            [{"address1": "215 River Road", "address2": "", "zip": "10083"}])
    masked = known.text("It's James Li from 215 River Road, zip 10083; JAMES.LI4495@EXAMPLE.COM")
    assert masked == "It's [name] [name] from [street], zip 100**; j***@example.com"


# --- logs -----------------------------------------------------------------------------------------------------


@pytest.fixture
def log_text() -> Iterator[Callable[[], str]]:
    """Records of the project's loggers, as a handler added after the masking was installed prints them."""
    install_log_masking()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("agent", "server", "tools", "sqlalchemy.engine")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield stream.getvalue
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_log_records_of_the_servers_loggers_are_masked(log_text: Callable[[], str]) -> None:
    logging.getLogger("server.turns").warning("turn in session %s: %s", "s1", {"email": NOAH["email"]})
    try:
        raise ValueError(f"no customer at {NOAH['street']}, Denver, CO 80279")
    except ValueError:
        logging.getLogger("agent.manager").exception("turn failed for %s", NOAH["email"])
    text = log_text()
    assert "n***@example.com" in text and "[street], Denver, CO 802**" in text and "ValueError" in text
    assert NOAH["email"] not in text and NOAH["street"] not in text


def test_the_filter_masks_a_record_made_elsewhere() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "paid with %s", ("credit_card_7815826",), None)
    assert MaskingFilter().filter(record) and record.getMessage() == "paid with credit_card_***5826"


# --- conversations --------------------------------------------------------------------------------------------


@pytest.fixture
def agent(store: Store) -> Agent:
    return Agent(store, identity=BENCHMARK)  # no retriever: the demo conversations need no product search


def converse(agent: Agent, lines: list[str]) -> str:
    session, _ = agent.open_session()
    for line in lines:
        events = list(agent.turn(session.id, line))
        assert events[-1].type == "done"
    return session.id


DEMO_CONVERSATIONS = [
    [f"hi, my email is {NOAH['email']}", "where is my order #W7678072?",
     "please change my account address to 12 Elm Street, Suite 4, Austin, TX 78701", "yes",
     "what's my default address now?"],
    [f"I'm James Li, zip code {JAMES['zip']}", "what's my default address?",
     "can you refund it to gift_card_1725971? call me on (555) 123-4567 if needed"],
    ["hello, email is anya.garcia2061@example.com", "what payment methods do I have?",
     "this is useless, I want a human"],
]


def age(store: Store, session_id: str, days: int) -> None:
    """Move a conversation `days` into the past."""
    then = datetime.now(UTC) - timedelta(days=days)
    with store.transaction() as db:
        db.execute(update(ChatSession).where(ChatSession.id == session_id).values(updated_at=then, created_at=then))
        db.execute(update(ChatMessage).where(ChatMessage.session_id == session_id).values(created_at=then))


def session_text(store: Store, session_id: str) -> str:
    with store.session() as db:
        rows = db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id))
        return "\n".join(f"{r.text} {json.dumps(r.payload)}" for r in rows)


def audit(store: Store, action: str) -> list[AuditEntry]:
    with store.session() as db:
        return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_purge_anonymises_only_old_conversations_and_is_idempotent(agent: Agent, store: Store) -> None:
    old = converse(agent, DEMO_CONVERSATIONS[0])
    new = converse(agent, [f"my email is {JAMES['email']}"])
    age(store, old, 120)
    assert NOAH["email"] in session_text(store, old)

    dry = purge(store, 90, dry_run=True)
    assert (dry.sessions, dry.messages) == (1, len(_messages(store, old)))
    assert NOAH["email"] in session_text(store, old) and audit(store, "privacy_purge") == []

    report = purge(store, 90)
    assert report.sessions == 1 and report.messages > 5
    text = session_text(store, old)
    for value in (NOAH["email"], NOAH["street"], NOAH["id"], "Noah", "12 Elm Street"):
        assert value not in text
    assert "n***@example.com" in text and "#W7678072" in text  # masked, and the order id kept
    with store.session() as db:
        assert db.get(ChatSession, old).customer_id is None
        assert db.get(ChatSession, new).customer_id == JAMES["id"]
    assert JAMES["email"] in session_text(store, new)  # the recent conversation is untouched

    assert purge(store, 90).sessions == 0  # idempotent: an anonymised conversation is left be
    entries = audit(store, "privacy_purge")
    assert [e.arguments["sessions"] for e in entries] == [1, 0] and entries[0].actor == "system"
    assert NOAH["email"] not in json.dumps(entries[0].arguments)


def test_anonymising_an_unverified_conversation_masks_the_name_typed(agent: Agent, store: Store) -> None:
    old = converse(agent, ["my name is Harper Smith, I can't remember my email", "Harper again: 555-867-5309"])
    age(store, old, 95)
    assert purge(store, 90).sessions == 1
    text = session_text(store, old)
    assert "Harper" not in text and "Smith" not in text and "5309" not in text
    assert "my name is [name] [name]" in text


def test_purge_deletes_old_conversations_but_not_one_a_person_has_open(agent: Agent, store: Store) -> None:
    handed = converse(agent, DEMO_CONVERSATIONS[2])  # ends with a ticket waiting for a person
    old = converse(agent, DEMO_CONVERSATIONS[1])
    for session_id in (handed, old):
        age(store, session_id, 200)
    report = purge(store, 90, mode="delete")
    assert report.sessions == 1 and report.messages > 0 and report.other_rows > 0  # the sentiment timeline too
    with store.session() as db:
        assert db.get(ChatSession, old) is None
        assert db.scalar(select(func.count()).select_from(ChatMessage).where(ChatMessage.session_id == old)) == 0
        assert db.get(ChatSession, handed) is not None
        assert db.scalar(select(HandoffTicket.status).where(HandoffTicket.session_id == handed)) == "waiting"
        assert db.get(User, JAMES["id"]) is not None and db.get(Order, "#W2611340") is not None
    assert purge(store, 90, mode="delete").sessions == 0


@pytest.mark.parametrize("mode", ["anonymise", "delete"])
def test_an_old_conversations_sign_in_codes_go_with_it(agent: Agent, store: Store, mode: str) -> None:
    old = converse(agent, ["hello"])
    new = converse(agent, ["hi"])
    with store.transaction() as db:  # each asked for a code (the email's hash and the account id are kept)
        for session_id in (old, new):
            issue(db, NOAH["email"], session_id, CodeRules(sends_per_window=9))
    age(store, old, 120)

    report = purge(store, 90, mode=mode)
    assert report.sessions == 1
    with store.session() as db:
        codes = {row.session_id: row.user_id for row in db.scalars(select(SignInCode))}
    assert codes == {new: NOAH["id"]}


def test_export_and_delete_one_customers_conversations(agent: Agent, store: Store) -> None:
    first = converse(agent, DEMO_CONVERSATIONS[0])
    second = converse(agent, [f"my email is {NOAH['email']}", "what's my default address?"])
    other = converse(agent, DEMO_CONVERSATIONS[1])

    exported = export_customer(store, NOAH["id"], actor="cli:tester")
    assert [c["session_id"] for c in exported["conversations"]] == [first, second]
    said = [m["text"] for c in exported["conversations"] for m in c["messages"] if m["role"] == "user"]
    assert f"hi, my email is {NOAH['email']}" in said  # their own words, in clear: the export is for them
    assert audit(store, "privacy_export")[0].target_id == NOAH["id"]

    report = delete_customer(store, NOAH["id"], actor="cli:tester")
    assert report.sessions == 2
    with store.session() as db:
        assert db.get(ChatSession, first) is None and db.get(ChatSession, second) is None
        assert db.get(ChatSession, other) is not None
        assert db.get(User, NOAH["id"]) is not None and db.get(Order, "#W7678072") is not None  # store records stay
    assert export_customer(store, NOAH["id"])["conversations"] == []
    assert audit(store, "privacy_delete")[0].arguments["sessions"] == 2


@pytest.fixture
def cli_home(tmp_path: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", f"sqlite:///{store_path}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_privacy_commands(cli_home: Path, agent: Agent, store: Store) -> None:
    from server.cli import app

    old = converse(agent, DEMO_CONVERSATIONS[0])
    age(store, old, 100)

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["privacy", *args], env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    assert "nothing purged" in run("purge", "--older-than", "0")
    assert "1 would be" in run("purge", "--dry-run")  # the default retention: 90 days
    out = cli_home / "noah.json"
    assert "send it to them only" in run("export", "--email", NOAH["email"].upper(), "--out", str(out))
    assert json.loads(out.read_text())["conversations"][0]["session_id"] == old
    assert out.stat().st_mode & 0o077 == 0  # owner-only
    assert "1 anonymised" in run("purge")
    assert "0 anonymised" in run("purge")
    converse(agent, [f"my email is {NOAH['email']}"])  # the anonymised one no longer names Noah: a new one
    assert "1 deleted" in run("delete", "--customer", NOAH["id"])
    assert "0 masked conversations" not in run("transcripts", "--out", str(cli_home / "t.jsonl"))
    assert audit(store, "privacy_purge")[0].actor.startswith("cli")
    bad = CliRunner().invoke(app, ["privacy", "export", "--email", "nobody@example.com", "--out", str(out)])
    assert bad.exit_code == 2 and "nobody@example.com" not in bad.output


def test_the_server_applies_the_retention_period_at_start(cli_home: Path, agent: Agent, store: Store) -> None:
    from server.cli import _purge_expired

    recent = converse(agent, [f"my email is {NOAH['email']}"])
    _purge_expired(get_settings())
    assert audit(store, "privacy_purge") == []  # nothing expired: no audit entry at each start
    old = converse(agent, DEMO_CONVERSATIONS[1])
    age(store, old, 91)
    _purge_expired(get_settings())
    assert JAMES["email"] not in session_text(store, old) and NOAH["email"] in session_text(store, recent)
    assert [e.actor for e in audit(store, "privacy_purge")] == ["system:retention"]


# --- done when: the demo conversations leave nothing in clear -------------------------------------------------


def demo_values(store: Store, customer_ids: list[str]) -> list[str]:
    """The demo customers' emails and street lines, as the store holds them (account and orders)."""
    values: list[str] = []
    with store.session() as db:
        for customer_id in customer_ids:
            user = db.get(User, customer_id)
            values += [user.email, user.address1]
            values += [o.address1 for o in db.scalars(select(Order).where(Order.user_id == customer_id))]
    return values


def test_demo_conversations_leave_no_email_or_street_in_clear_in_logs_or_exports(
    agent: Agent, store: Store, tmp_path: Path
) -> None:
    install_log_masking()
    log_file = tmp_path / "shopagent.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    # The most a deployment could log: every SQL statement with its parameters (every message, every tool
    # result), and the project's own loggers at debug.
    loggers = {name: logging.getLogger(name) for name in ("agent", "server", "tools", "sqlalchemy.engine")}
    levels = {name: logger.level for name, logger in loggers.items()}
    for name, logger in loggers.items():
        logger.addHandler(handler)
        logger.setLevel(logging.INFO if name.startswith("sqlalchemy") else logging.DEBUG)
    try:
        sessions = [converse(agent, lines) for lines in DEMO_CONVERSATIONS]
        logging.getLogger("agent.manager").debug("transcript: %s", session_text(store, sessions[0]))
    finally:
        for name, logger in loggers.items():
            logger.removeHandler(handler)
            logger.setLevel(levels[name])
        handler.close()

    transcripts = tmp_path / "transcripts.jsonl"
    assert export_transcripts(store, transcripts) == len(DEMO_CONVERSATIONS)
    failures = tmp_path / "failures.md"
    said = [(role, r.text) for r in _messages(store, sessions[0]) for role in [r.role] if role != "tool"]
    write_failures([TaskRun("demo", 0, False, [], [], [], said, [], len(said), 0.0, "customer")], failures)

    customers = [NOAH["id"], JAMES["id"], "anya_garcia_3271"]
    values = [*demo_values(store, customers), "12 Elm Street"]  # and the new address typed in the chat
    log, exports = log_file.read_text(), transcripts.read_text() + failures.read_text()
    # The values were there to leak: the raw conversations hold them and the log carries the masked forms.
    assert NOAH["email"] in session_text(store, sessions[0]) and len(log) > 10_000
    assert "n***@example.com" in log and "[street]" in log and "#W7678072" in exports
    leaks = {value for value in values for text in (log, exports) if value.lower() in text.lower()}
    assert leaks == set()


def _messages(store: Store, session_id: str) -> list[ChatMessage]:
    with store.session() as db:
        return list(db.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id)
                               .order_by(ChatMessage.id)))
