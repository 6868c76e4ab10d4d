"""Several server processes, one PostgreSQL database (issue 22): two real `shopagent serve` processes (the second with
`--workers 2`) share the store, and a conversation, an order, a client's rate limit, a conversation's turns and a
person's live messages behave as they do in one process. SQLite stays one process: `--workers` refuses it.

PostgreSQL: $SHOPAGENT_TEST_POSTGRES_URL, else a throwaway cluster started with scripts/pg-cluster.sh."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from agent.escalation.staff import StaffDirectory
from agent.manager import Agent
from agent.memory import ChatMessage, ConversationStore
from evals.customer_stream import internals, tool_names
from evals.live_server import free_port, serve, wait_ready
from server.cli import app as cli
from server.config import get_settings
from server.live_listener import LiveListener
from server.rate_limits import RateLimiter
from tools import advisory_lock
from tools.context import IdentityPolicy
from tools.retail.data_model import AuditEntry, Order, User
from tools.retail.loader import load_store
from tools.store import Store

pytestmark = pytest.mark.slow
POSTGRES_URL_ENV = "SHOPAGENT_TEST_POSTGRES_URL"
REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
EMMA_EMAIL = "emma.smith3991@example.com"
MOVE = "please change the shipping address of order #W2417020 to 1200 Oak Street, Austin, TX 78701"
SERVER_SETTINGS = {"IDENTITY": "benchmark", "RATE_LIMIT_PER_MINUTE": "12", "LOGIN_FAILURES_PER_ACCOUNT": "3",
                   "TRUSTED_PROXIES": '["127.0.0.1"]'}
addresses = (f"10.22.0.{n}" for n in itertools.count(1))  # each test is its own client: the rate limit is per client


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The server's URL (its `postgres` database is used to create the tests' databases)."""
    if os.environ.get(POSTGRES_URL_ENV):
        yield os.environ[POSTGRES_URL_ENV]
        return
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("PostgreSQL is not installed (scripts/system-deps.sh --postgres)")
    # Not under pytest's temporary folder: as root the cluster runs as `postgres`, who cannot enter root's folders.
    cluster = Path(tempfile.mkdtemp(prefix="shopagent-pg-"))
    started = subprocess.run([REPO / "scripts/pg-cluster.sh", "start", cluster], capture_output=True, text=True)
    try:
        assert started.returncode == 0, started.stderr
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([REPO / "scripts/pg-cluster.sh", "stop", cluster], check=False)
        shutil.rmtree(cluster, ignore_errors=True)


def new_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; its SQLAlchemy URL."""
    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_store(postgres_url: str) -> Iterator[Store]:
    """The demo store in a PostgreSQL database of its own, with a staff account."""
    store = Store(new_database(postgres_url, "shopagent_workers"))
    store.create_schema()
    load_store(store)
    StaffDirectory(store).add("dana", PASSWORD, "Dana")
    StaffDirectory(store).add("lee", PASSWORD, "Lee")  # the one whose sign-in is throttled
    StaffDirectory(store).add("sam", PASSWORD, "Sam")
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def servers(pg_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Server A (one process) and server B (`--workers 2`) on the same database and home (one token secret)."""
    home = tmp_path_factory.mktemp("home")
    started: list[subprocess.Popen[bytes]] = []
    bases = []
    try:
        for options in ((), ("--workers", "2")):  # one after the other: A builds the search index, B loads it
            port = free_port()
            started.append(serve(home, port, *options, DATABASE_URL=pg_store.url, **SERVER_SETTINGS))
            bases.append(f"http://127.0.0.1:{port}")
            wait_ready(bases[-1], started[-1])
        yield bases[0], bases[1]
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=60)


class Client:
    """One customer's browser: its own address (as the trusted proxy names it), any server for each request."""

    def __init__(self) -> None:
        self.headers = {"x-forwarded-for": next(addresses)}

    def post(self, base: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{base}{path}", json=body, headers=self.headers, timeout=120)

    def get(self, base: str, path: str) -> httpx.Response:
        return httpx.get(f"{base}{path}", headers=self.headers, timeout=60)

    def open(self, base: str) -> str:
        response = self.post(base, "/api/sessions", {})
        assert response.status_code == 201, response.text
        return response.json()["session_id"]

    def say(self, base: str, session_id: str, words: str) -> str:
        """The reply's text (the `message` event of the turn's stream)."""
        response = self.post(base, f"/api/sessions/{session_id}/messages", {"text": words})
        assert response.status_code == 200, response.text
        return next(json.loads(data) for event, data in sse(response.text) if event == "message")["text"]


def sse(body: str) -> list[tuple[str, str]]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(":", 1) for line in block.splitlines() if ":" in line and not line.startswith(":"))
        if "event" in lines:
            events.append((lines["event"].strip(), lines.get("data", "").strip()))
    return events


def stored(store: Store, session_id: str, role: str) -> list[str]:
    with store.session() as db:
        query = select(ChatMessage.text).where(ChatMessage.session_id == session_id, ChatMessage.role == role)
        return list(db.scalars(query))


