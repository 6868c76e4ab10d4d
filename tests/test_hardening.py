"""HTTP hardening: bad bodies are 422 and never echoed, limits say when to retry, client addresses come from trusted
proxies only, console sign-in is throttled, CORS and security headers, no public API docs, a staff secret of its
own, order ids that cannot be probed, and turns that keep to their time budget off the event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from agent.escalation.staff import StaffDirectory
from agent.manager import Agent
from evals.security_http import MALFORMED_BODIES
from server.app import create_app
from server.cli import uvicorn_options
from server.config import Settings
from server.staff_tokens import sign_staff_token
from server.turns import AdmissionLine, start_turn, take_slot
from tools.store import Store

PASSWORD = "correct horse battery"
SECRET = "test-secret"


@pytest.fixture
def settings(tmp_path: Path, store: Store) -> Settings:
    return Settings(home=tmp_path, database_url=store.url, backend="none", token_secret=SECRET,
                    rate_limit_per_minute=1000)


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever)


def serve(settings: Settings, agent: Agent, **changes: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes), agent=agent))


@pytest.fixture
def client(settings: Settings, agent: Agent) -> Iterator[TestClient]:
    with serve(settings, agent) as test_client:
        yield test_client


def new_session(client: TestClient, **headers: str) -> str:
    response = client.post("/api/sessions", json={}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["session_id"]


# --- bad bodies -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", MALFORMED_BODIES)  # the security eval sends the same
def test_malformed_or_nan_json_is_422(client: TestClient, body: bytes) -> None:
    session_id = new_session(client)
    response = client.post(f"/api/sessions/{session_id}/messages", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_validation_errors_do_not_echo_the_input(client: TestClient) -> None:
    session_id = new_session(client)
    secret_text = "my card number is 4111 1111 1111 1111 " + "x" * 2000
    response = client.post(f"/api/sessions/{session_id}/messages", json={"text": secret_text})
    assert response.status_code == 422
    assert "4111" not in response.text and "xxxxxxxxxx" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "text"]


# --- limits and client addresses ------------------------------------------------------------------------------


def test_429_says_when_to_retry(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent, rate_limit_per_minute=1) as client:
        assert client.post("/api/sessions", json={}).status_code == 201
        response = client.post("/api/sessions", json={})
    assert response.status_code == 429 and 1 <= int(response.headers["retry-after"]) <= 60


def test_503_says_when_to_retry(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent, turn_queue_seconds=0.2) as client:
        session_id = new_session(client)
        slots = client.app.state.turn_slots
        taken = 0
        while slots.acquire(blocking=False):
            taken += 1
        try:
            response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
        finally:
            for _ in range(taken):
                slots.release()
    assert response.status_code == 503 and int(response.headers["retry-after"]) > 0


def test_the_line_for_turn_slots_is_first_come_first_served() -> None:
    slots = threading.BoundedSemaphore(1)
    line = AdmissionLine()

    async def scenario() -> list[str]:
        first = take_slot(slots)
        assert first is not None
        admitted: list[str] = []

        async def wait(name: str) -> None:
            slot = await line.admit(slots, patience=10)
            assert slot is not None
            admitted.append(name)
            await asyncio.sleep(0.1)  # the turn runs
            slot.release()

        waiting = [asyncio.create_task(wait(name)) for name in ("early", "middle", "late")]
        await asyncio.sleep(0.1)
        assert len(line) == 3 and admitted == []  # all in line while the slot is busy
        first.release()
        await asyncio.gather(*waiting)
        return admitted

    assert asyncio.run(scenario()) == ["early", "middle", "late"]


def test_forwarded_for_is_ignored_without_trusted_proxies(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent, rate_limit_per_minute=2) as client:
        codes = [client.post("/api/sessions", json={}, headers={"x-forwarded-for": f"9.9.9.{n}"}).status_code
                 for n in range(3)]
    assert codes == [201, 201, 429]


def test_a_trusted_proxy_names_the_customer(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent, rate_limit_per_minute=2, trusted_proxies=["testclient", "10.0.0.0/8"]) as client:
        def create(forwarded: str) -> int:
            return client.post("/api/sessions", json={}, headers={"x-forwarded-for": forwarded}).status_code

        assert [create("1.1.1.1"), create("1.1.1.1"), create("1.1.1.1")] == [201, 201, 429]
        # The customer's own claims (left) are ignored; so are trusted proxies (right) in a chain of them.
        assert create("7.7.7.7, 1.1.1.1") == 429 and create("1.1.1.1, 10.1.2.3") == 429
        assert create("1.1.1.1, 2.2.2.2") == 201


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live(settings: Settings, agent: Agent):  # type: ignore[no-untyped-def]
    """start(**settings changes) serves the app with uvicorn, configured as `shopagent serve` does, on
    127.0.0.1 (where uvicorn's default would believe X-Forwarded-For); returns its base URL."""
    import uvicorn

    servers: list[tuple[Any, threading.Thread, socket.socket]] = []

    def start(**changes: Any) -> str:
        app = create_app(settings.model_copy(update=changes), agent=agent)
        sock = _free_socket()
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", **uvicorn_options(app.state.settings)))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread, sock))
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        host, port = sock.getsockname()
        return f"http://{host}:{port}"

    yield start
    for server, thread, sock in servers:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_a_real_server_does_not_trust_forwarding_headers_by_default(live) -> None:  # type: ignore[no-untyped-def]
    url = live(rate_limit_per_minute=2)
    codes = [httpx.post(f"{url}/api/sessions", json={}, headers={"x-forwarded-for": f"9.9.9.{n}"}).status_code
             for n in range(3)]
    assert codes == [201, 201, 429]


# --- console sign-in ------------------------------------------------------------------------------------------


@pytest.fixture
def staff(store: Store) -> None:
    StaffDirectory(store).add("dana", PASSWORD, "Dana")
    StaffDirectory(store).add("lee", PASSWORD, "Lee")


def login(client: TestClient, staff_id: str, password: str, address: str = "1.1.1.1") -> httpx.Response:
    return client.post("/api/console/login", json={"staff_id": staff_id, "password": password},
                       headers={"x-forwarded-for": address})


def test_sign_in_is_throttled_per_account(settings: Settings, agent: Agent, staff: None) -> None:
    with serve(settings, agent, login_failures_per_account=3, trusted_proxies=["testclient"]) as client:
        codes = [login(client, "dana", "guess", f"8.8.8.{n}").status_code for n in range(3)]
        blocked = login(client, "dana", PASSWORD, "8.8.8.200")  # even the right password, from a new address
        other = login(client, "lee", PASSWORD, "8.8.8.201")
    assert codes == [401, 401, 401]
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert other.status_code == 200


def test_sign_in_is_throttled_per_address(settings: Settings, agent: Agent, staff: None) -> None:
    with serve(settings, agent, login_failures_per_address=3, trusted_proxies=["testclient"]) as client:
        codes = [login(client, f"nobody{n}", "guess", "6.6.6.6").status_code for n in range(3)]
        blocked = login(client, "lee", PASSWORD, "6.6.6.6")
        elsewhere = login(client, "lee", PASSWORD, "5.5.5.5")
    assert codes == [401, 401, 401] and blocked.status_code == 429 and elsewhere.status_code == 200


def test_a_successful_sign_in_is_not_counted(settings: Settings, agent: Agent, staff: None) -> None:
    with serve(settings, agent, login_failures_per_account=2) as client:
        assert [login(client, "dana", PASSWORD).status_code for _ in range(5)] == [200] * 5


# --- staff secret ---------------------------------------------------------------------------------------------


def test_the_customer_token_secret_cannot_mint_staff_tokens(client: TestClient, staff: None) -> None:
    settings: Settings = client.app.state.settings
    assert settings.staff_secret() != settings.secret()
    forged = sign_staff_token(settings.secret(), "dana")
    assert client.get("/api/console/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    issued = login(client, "dana", PASSWORD).json()["token"]
    assert client.get("/api/console/me", headers={"Authorization": f"Bearer {issued}"}).status_code == 200


def test_the_staff_secret_is_kept_apart_and_configurable(tmp_path: Path) -> None:
    generated = Settings(home=tmp_path)
    assert generated.staff_secret() == generated.staff_secret() != generated.secret()
    assert (tmp_path / "staff_token_secret").stat().st_mode & 0o077 == 0
    assert Settings(home=tmp_path, staff_token_secret="s3").staff_secret() == "s3"


# --- CORS, headers, docs --------------------------------------------------------------------------------------


def test_cors_allows_no_other_origin_by_default(client: TestClient) -> None:
    response = client.options("/api/sessions", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_configured_storefront(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent, cors_origins=["https://shop.example"]) as client:
        allowed = client.post("/api/sessions", json={}, headers={"Origin": "https://shop.example"})
        other = client.post("/api/sessions", json={}, headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("path", ["/", "/console", "/widget.js", "/storefront.css", "/healthz", "/nope"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"]


def test_streamed_turns_and_413s_carry_them_too(client: TestClient) -> None:
    session_id = new_session(client)
    turn = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
    too_big = client.post(f"/api/sessions/{session_id}/messages", content=b"x" * 20_000,
                          headers={"content-type": "application/json"})
    assert turn.headers["x-frame-options"] == too_big.headers["x-frame-options"] == "DENY"
    assert too_big.status_code == 413


def test_the_pages_have_no_inline_script_or_style(client: TestClient) -> None:
    for page in ("/", "/console"):
        html = client.get(page).text
        assert "<style" not in html and "style=" not in html
        assert all("src=" in tag.split(">")[0] for tag in html.split("<script")[1:])


def test_api_docs_are_off_unless_enabled(settings: Settings, agent: Agent) -> None:
    with serve(settings, agent) as client:
        assert [client.get(p).status_code for p in ("/docs", "/openapi.json", "/redoc")] == [404, 404, 404]
    with serve(settings, agent, api_docs=True) as client:
        assert client.get("/docs").status_code == 200
        assert "/api/sessions" in client.get("/openapi.json").json()["paths"]


# --- order ids before and after identity ----------------------------------------------------------------------

OWN_ORDER, OTHERS_ORDER, NO_ORDER = "#W2611340", "#W7678072", "#W0000000"  # james_li_5688's; another customer's


def test_order_lookups_do_not_reveal_which_ids_exist(runner, make_ctx) -> None:  # type: ignore[no-untyped-def]
    def error(order_id: str, customer_id: str | None) -> str:
        result = runner.call(make_ctx(customer_id), "get_order_details", {"order_id": order_id})
        assert not result.ok
        return result.error.replace(order_id, "<id>")

    assert error(OTHERS_ORDER, None) == error(NO_ORDER, None)  # before identity: "verify first", whatever the id
    assert "verify your identity" in error(OTHERS_ORDER, None)
    assert error(OTHERS_ORDER, "james_li_5688") == error(NO_ORDER, "james_li_5688")
    assert runner.call(make_ctx("james_li_5688"), "get_order_details", {"order_id": OWN_ORDER}).ok


# --- turns: budget, slots, the event loop ---------------------------------------------------------------------


@pytest.fixture
def slow_turns(monkeypatch):  # type: ignore[no-untyped-def]
    """Turns that block until released (a stand-in for CPU-heavy work); yields the release event."""
    from agent.flows import Outcome, Turn

    release, started = threading.Event(), threading.Event()

    def handle(self, said):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(20)
        return Outcome("done waiting", gist="info")

    monkeypatch.setattr(Turn, "handle", handle)
    yield release, started
    release.set()


def test_a_turn_past_its_budget_apologises_and_frees_its_slot(settings: Settings, agent: Agent,
                                                              slow_turns) -> None:  # type: ignore[no-untyped-def]
    with serve(settings, agent, turn_budget_seconds=0.5, max_concurrent_turns=1) as client:
        session_id = new_session(client)
        response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
        names = [line.split(": ", 1)[1] for line in response.text.splitlines() if line.startswith("event: ")]
        assert names == ["error", "message", "done"]
        slots = client.app.state.turn_slots
        assert slots.acquire(blocking=False)  # the one slot is free while the turn still runs
        slots.release()


def test_a_turn_that_finds_no_worker_within_its_budget_still_gets_the_apology(agent: Agent) -> None:
    """The thread that gave up waiting for a worker and the budget's timer race to free the slot: whichever wins,
    the customer gets the apology and `done`, never an empty stream."""
    workers = threading.BoundedSemaphore(1)
    workers.acquire()  # the one worker is busy for longer than the budget
    session, _ = agent.open_session()

    async def events() -> list[str]:
        slot = take_slot(threading.BoundedSemaphore(1))
        assert slot is not None
        queue = start_turn(agent, session.id, "hi", slot, budget=0.2, workers=workers)
        names = []
        while (event := await queue.get()) is not None:
            names.append(event.type)
        return names

    try:
        for _ in range(5):  # either side may win the race
            assert asyncio.run(events()) == ["error", "message", "done"]
    finally:
        workers.release()


def test_a_turn_whose_client_left_holds_no_slot_beyond_the_budget(agent: Agent, slow_turns) -> None:  # type: ignore[no-untyped-def]
    _, started = slow_turns
    slots = threading.BoundedSemaphore(1)
    session, _ = agent.open_session()

    async def scenario() -> bool:
        slot = take_slot(slots)
        assert slot is not None
        start_turn(agent, session.id, "hi", slot, budget=0.3)  # nobody reads its events: the client is gone
        await asyncio.to_thread(started.wait, 10)
        held = take_slot(slots) is None
        await asyncio.sleep(0.6)
        return held and take_slot(slots) is not None

    assert asyncio.run(scenario())


def test_health_answers_while_turns_are_busy(live, slow_turns) -> None:  # type: ignore[no-untyped-def]
    release, started = slow_turns
    url = live(max_concurrent_turns=2)
    session_id = httpx.post(f"{url}/api/sessions", json={}).json()["session_id"]
    finished: list[int] = []

    def post() -> None:
        finished.append(httpx.post(f"{url}/api/sessions/{session_id}/messages", json={"text": "hi"},
                                   timeout=30).status_code)

    turn = threading.Thread(target=post)
    turn.start()
    assert started.wait(10)
    health = httpx.get(f"{url}/healthz", timeout=10)
    other = httpx.post(f"{url}/api/sessions", json={}, timeout=10)
    assert health.status_code == 200 and other.status_code == 201 and not finished  # the turn still runs
    release.set()
    turn.join(timeout=30)
    assert finished == [200]


def test_only_turn_workers_turns_compute_at_once(agent: Agent, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from agent.flows import Outcome, Turn

    running, most = [0], [0]
    lock = threading.Lock()

    def handle(self, said):  # type: ignore[no-untyped-def]
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return Outcome("ok", gist="info")

    monkeypatch.setattr(Turn, "handle", handle)
    slots, workers = threading.BoundedSemaphore(3), threading.BoundedSemaphore(1)

    async def scenario() -> None:
        queues = []
        for _ in range(3):
            session, _ = agent.open_session()
            slot = take_slot(slots)
            assert slot is not None
            queues.append(start_turn(agent, session.id, "hi", slot, budget=20, workers=workers))
        for queue in queues:
            while await queue.get() is not None:
                pass

    asyncio.run(scenario())
    assert most[0] == 1
