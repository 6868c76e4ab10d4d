"""The model as a server: a real `llama_cpp.server` started the way `shopagent model serve` starts it (the shipped
SmolLM2 GGUF and its LoRA adapter), and the agent's turns through the langchain backend at SHOPAGENT_MODEL_URL."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.events import Event
from agent.llm.base import GenerationOptions, complete_json
from agent.llm.registry import load_chat_model
from agent.manager import Agent
from evals.live_server import free_port, wait_ready
from server.config import Settings
from server.model_server import model_url, server_command
from tools.context import IdentityPolicy
from tools.store import Store

pytest.importorskip("llama_cpp.server.app", reason="llama_cpp.server needs starlette-context (pyproject)")
pytest.importorskip("langchain_openai", reason="the model-server client is langchain-openai (pyproject)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings(home=tmp_path_factory.mktemp("model-home"), threads=1)
    port = free_port()
    process = subprocess.Popen(server_command(settings, "127.0.0.1", port), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = model_url("127.0.0.1", port)
    try:
        wait_ready(url, process, 120, path="/models")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_command_uses_the_shipped_model_and_adapter(tmp_path: Path) -> None:
    command = server_command(Settings(home=tmp_path), "127.0.0.1", 9999)
    assert command[1:3] == ["-m", "llama_cpp.server"]
    assert command[command.index("--model") + 1].endswith(".gguf")
    assert command[command.index("--lora_path") + 1].endswith(".gguf")  # the shipped adapter, as a LoRA GGUF
    assert command[command.index("--model_alias") + 1] == "smollm2-135m"


def test_a_schema_constrained_call_through_the_server(served: str) -> None:
    model = load_chat_model("langchain", "smollm2-135m", model_url=served)
    schema = {"type": "object", "properties": {"size": {"type": "string", "enum": ["small", "large"]}},
              "required": ["size"]}
    answer = complete_json(model, [{"role": "user", "content": "Which size do you want?"}],
                           GenerationOptions(max_tokens=24, json_schema=schema))
    assert answer["size"] in {"small", "large"}


def test_a_conversation_turn_through_the_model_server(served: str, store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    model = load_chat_model("langchain", "smollm2-135m", model_url=served)
    assert model.tool_tuned  # type: ignore[attr-defined]  # the server serves the shipped adapter
    agent = Agent(store, model=model, retriever=retriever, identity=IdentityPolicy.BENCHMARK)
    session, _ = agent.open_session()
    events = list(agent.turn(session.id, "what's the weather like today?"))  # no flow: the model plans
    assert events[-1].type == "done"
    assert "wall_s" in model.last_stats.extra  # the model was called, over HTTP
    reply = next(e.data["text"] for e in events if e.type == "message")
    assert reply and "{" not in reply
    assert agent.checker.violations(reply, agent.evidence(session.id)) == []


def test_an_unreachable_model_server_gets_an_apology_in_bounded_time(store: Store, retriever) -> None:  # type: ignore[no-untyped-def]
    model = load_chat_model("langchain", "smollm2-135m", model_url=f"http://127.0.0.1:{free_port()}/v1")
    agent = Agent(store, model=model, retriever=retriever, identity=IdentityPolicy.BENCHMARK)
    session, _ = agent.open_session()
    started = time.monotonic()
    events: list[Event] = list(agent.turn(session.id, "what's the weather like today?"))
    assert time.monotonic() - started < 30
    assert events[-1].type == "done"
    assert any(e.type == "message" and e.data["text"] for e in events)


def test_model_serve_refuses_a_model_that_is_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from server.cli import app
    from server.config import get_settings

    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path))
    monkeypatch.setenv("SHOPAGENT_MODEL", str(tmp_path / "missing.gguf"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["model", "serve", "--port", "9"], env={"COLUMNS": "200"})
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "GGUF file not found" in result.output
    assert "Traceback" not in result.output


def test_a_model_url_is_only_for_the_langchain_backend() -> None:
    with pytest.raises(ValueError, match="langchain backend"):
        load_chat_model("llama_cpp", "smollm2-135m", model_url="http://127.0.0.1:9/v1")


def test_the_model_url_setting_alone_moves_the_model_to_the_server(served: str, tmp_path: Path) -> None:
    from server.services import open_model

    model = open_model(Settings(home=tmp_path, model_url=served))  # the backend setting left at its default
    assert model is not None and model.name.startswith("endpoint:smollm2-135m@")
    assert open_model(Settings(home=tmp_path, model_url=served, backend="none")) is None
