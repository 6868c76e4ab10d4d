"""Feedback that teaches the agent: the widget's 👍/👎 and "was this solved?" stored with their reply, a person's
edit of a copilot draft stored with the message sent, and `shopagent feedback export` as masked training examples
that `shopagent finetune --extra` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from agent.escalation.staff import StaffDirectory
from agent.feedback.export import export_feedback
from agent.feedback.store import FeedbackStore
from agent.feedback.tables import Feedback, FeedbackKind
from agent.manager import Agent
from finetune.extra import load_extra
from server.app import create_app
from server.config import Settings
from tools.context import IdentityPolicy
from tools.retail.data_model import AuditEntry
from tools.store import Store

PASSWORD = "correct horse battery"
EMAIL = "james.li4495@example.com"


@pytest.fixture
def agent(store: Store, retriever: Any) -> Agent:
    return Agent(store, retriever=retriever, identity=IdentityPolicy.BENCHMARK)  # an email alone identifies


@pytest.fixture
def client(tmp_path: Path, store: Store, agent: Agent) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="test-secret",
                        rate_limit_per_minute=10_000)
    StaffDirectory(store).add("dana", PASSWORD, "Dana")
    with TestClient(create_app(settings, agent=agent)) as test_client:
        yield test_client


def say(client: TestClient, session_id: str, text: str) -> dict[str, Any]:
    """The turn's final `message` event."""
    response = client.post(f"/api/sessions/{session_id}/messages", json={"text": text})
    assert response.status_code == 200, response.text
    blocks = [b for b in response.text.replace("\r\n", "\n").split("\n\n") if "event: message" in b]
    return json.loads(blocks[-1].split("data: ", 1)[1])


def new_session(client: TestClient) -> str:
    return client.post("/api/sessions", json={}).json()["session_id"]


def rows(store: Store) -> list[Feedback]:
    return FeedbackStore(store).all()


def test_a_rating_is_stored_with_its_reply_and_a_change_of_mind_replaces_it(client: TestClient, store: Store) -> None:
    session_id = new_session(client)
    reply = say(client, session_id, "do you have a mechanical keyboard?")
    url = f"/api/sessions/{session_id}/feedback"
    stored = client.post(url, json={"message_id": reply["id"], "kind": "thumbs_up"})
    assert stored.status_code == 201, stored.text
    assert stored.json()["kind"] == "thumbs_up"
    assert client.post(url, json={"message_id": reply["id"], "kind": "thumbs_up"}).status_code == 201  # a repeat
    client.post(url, json={"message_id": reply["id"], "kind": "thumbs_down", "comment": "too many"})
    [row] = rows(store)
    assert (row.session_id, row.message_id, row.kind, row.comment) == (session_id, reply["id"], "thumbs_down",
                                                                       "too many")


def test_the_thanks_reply_asks_whether_it_was_solved_and_the_answer_is_stored(client: TestClient,
                                                                               store: Store) -> None:
    session_id = new_session(client)
    assert not say(client, session_id, "do you have a mechanical keyboard?")["closing"]
    thanks = say(client, session_id, "thanks, that's all")
    assert thanks["closing"] is True
    response = client.post(f"/api/sessions/{session_id}/feedback", json={"message_id": thanks["id"],
                                                                          "kind": "solved_yes"})
    assert response.status_code == 201
    assert [r.kind for r in rows(store)] == ["solved_yes"]


def test_only_the_conversation_s_own_replies_can_be_rated(client: TestClient, store: Store) -> None:
    mine, theirs = new_session(client), new_session(client)
    their_reply = say(client, theirs, "hello")
    mine_history = client.get(f"/api/sessions/{mine}/messages").json()["messages"]
    url = f"/api/sessions/{mine}/feedback"
    assert client.post(url, json={"message_id": their_reply["id"], "kind": "thumbs_up"}).status_code == 404
    say(client, mine, "hello")
    own_words = [m for m in client.get(f"/api/sessions/{mine}/messages").json()["messages"] if m["role"] == "user"]
    assert client.post(url, json={"message_id": own_words[0]["id"], "kind": "thumbs_up"}).status_code == 404
    assert client.post("/api/sessions/nope/feedback", json={"message_id": mine_history[0]["id"],
                                                            "kind": "thumbs_up"}).status_code == 404
    assert rows(store) == []


@pytest.mark.parametrize("body", [{"message_id": 1, "kind": "love_it"}, {"message_id": 0, "kind": "thumbs_up"},
                                  {"message_id": "x", "kind": "thumbs_up"}, {"kind": "thumbs_up"},
                                  {"message_id": 1, "kind": "staff_edit"},
                                  {"message_id": 1, "kind": "thumbs_up", "comment": "x" * 501}])
