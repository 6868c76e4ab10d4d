"""The shipped model as an OpenAI-compatible server: llama-cpp-python's own `llama_cpp.server`, started with the
GGUF and LoRA adapter the in-process llama_cpp backend loads and the same options (context, flash attention, a
RAM prompt cache), so every server worker and any other process can share one model by SHOPAGENT_MODEL_URL.

llama-cpp-python's server runs one generation at a time (no parallel slots); for continuous batching point
SHOPAGENT_MODEL_URL at llama.cpp's `llama-server --parallel N`, vLLM or TGI instead."""

from __future__ import annotations

import sys
from pathlib import Path

from server.config import Settings

PROMPT_CACHE_BYTES = 256 << 20  # as the in-process backend's prompt_cache_mb


def model_files(settings: Settings) -> tuple[Path, Path | None]:
    """The GGUF and the LoRA GGUF (None: the base model) that `settings` name, the adapter converted once."""
    from agent.llm.model_files import resolve_model
    from agent.llm.registry import resolve_adapter

    cache_dir = settings.cache_dir / "models"
    found = resolve_model(settings.model, cache_dir)
    lora = resolve_adapter(settings.adapter, settings.model)
    if lora is not None and lora.is_dir():  # a peft adapter: llama.cpp takes it as a LoRA GGUF
        from finetune.gguf_lora import cached_gguf

        lora = cached_gguf(lora, found.path, cache_dir)
    return found.path, lora


def server_command(settings: Settings, host: str, port: int) -> list[str]:
    """The `python -m llama_cpp.server` command line; it answers to the model name `settings.model`."""
    gguf, lora = model_files(settings)
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", settings.model,
               "--host", host, "--port", str(port), "--n_ctx", "4096", "--n_threads", str(settings.threads),
               "--n_threads_batch", str(settings.threads), "--flash_attn", "true", "--seed", "0",
               "--cache", "true", "--cache_type", "ram", "--cache_size", str(PROMPT_CACHE_BYTES),
               # Its default cuts a streamed reply short whenever another request waits: each agent worker's call
               # must run to its end.
               "--interrupt_requests", "false"]
    if lora is not None:
        command += ["--lora_path", str(lora)]
    return command


def model_url(host: str, port: int) -> str:
    """What SHOPAGENT_MODEL_URL is for a server started by `server_command`."""
    return f"http://{host}:{port}/v1"