def sign_in(client: Client, base: str, staff_id: str) -> str:
    response = client.post(base, "/api/console/login", {"staff_id": staff_id, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["token"]


def audited(store: Store, action: str, order_id: str) -> int:
    with store.session() as db:
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return sum(1 for entry in entries if order_id in json.dumps(entry.arguments or {}))


# --- a conversation across processes --------------------------------------------------------------------------

def test_a_conversation_alternating_between_processes_goes_as_in_one(
        servers: tuple[str, str], pg_store: Store, store: Store) -> None:
    said = [f"my email is {EMMA_EMAIL}", MOVE, "yes"]
    customer, (a, b) = Client(), servers
    session_id = customer.open(a)
    replies = [customer.say(base, session_id, words) for base, words in zip(itertools.cycle((b, a)), said)]
    one = Agent(store, identity=IdentityPolicy.BENCHMARK)  # the same conversation in one process, on SQLite
    one_session, _ = one.open_session()
    alone = [next(e.data["text"] for e in one.turn(one_session.id, words) if e.type == "message") for words in said]
    assert replies == alone
    assert "To confirm" in replies[1] and "#W2417020" in replies[2]
    assert audited(pg_store, "modify_pending_order_address", "#W2417020") == 1
    with pg_store.session() as db:
        assert db.get(Order, "#W2417020").address1 == "1200 Oak Street"
    history = customer.get(b, f"/api/sessions/{session_id}/messages").json()["messages"]
    assert [m["text"] for m in history if m["role"] == "user"] == said


def test_one_order_acted_on_by_two_processes_at_once_changes_once(servers: tuple[str, str], pg_store: Store) -> None:
    """Two conversations of one customer propose the same cancellation, one on each process; both say yes at the
    same moment: the order's version column lets one change land, the other is told it could not be done."""
    with pg_store.session() as db:
        order = db.scalars(select(Order).where(Order.status == "pending", Order.user_id != "emma_smith_8564")).first()
        email = db.get(User, order.user_id).email
    proposal = f"please cancel order {order.order_id} because I no longer need it"
    customer, conversations = Client(), []
    for base in servers:
        session_id = customer.open(base)
        customer.say(base, session_id, f"my email is {email}")
        assert "To confirm" in customer.say(base, session_id, proposal)
        conversations.append((base, session_id))
    replies: list[str] = []
    gate = threading.Barrier(2)

    def yes(base: str, session_id: str) -> None:
        gate.wait()
        replies.append(customer.say(base, session_id, "yes"))

    threads = [threading.Thread(target=yes, args=conversation) for conversation in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # The loser either read the order after the winner's commit (no longer pending) or before it (its version
    # is stale): either way it is told nothing was done.
    done = [reply for reply in replies if reply.startswith("Done")]
    assert len(replies) == 2 and len(done) == 1 and order.order_id in done[0], replies
    assert "couldn't" in next(reply for reply in replies if reply not in done), replies
    assert internals(replies, f"my email is {email} {proposal}", tool_names()) == []
    assert audited(pg_store, "cancel_pending_order", order.order_id) == 1
    with pg_store.session() as db:
        assert db.get(Order, order.order_id).status == "cancelled"


def test_two_people_taking_one_ticket_on_two_processes_get_it_once(servers: tuple[str, str], pg_store: Store) -> None:
    customer = Client()
    session_id = customer.open(servers[0])
    assert customer.post(servers[0], f"/api/sessions/{session_id}/handoff", {}).status_code == 200
    staff = [{"authorization": f"Bearer {sign_in(customer, base, name)}"}
             for base, name in zip(servers, ("dana", "sam"), strict=True)]
    ticket = next(t for t in httpx.get(f"{servers[0]}/api/console/tickets", headers=staff[0]).json()["tickets"]
                  if t["session_id"] == session_id)
    codes: list[int] = []
    gate = threading.Barrier(2)

    def take(base: str, headers: dict[str, str]) -> None:
        gate.wait()
        codes.append(httpx.post(f"{base}/api/console/tickets/{ticket['id']}/take", headers=headers).status_code)

    threads = [threading.Thread(target=take, args=pair) for pair in zip(servers, staff, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [200, 409]
    assert sum("has joined" in said for said in stored(pg_store, session_id, "assistant")) == 1  # one notice


# --- limits shared by the processes ---------------------------------------------------------------------------

def test_the_rate_limit_is_per_client_not_per_process(servers: tuple[str, str]) -> None:
    customer, other = Client(), Client()
    codes = [customer.post(base, "/api/sessions", {}).status_code for base in itertools.islice(
        itertools.cycle(servers), 13)]
    assert codes == [201] * 12 + [429]  # 12 a minute in all, 6 on each process
    assert customer.post(servers[0], "/api/sessions", {}).status_code == 429
    assert other.post(servers[1], "/api/sessions", {}).status_code == 201  # another client is not held back


def test_failed_sign_ins_are_counted_across_processes(servers: tuple[str, str]) -> None:
    customer = Client()
    wrong = {"staff_id": "lee", "password": "a wrong guess"}
    codes = [customer.post(base, "/api/console/login", wrong).status_code for base in (*servers, servers[0])]
    blocked = customer.post(servers[1], "/api/console/login", {"staff_id": "lee", "password": PASSWORD})
    assert codes == [401, 401, 401] and blocked.status_code == 429


def test_a_conversations_turns_wait_for_each_other_across_processes(servers: tuple[str, str],
                                                                    pg_store: Store) -> None:
    """While one process has a turn of the conversation (here: the test holds its lock), a message sent to the
    other process waits; then the turns run one after the other, each reading the state the last one left."""
    customer, (a, b) = Client(), servers
    session_id = customer.open(a)
    replies: list[str] = []
    first = threading.Thread(target=lambda: replies.append(customer.say(b, session_id, f"my email is {EMMA_EMAIL}")))
    with pg_store.engine.connect() as held:
        key = {"namespace": advisory_lock.CONVERSATION, "name": session_id}
        held.execute(text("SELECT pg_advisory_lock(:namespace, hashtext(:name))"), key)
        first.start()
        first.join(timeout=5)
        assert first.is_alive() and not stored(pg_store, session_id, "user")  # the turn waits, its message too
        held.execute(text("SELECT pg_advisory_unlock(:namespace, hashtext(:name))"), key)
    first.join(timeout=120)
    assert "To confirm" in customer.say(a, session_id, MOVE.replace("1200 Oak", "1300 Oak"))
    history = customer.get(a, f"/api/sessions/{session_id}/messages").json()["messages"]
    assert [m["role"] for m in history] == ["assistant", "user", "assistant", "user", "assistant"]


# --- live events by LISTEN/NOTIFY -----------------------------------------------------------------------------

def test_a_persons_reply_on_one_process_reaches_the_stream_open_on_the_other(servers: tuple[str, str]) -> None:
    customer, (a, b) = Client(), servers
    session_id = customer.open(a)
    assert customer.post(a, f"/api/sessions/{session_id}/handoff", {}).status_code == 200
    staff = {"authorization": f"Bearer {sign_in(customer, a, 'dana')}"}
    ticket = next(t for t in httpx.get(f"{a}/api/console/tickets", headers=staff).json()["tickets"]
                  if t["session_id"] == session_id)
    heard: list[dict[str, Any]] = []
    listening = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{b}/api/sessions/{session_id}/events", params={"wait": 30}, timeout=60) as stream:
            listening.set()
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    heard.append(json.loads(line[5:]))
                if any(m["text"] == "Hi, Dana here." for m in heard):
                    return

    thread = threading.Thread(target=listen)
    thread.start()
    listening.wait(timeout=30)
    assert httpx.post(f"{a}/api/console/tickets/{ticket['id']}/take", headers=staff).status_code == 200
    assert httpx.post(f"{a}/api/console/tickets/{ticket['id']}/messages", json={"text": "Hi, Dana here."},
                      headers=staff).status_code == 201
    thread.join(timeout=60)
    assert [(m["presence"], m["author"]) for m in heard] == [("joined", "Dana"), (None, "Dana")], heard
    assert heard[-1]["text"] == "Hi, Dana here."


def test_the_listener_wakes_on_a_committed_live_message(pg_store: Store) -> None:
    """The NOTIFY is sent by the transaction that stores the message: a process's listener wakes the streams of
    that conversation, and not those of another."""
    conversations = ConversationStore(pg_store)
    mine, theirs = conversations.create().id, conversations.create().id
    listener = LiveListener(pg_store.url)

    async def watch() -> tuple[bool, bool]:
        with listener.watching(mine) as woken, listener.watching(theirs) as other:
            await asyncio.to_thread(listener.listening.wait, 30)
            woken.clear()
            other.clear()
            await asyncio.to_thread(conversations.append, mine, "assistant", "Hi.", {"live": True, "human": True})
            await asyncio.wait_for(woken.wait(), 30)
            return woken.is_set(), other.is_set()

    try:
        assert asyncio.run(watch()) == (True, False)
    finally:
        listener.stop()


def test_a_hit_counted_by_one_limiter_holds_for_another(pg_store: Store) -> None:
    """Two limiters on one database stand for two processes: the third hit is refused whichever counts it."""
    first, second = (RateLimiter(pg_store, "test", 2, window=60) for _ in range(2))
    assert [first.hit("client", now=100.0), second.hit("client", now=101.0), first.hit("client", now=102.0)] == [
        0, 0, 58]  # the first hit leaves the window at 160
    assert second.retry_after("client", now=102.0) == 58 and second.hit("client", now=160.5) == 0


# --- SQLite is one process --------------------------------------------------------------------------------------

def test_workers_refuse_sqlite_with_a_clear_error(home: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "--workers needs PostgreSQL" in result.output and "SQLite is one server process" in result.output


def test_workers_refuse_demo_mode(home: Path) -> None:
    """The demo's mail sink and outbox page are one process's: refused before anything starts."""
    env = {"COLUMNS": "200", "SHOPAGENT_DEMO": "true",
           "SHOPAGENT_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none"}
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"], env=env)
    get_settings.cache_clear()
    assert result.exit_code == 2 and "does not run in demo mode" in result.output
