"""The HTTP API (FastAPI TestClient): sessions, the event stream of a turn, history, signed tokens, limits."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.llm.base import GenerationOptions, GenerationStats, Message
from agent.manager import Agent
from server.app import create_app
from server.config import Settings
from server.tokens import sign_customer_token, verify_customer_token
from tools.store import Store

SECRET = "test-secret"


@pytest.fixture
def settings(tmp_path: Path, store: Store) -> Settings:
    return Settings(home=tmp_path, database_url=store.url, backend="none", token_secret=SECRET,
                    rate_limit_per_minute=1000)


@pytest.fixture
def client(settings: Settings, store: Store, retriever) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings, agent=Agent(store, retriever=retriever))) as test_client:
        yield test_client


def events_of(response) -> list[tuple[str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """Parse a text/event-stream body into (event, data) pairs."""
    parsed = []
    for block in response.text.replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


def new_session(client: TestClient, **body: Any) -> str:
    response = client.post("/api/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()["session_id"]


def test_a_turn_streams_tool_events_cards_tokens_and_the_final_message(client: TestClient) -> None:
    session_id = new_session(client)
    response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "do you have a mechanical keyboard?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response)
    names = [name for name, _ in events]
    assert names[:2] == ["status", "products"]  # the step in plain words, never the tool's name or arguments
    assert events[0][1] == {"text": "Searching the catalogue…"}
    assert names[-2:] == ["message", "done"] and "token" in names
    message = events[-2][1]
    assert "".join(d["text"] for n, d in events if n == "token") == message["text"]
    cards = events[1][1]["products"]
    assert cards[0]["name"] == "Mechanical Keyboard"
    # The cards are shown: the text sums them up (how many, the price range) rather than listing them again.
    prices = sorted(float(card["price"]) for card in cards)
    assert f"${prices[0]:.2f}" in message["text"] and f"${prices[-1]:.2f}" in message["text"]
    assert f"{len(cards)} matching item" in message["text"] and "\n- " not in message["text"]


def test_history_lists_the_conversation(client: TestClient) -> None:
    session_id = new_session(client)
    client.post(f"/api/sessions/{session_id}/messages", json={"text": "hello"})
    body = client.get(f"/api/sessions/{session_id}/messages").json()
    assert [m["role"] for m in body["messages"]] == ["assistant", "user", "assistant"]
    assert body["messages"][1]["text"] == "hello"


def test_a_signed_token_starts_an_authenticated_session(client: TestClient) -> None:
    token = sign_customer_token(SECRET, "james_li_5688")
    response = client.post("/api/sessions", json={"token": token})
    assert response.status_code == 201 and response.json()["customer_id"] == "james_li_5688"
    session_id = response.json()["session_id"]
    events = events_of(client.post(f"/api/sessions/{session_id}/messages", json={"text": "status of #W2611340"}))
    assert ("status", {"text": "Looking up your order…"}) in events
    assert not any(name.startswith("tool_") for name, _ in events)
    assert "processed" in events[-2][1]["text"]


def tampered(token: str) -> str:
    """The token with its last signature character changed (to a different one, whatever it was)."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


@pytest.mark.parametrize(
    "token",
    [
        sign_customer_token("another-secret", "james_li_5688"),  # forged: signed with the wrong secret
        sign_customer_token(SECRET, "james_li_5688", ttl_seconds=-10),  # expired
        sign_customer_token(SECRET, "no_such_customer_1234"),  # unknown customer
        "not-a-token",
        "YQ.9999999999.é",  # non-ASCII signature
        tampered(sign_customer_token(SECRET, "james_li_5688")),  # tampered signature
    ],
)
def test_bad_tokens_are_rejected_and_create_nothing(client: TestClient, agent_sessions, token: str) -> None:
    before = agent_sessions()
    response = client.post("/api/sessions", json={"token": token})
    assert response.status_code == 401 and "Invalid customer token" in response.json()["detail"]
    assert agent_sessions() == before


