"""One entry point: a backend name and a model name in, a ChatModel out."""

from __future__ import annotations

from pathlib import Path

from agent.llm.base import ChatModel
from agent.llm.model_files import DEFAULT_MODEL, default_cache_dir, resolve_model

BACKENDS = ("llama_cpp", "transformers", "langchain")


def load_chat_model(
    backend: str = "llama_cpp",
    model: str = DEFAULT_MODEL,
    adapter: str | Path | None = None,
    cache_dir: Path | None = None,
    threads: int = 2,
) -> ChatModel:
    """`model` is a registered name or a .gguf path for the local backends, `provider:model` for langchain.

    `adapter` is a LoRA: a GGUF LoRA file for llama_cpp, a peft adapter directory for transformers.
    `cache_dir` defaults to $SHOPAGENT_CACHE_DIR or ~/.cache/shopagent.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown LLM backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "langchain":
        from agent.llm.langchain_backend import load_langchain_model

        if adapter is not None:
            raise ValueError("the langchain backend takes no adapter")
        return load_langchain_model(model)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    found = resolve_model(model, cache_dir)
    if backend == "llama_cpp":
        from agent.llm.llama_cpp_backend import LlamaCppModel

        return LlamaCppModel(
            found.path,
            n_threads=threads,
            lora_path=adapter,
            chat_template=found.chat_template,
            stop=found.stop,
            name=f"llama_cpp:{found.name}",
        )
    from agent.llm.transformers_backend import TransformersModel

    return TransformersModel(
        found.path.parent,
        found.path.name,
        cache_dir,
        adapter_dir=adapter,
        chat_template=found.chat_template,
        stop=found.stop,
        name=f"transformers:{found.name}",
    )