def test_bad_feedback_is_422_and_stores_nothing(client: TestClient, store: Store, body: dict[str, Any]) -> None:
    session_id = new_session(client)
    response = client.post(f"/api/sessions/{session_id}/feedback", json=body)
    assert response.status_code == 422
    assert "x" * 50 not in response.text  # the bad input is not echoed back
    assert rows(store) == []


def test_feedback_is_rate_limited_like_the_other_routes(tmp_path: Path, store: Store, agent: Agent) -> None:
    settings = Settings(home=tmp_path, database_url=store.url, backend="none", token_secret="s",
                        rate_limit_per_minute=3)
    with TestClient(create_app(settings, agent=agent)) as client:
        session_id = new_session(client)
        codes = [client.post(f"/api/sessions/{session_id}/feedback", json={"message_id": 1, "kind": "thumbs_up"})
                 .status_code for _ in range(4)]
    assert codes[-1] == 429


def staff_headers(client: TestClient) -> dict[str, str]:
    token = client.post("/api/console/login", json={"staff_id": "dana", "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def taken_ticket(client: TestClient, agent: Agent) -> tuple[str, int, dict[str, str], str]:
    session, _ = agent.open_session(customer_id="yusuf_rossi_9620")
    for text in ("where is my order #W2378156?", "I want to talk to a person"):
        list(agent.turn(session.id, text))
    headers = staff_headers(client)
    ticket_id = client.get("/api/console/tickets", headers=headers).json()["tickets"][0]["id"]
    draft = client.get(f"/api/console/tickets/{ticket_id}", headers=headers).json()["drafts"][0]["text"]
    assert client.post(f"/api/console/tickets/{ticket_id}/take", headers=headers).status_code == 200
    return session.id, ticket_id, headers, draft


def test_a_person_s_edit_of_a_draft_is_stored_with_the_message_sent(client: TestClient, agent: Agent,
                                                                     store: Store) -> None:
    session_id, ticket_id, headers, draft = taken_ticket(client, agent)
    url = f"/api/console/tickets/{ticket_id}/messages"
    unchanged = client.post(url, json={"text": draft, "draft": draft}, headers=headers)
    assert unchanged.status_code == 201 and rows(store) == []  # sent as suggested: nothing to learn
    edited = client.post(url, json={"text": draft + " Anything else I can do?", "draft": draft}, headers=headers)
    assert edited.status_code == 201
    [row] = rows(store)
    assert (row.kind, row.session_id, row.message_id, row.draft, row.staff_id) == (
        "staff_edit", session_id, edited.json()["id"], draft, "dana")
    assert client.post(url, json={"text": "ok", "draft": "x" * 2001}, headers=headers).status_code == 422
    assert len(rows(store)) == 1


def test_export_writes_masked_examples_finetune_accepts(client: TestClient, agent: Agent, store: Store,
                                                        tmp_path: Path) -> None:
    session_id = new_session(client)
    said = say(client, session_id, f"my email is {EMAIL}, where is order #W2611340?")
    feedback = f"/api/sessions/{session_id}/feedback"
    client.post(feedback, json={"message_id": said["id"], "kind": "thumbs_up"})
    disliked = say(client, session_id, "do you have a mechanical keyboard?")
    client.post(feedback, json={"message_id": disliked["id"], "kind": "thumbs_down"})
    _, ticket_id, headers, draft = taken_ticket(client, agent)
    client.post(f"/api/console/tickets/{ticket_id}/messages", headers=headers,
                json={"text": "Dana here: it ships to 123 Main Street, Springfield, IL 62701.", "draft": draft})

    out = tmp_path / "feedback.jsonl"
    counts = export_feedback(store, out)
    assert (counts["thumbs_up"], counts["thumbs_down"], counts["staff_edit"]) == (1, 1, 1)
    text = out.read_text()
    assert EMAIL not in text and "james.li4495" not in text and "j***@example.com" in text
    assert "123 Main Street" not in text and "[street]" in text
    examples = [json.loads(line) for line in text.splitlines()]
    [call] = [e for e in examples if e["family"] == "feedback:thumbs_up"]
    assert call["messages"][-1] == {"role": "user", "content": "my email is j***@example.com, where is order "
                                                               "#W2611340?"}
    assert call["target"] == {"tool": "find_user_id_by_email", "arguments": {"email": "j***@example.com"}}
    [edit] = [e for e in examples if e["family"] == "feedback:staff_edit"]
    assert edit["target"]["draft"] == draft and edit["target"]["reply"].startswith("Dana here")
    assert not any("keyboard" in e["messages"][-1]["content"] for e in examples)  # the 👎'd turn is left out
    with store.session() as db:
        assert db.scalars(select(AuditEntry).where(AuditEntry.action == "feedback_export")).one()

    extra = load_extra([out])  # what `shopagent finetune --extra` reads
    assert [e["target"]["tool"] for e in extra.examples] == ["find_user_id_by_email"] and extra.skipped_replies == 1


def test_the_export_command_writes_an_owner_only_file(client: TestClient, store: Store, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from server.cli import app
    from server.config import get_settings

    session_id = new_session(client)
    reply = say(client, session_id, "hello")
    client.post(f"/api/sessions/{session_id}/feedback", json={"message_id": reply["id"], "kind": "thumbs_up"})
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", store.url)
    get_settings.cache_clear()
    out = tmp_path / "fb.jsonl"
    result = CliRunner().invoke(app, ["feedback", "export", "--out", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 examples written" in result.output and out.stat().st_mode & 0o077 == 0
    assert json.loads(out.read_text())["target"] == {"tool": "none", "arguments": {}}


def test_finetune_refuses_a_malformed_extra_file_before_doing_anything(tmp_path: Path) -> None:
    from server.cli import app

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}], "target": {"tool": "rm_rf", "arguments": {}}}\n')
    result = CliRunner().invoke(app, ["finetune", "--extra", str(bad), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output
    assert not (tmp_path / "run").exists()


TINY_RUN = ('model = "smollm2-135m"\nseed = 3\n[data]\ntrain_conversations = 2\ndev_conversations = 1\n'
            'bitext_examples = 0\n[train]\nmax_steps = 2\nbatch_size = 2\nmax_length = 192\ncheckpoint_every = 1\n'
            'learning_rate = 0.05\nthreads = 1\n')
SMALL_EVAL = ["--backend", "llama_cpp", "--option", "models=tuned", "--option", "dev_conversations=1",
              "--option", "routing_limit=2"]


@pytest.mark.slow
def test_the_retrain_and_compare_loop_end_to_end(client: TestClient, store: Store, tmp_path: Path, data_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """README "Learning from feedback": export → finetune --extra → eval --baseline, on a tiny run."""
    from server.cli import app
    from server.config import get_settings

    session_id = new_session(client)
    reply = say(client, session_id, f"my email is {EMAIL}")
    client.post(f"/api/sessions/{session_id}/feedback", json={"message_id": reply["id"], "kind": "thumbs_up"})
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", store.url)
    get_settings.cache_clear()
    cli = CliRunner()
    try:
        exported = tmp_path / "feedback.jsonl"
        result = cli.invoke(app, ["feedback", "export", "--out", str(exported)])
        assert result.exit_code == 0, result.output

        config, run = tmp_path / "tiny.toml", tmp_path / "run"
        config.write_text(TINY_RUN)
        result = cli.invoke(app, ["finetune", "--config", str(config), "--data-dir", str(data_dir), "--out", str(run),
                                  "--extra", str(exported)])
        assert result.exit_code == 0, result.output
        assert "extra: 1 call examples added to train" in result.output
        train = [json.loads(line) for line in (run / "data" / "train.jsonl").read_text().splitlines()]
        assert [e["target"] for e in train if e["family"] == "feedback:thumbs_up"] == [
            {"tool": "find_user_id_by_email", "arguments": {"email": "j***@example.com"}}]
        assert (run / "adapter_model.safetensors").is_file()

        before, after = tmp_path / "before", tmp_path / "after"
        result = cli.invoke(app, ["eval", "toolcalls", "--data-dir", str(data_dir), "--out", str(before),
                                  "--adapter", "default", *SMALL_EVAL])
        assert result.exit_code == 0, result.output
        result = cli.invoke(app, ["eval", "toolcalls", "--data-dir", str(data_dir), "--out", str(after),
                                  "--adapter", str(run), "--baseline", str(before), *SMALL_EVAL])
        assert result.exit_code in (0, 3), result.output  # 3: a metric regressed against the baseline
        report = (after / "toolcalls" / "report.md").read_text()
        assert "against the baseline" in report
    finally:
        get_settings.cache_clear()


def test_the_privacy_commands_mask_the_feedback_s_words_and_delete_it(client: TestClient, agent: Agent,
                                                                      store: Store) -> None:
    from agent.privacy.records import delete_customer

    _, ticket_id, headers, _ = taken_ticket(client, agent)
    client.post(f"/api/console/tickets/{ticket_id}/messages", headers=headers,
                json={"text": "Sent.", "draft": "Yusuf, it goes to 123 Main Street, Springfield, IL 62701."})
    delete_customer(store, "yusuf_rossi_9620", mode="anonymise")
    [row] = rows(store)
    assert "Yusuf" not in row.draft and "123 Main Street" not in row.draft and "[street]" in row.draft

    session, _ = agent.open_session(customer_id="noah_brown_6181")
    reply = agent.conversations.finish(session.id, agent.conversations.state(session.id), "Hi!", {})
    FeedbackStore(store).rate(session.id, reply.id, FeedbackKind.THUMBS_UP)
    delete_customer(store, "noah_brown_6181")
    assert [r.session_id for r in rows(store)] == [row.session_id]  # the deleted conversation's feedback is gone