def test_token_round_trip_and_tampered_customer() -> None:
    token = sign_customer_token(SECRET, "mia_moore_8366", now=1000, ttl_seconds=60)
    assert verify_customer_token(SECRET, token, now=1030) == "mia_moore_8366"
    _, expiry, signature = token.split(".")
    other = sign_customer_token(SECRET, "james_li_5688", now=1000, ttl_seconds=60).split(".")[0]
    with pytest.raises(ValueError):
        verify_customer_token(SECRET, f"{other}.{expiry}.{signature}", now=1030)


@pytest.mark.parametrize(
    ("body", "status"),
    [({"text": ""}, 422), ({"text": "   "}, 422), ({"text": "x" * 2001}, 422), ({}, 422), ({"text": 5}, 422)],
)
def test_bad_messages_get_4xx_and_change_nothing(client: TestClient, body: dict, status: int) -> None:
    session_id = new_session(client)
    response = client.post(f"/api/sessions/{session_id}/messages", json=body)
    assert response.status_code == status
    assert len(client.get(f"/api/sessions/{session_id}/messages").json()["messages"]) == 1


def test_unknown_session_is_404(client: TestClient) -> None:
    assert client.post("/api/sessions/nope/messages", json={"text": "hi"}).status_code == 404
    assert client.get("/api/sessions/nope/messages").status_code == 404
    assert client.post("/api/sessions/nope/handoff").status_code == 404


