"""The serving backend: a GGUF model run by llama.cpp (llama-cpp-python), streamed, optionally grammar-constrained.

The prompt is rendered here with the GGUF's own chat template (the same Jinja2ChatFormatter llama-cpp-python builds
for `create_chat_completion`) and passed to `create_completion` as tokens: that keeps the prompt's token count exact
and lets a base model without a template use a fallback. Consecutive calls on one instance reuse the KV cache of the
longest common token prefix, so a long, fixed system prompt is evaluated once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.llm.base import GenerationOptions, GenerationStats, Message, SchemaCache


def _require_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as error:
        raise RuntimeError("the llama_cpp backend needs llama-cpp-python: pip install llama-cpp-python") from error
    return llama_cpp


# llama-cpp-python's schema converter lets raw control characters (newlines) into strings, which is not JSON and which
# small models do emit; llama.cpp's own converter excludes them. (A no-op once the Python port is fixed.)
_LOOSE_STRING_CHAR = r'char ::= [^"\\] |'
_JSON_STRING_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def record_timings(stats: GenerationStats, wall: float) -> None:
    """Wall time, and the decode rate: tokens after the first over the time after the first (prompt eval excluded)."""
    stats.extra["wall_s"] = wall
    ttft = stats.extra.get("ttft_s")
    if ttft is not None and stats.generated_tokens > 1 and wall > ttft:
        stats.extra["decode_tokens_per_s"] = (stats.generated_tokens - 1) / (wall - ttft)


class LlamaCppModel:
    """One llama.cpp context; generations on one instance are serialised by a lock (a context is not reentrant)."""

    def __init__(
        self,
        gguf_path: str | Path,
        n_threads: int = 2,
        n_ctx: int = 4096,
        lora_path: str | Path | None = None,
        seed: int = 0,
        chat_template: str | None = None,
        stop: tuple[str, ...] = (),
        name: str | None = None,
        flash_attn: bool = True,
        n_threads_batch: int | None = None,
        prompt_cache_mb: int = 256,
    ) -> None:
        """`chat_template`/`stop` are the fallback for a GGUF without a template; the file's own wins.

        flash_attn: ~18% faster prompt evaluation on a 2-core CPU (llama.cpp's own default is "auto", which is on).
        n_threads_batch: threads for prompt evaluation (default n_threads). On a 2-core machine shared with other
        busy processes, n_threads=1 with n_threads_batch=2 avoids OpenMP spin-waiting collapsing the decode rate.
        prompt_cache_mb: keep the KV state of recent prompts in RAM (0: off). The agent alternates a few fixed
        system prompts (tool planner, opening line); with one live KV cache they would evict each other. Measured:
        a planner call 0.5-1.3 s instead of 1.5-2.3 s, an opening 0.35 s instead of 0.56 s.
        """
        llama_cpp = _require_llama_cpp()
        self._llama_cpp = llama_cpp
        self.name = name or f"llama_cpp:{Path(gguf_path).stem}"
        self.last_stats = GenerationStats()
        self._lock = threading.Lock()
        self._grammars = SchemaCache(self._convert_grammar)  # a conversion takes ~0.1 s
        self._llm = llama_cpp.Llama(
            model_path=str(gguf_path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads_batch or n_threads,
            lora_path=str(lora_path) if lora_path else None,
            seed=seed,
            flash_attn=flash_attn,
            verbose=False,
        )
        if prompt_cache_mb > 0:
            self._llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=prompt_cache_mb << 20))
        own_template = self._llm.metadata.get("tokenizer.chat_template")
        if own_template is None and chat_template is None:
            raise ValueError(f"{gguf_path} has no chat template and none was given")
        self._stop = () if own_template else tuple(stop)
        self._formatter = self._make_formatter(own_template or chat_template)

    def _make_formatter(self, template: str) -> Any:
        model = self._llm._model  # token texts are only exposed on the internal model wrapper
        eos_id, bos_id = self._llm.token_eos(), self._llm.token_bos()
        return self._llama_cpp.llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    def grammar(self, schema: dict[str, Any]) -> Any:
        """The GBNF grammar for a JSON schema, converted once per distinct schema (the most recent few kept)."""
        return self._grammars.get(schema)

    def _convert_grammar(self, schema: dict[str, Any]) -> Any:
        # Unsorted: the grammar emits properties in the schema's order (so "tool" can come before "arguments").
        gbnf = self._llama_cpp.llama_grammar.json_schema_to_gbnf(json.dumps(schema))
        gbnf = gbnf.replace(_LOOSE_STRING_CHAR, _JSON_STRING_CHAR)
        return self._llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)

    def tokenize_chat(self, messages: list[Message]) -> tuple[list[int], Any]:
        rendered = self._formatter(messages=messages)
        tokens = self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True)
        return tokens, rendered

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        with self._lock:
            yield from self._generate(messages, options)

    def _generate(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        started = time.perf_counter()
        tokens, rendered = self.tokenize_chat(messages)
        if len(tokens) + options.max_tokens > self._llm.n_ctx():
            raise ValueError(f"prompt of {len(tokens)} tokens + {options.max_tokens} new exceeds n_ctx")
        stats = GenerationStats(prompt_tokens=len(tokens))
        self.last_stats = stats
        # Called once per sampled token (EOS included) with the ids so far, and once more at the end with the same
        # length as the last call: the distinct lengths count the sampled tokens.
        seen: set[int] = set()

        def count(ids: Any, _logits: Any) -> bool:
            seen.add(len(ids))
            return False

        stopping = self._llama_cpp.StoppingCriteriaList([count, *(rendered.stopping_criteria or [])])
        chunks = self._llm.create_completion(
            tokens,
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            seed=options.seed,
            stop=[*rendered.stop, *self._stop, *options.stop],
            stopping_criteria=stopping,
            grammar=self.grammar(options.json_schema) if options.json_schema is not None else None,
            repeat_penalty=1.0,
            stream=True,
        )
        try:
            for chunk in chunks:
                text = chunk["choices"][0]["text"]
                if text:
                    stats.extra.setdefault("ttft_s", time.perf_counter() - started)
                    yield text
        finally:
            stats.generated_tokens = len(seen)
            record_timings(stats, time.perf_counter() - started)
