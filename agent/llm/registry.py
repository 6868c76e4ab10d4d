"""One entry point: a backend name and a model name in, a ChatModel out."""

from __future__ import annotations

from pathlib import Path

from agent.llm.base import ChatModel
from agent.llm.model_files import DEFAULT_MODEL, default_cache_dir, resolve_model

BACKENDS = ("llama_cpp", "transformers", "langchain")
ADAPTERS_DIR = Path(__file__).resolve().parents[2] / "finetune" / "adapters"
# The fine-tuned tool-call adapter shipped for a model, loaded unless another adapter (or "none") is configured.
SHIPPED_ADAPTERS = {"smollm2-135m": ADAPTERS_DIR / "smollm2-135m-toolcall"}
DEFAULT_ADAPTER, NO_ADAPTER = "default", "none"


def resolve_adapter(adapter: str | Path | None, model: str) -> Path | None:
    """None / "none": the base model; "default": the adapter shipped for this model (if any); else a path."""
    if adapter is None or str(adapter) == NO_ADAPTER:
        return None
    if str(adapter) == DEFAULT_ADAPTER:
        shipped = SHIPPED_ADAPTERS.get(model)
        return shipped if shipped is not None and (shipped / "adapter_config.json").is_file() else None
    path = Path(adapter).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"adapter not found: {path}")
    return path


def load_chat_model(
    backend: str = "llama_cpp",
    model: str = DEFAULT_MODEL,
    adapter: str | Path | None = DEFAULT_ADAPTER,
    cache_dir: Path | None = None,
    threads: int = 2,
    model_url: str | None = None,
    api_key: str | None = None,
) -> ChatModel:
    """`model` is a registered name or a .gguf path for the local backends, `provider:model` for langchain, or with
    `model_url` (langchain only) the name an OpenAI-compatible server at that URL serves.

    `adapter`: "default" (the shipped fine-tuned adapter), "none", or a path: a peft adapter directory (both
    backends; llama.cpp gets it converted to a LoRA GGUF, cached) or a LoRA GGUF file (llama_cpp).
    `cache_dir` defaults to $SHOPAGENT_CACHE_DIR or ~/.cache/shopagent.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown LLM backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if model_url:
        if backend != "langchain":
            raise ValueError(f"a model URL is served through the langchain backend, not {backend!r}")
        return _endpoint_model(model_url, model, adapter, api_key)
    if backend == "langchain":
        from agent.llm.langchain_backend import load_langchain_model

        if adapter not in (None, NO_ADAPTER, DEFAULT_ADAPTER):
            raise ValueError("the langchain backend takes no adapter")
        return load_langchain_model(model)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    found = resolve_model(model, cache_dir)
    adapter_path = resolve_adapter(adapter, model)
    suffix = f"+{adapter_path.name}" if adapter_path else ""
    chat_model: ChatModel
    if backend == "llama_cpp":
        from agent.llm.llama_cpp_backend import LlamaCppModel

        lora = adapter_path
        if lora is not None and lora.is_dir():  # a peft adapter: llama.cpp takes it as a LoRA GGUF, built once
            from finetune.gguf_lora import cached_gguf

            lora = cached_gguf(lora, found.path, cache_dir)
        chat_model = LlamaCppModel(found.path, n_threads=threads, lora_path=lora, chat_template=found.chat_template,
                                   stop=found.stop, name=f"llama_cpp:{found.name}{suffix}")
    else:
        from agent.llm.transformers_backend import TransformersModel

        chat_model = TransformersModel(found.path.parent, found.path.name, cache_dir, adapter_dir=adapter_path,
                                       chat_template=found.chat_template, stop=found.stop,
                                       name=f"transformers:{found.name}{suffix}")
    chat_model.tool_tuned = adapter_path is not None  # type: ignore[attr-defined]
    return chat_model


def _endpoint_model(url: str, model: str, adapter: str | Path | None, api_key: str | None) -> ChatModel:
    """The model on an OpenAI-compatible server. It counts as tool-tuned when the adapter setting names the one
    shipped for this model: `shopagent model serve` serves the model with it."""
    from agent.llm.openai_endpoint import load_endpoint_model

    chat_model = load_endpoint_model(url, model, api_key)
    shipped = SHIPPED_ADAPTERS.get(model)
    chat_model.tool_tuned = str(adapter) == DEFAULT_ADAPTER and shipped is not None  # type: ignore[attr-defined]
    return chat_model