def test_oversized_body_is_413(client: TestClient) -> None:
    session_id = new_session(client)
    response = client.post(
        f"/api/sessions/{session_id}/messages", content=b'{"text": "' + b"a" * 20_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


def test_oversized_chunked_body_is_413(client: TestClient) -> None:
    session_id = new_session(client)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"text": "'
        for _ in range(40):
            yield b"a" * 1000
        yield b'"}'

    response = client.post(
        f"/api/sessions/{session_id}/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_rate_limit_is_429(settings: Settings, store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(limited, agent=Agent(store, retriever=retriever))) as client:
        codes = [client.post("/api/sessions", json={}).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]


def test_too_many_concurrent_turns_get_503_after_waiting_in_line(settings: Settings, store: Store,
                                                                   retriever) -> None:  # type: ignore[no-untyped-def]
    patient = settings.model_copy(update={"turn_queue_seconds": 0.3})
    with TestClient(create_app(patient, agent=Agent(store, retriever=retriever))) as client:
        session_id = new_session(client)
        slots = client.app.state.turn_slots
        taken = 0
        while slots.acquire(blocking=False):  # every slot busy, as under a burst of long turns
            taken += 1
        try:
            started = time.monotonic()
            response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
            assert response.status_code == 503 and "busy" in response.json()["detail"]
            assert time.monotonic() - started >= 0.3  # it waited its patience in line first
        finally:
            for _ in range(taken):
                slots.release()
        assert client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"}).status_code == 200


def test_a_turn_waits_in_line_for_a_slot_that_frees(client: TestClient) -> None:
    session_id = new_session(client)
    slots = client.app.state.turn_slots
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    freeing = threading.Timer(0.5, slots.release)  # one turn ends while this one is in line
    freeing.start()
    try:
        response = client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"})
    finally:
        freeing.join()
        for _ in range(taken - 1):
            slots.release()
    assert response.status_code == 200 and "event: done" in response.text


def test_rate_limit_uses_the_proxy_header_when_configured(settings: Settings, store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    behind_proxy = settings.model_copy(update={"rate_limit_per_minute": 2, "trusted_proxies": ["testclient"]})
    with TestClient(create_app(behind_proxy, agent=Agent(store, retriever=retriever))) as client:
        def create(address: str) -> int:
            return client.post("/api/sessions", json={}, headers={"x-forwarded-for": address}).status_code

        assert [create("1.1.1.1"), create("1.1.1.1"), create("1.1.1.1")] == [201, 201, 429]
        assert create("spoofed, 2.2.2.2") == 201  # another customer, by the address the proxy saw


def test_handoff_button(client: TestClient) -> None:
    session_id = new_session(client)
    response = client.post(f"/api/sessions/{session_id}/handoff")
    notice = response.json()["notice"]
    assert response.status_code == 200 and "repeat yourself" in notice
    assert "Unverified customer" not in notice and "Customer said" not in notice  # the staff summary is not theirs
    assert client.get(f"/api/sessions/{session_id}/messages").json()["messages"][-1]["handoff"] is True


class BrokenModel:
    """A model backend that fails mid-generation, as a crashed inference server would."""

    name = "broken"
    last_stats = GenerationStats()

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        raise RuntimeError("inference backend crashed")
        yield ""


def test_a_failing_model_never_hangs_the_stream(settings: Settings, store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    agent = Agent(store, retriever=retriever, model=BrokenModel())
    with TestClient(create_app(settings, agent=agent)) as client:
        session_id = new_session(client)
        for text in ("hello", "blorp"):  # the opening line fails; the planner fails
            events = events_of(client.post(f"/api/sessions/{session_id}/messages", json={"text": text}))
            assert [name for name, _ in events][-2:] == ["message", "done"]
            assert events[-2][1]["text"]


def test_a_crashing_turn_yields_an_apology_and_an_error_event(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from agent.flows import Turn

    def explode(self, said):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    monkeypatch.setattr(Turn, "handle", explode)
    session_id = new_session(client)
    events = events_of(client.post(f"/api/sessions/{session_id}/messages", json={"text": "hi"}))
    assert [name for name, _ in events] == ["error", "message", "done"]
    assert "something went wrong" in events[1][1]["text"]
    # The customer's message is kept even though the turn failed.
    assert client.get(f"/api/sessions/{session_id}/messages").json()["messages"][1]["text"] == "hi"


def test_health_and_widget_files(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "model": "none", "store": "ok", "search": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and "widget.js" in page.text
    assert client.get("/widget.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/widget.css").status_code == 200


@pytest.fixture
def agent_sessions(store: Store):  # type: ignore[no-untyped-def]
    from sqlalchemy import func, inspect, select

    from agent.memory import ChatSession

    def count() -> int:
        if not inspect(store.engine).has_table("chat_sessions"):
            return 0
        with store.session() as session:
            return session.scalar(select(func.count()).select_from(ChatSession))

    return count


def test_the_customer_stream_shows_no_internals(client: TestClient) -> None:
    """Over a conversation that looks an order up, cancels it and hands off, no event or history message of the
    customer's stream names a tool, carries a tool's arguments, or shows a payment id the customer never gave."""
    from agent.toolcall import AGENT_TOOLS

    tools = [tool.name for tool in AGENT_TOOLS]
    response = client.post("/api/sessions", json={"token": sign_customer_token(SECRET, "james_li_5688")})
    session_id = response.json()["session_id"]
    said = ["status of #W2611340", "what is my gift card balance?", "I want to talk to a real person"]
    events = [e for text in said for e in events_of(client.post(f"/api/sessions/{session_id}/messages",
                                                                  json={"text": text}))]
    events.append(("handoff-button", client.post(f"/api/sessions/{session_id}/handoff").json()))
    history = client.get(f"/api/sessions/{session_id}/messages").json()["messages"]
    shown = [json.dumps(data) for _, data in events] + [json.dumps(m) for m in history]
    assert {name for name, _ in events} >= {"status", "message", "handoff", "done"}
    for text in shown:
        assert not [name for name in tools if name in text], text
        assert "arguments" not in text and "Customer said" not in text and "Already done" not in text, text
        assert not re.search(r"\b(?:credit_card|gift_card|paypal)_\d+", text), text
