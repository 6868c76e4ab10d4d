"""The reference backend: the same GGUF dequantised into a transformers model (for LoRA training parity and checks).

Dequantising a GGUF takes ~18 s, so the dense weights and the tokenizer are cached as a plain transformers checkpoint
(safetensors) keyed by the GGUF's size and mtime; later loads take a few seconds. JSON-schema-constrained decoding
uses lm-format-enforcer's TokenEnforcer through a logits processor of our own: its bundled transformers integration
imports `transformers.tokenization_utils`, which transformers 5 no longer has.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GgufConfig,
    LogitsProcessor,
    LogitsProcessorList,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from agent.llm.base import GenerationOptions, GenerationStats, Message, SchemaCache
from agent.llm.llama_cpp_backend import record_timings

DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32}
CACHE_FORMAT = 1  # bump when what is written to the cache changes
MAX_JSON_WHITESPACE = 2


def cache_key(gguf_path: Path, dtype: str) -> str:
    """Cheap identity of a GGUF (no hashing of the file): name, size, mtime, plus what shapes the saved weights."""
    stat = gguf_path.stat()
    ident = f"{gguf_path.name}|{stat.st_size}|{stat.st_mtime_ns}|{dtype}|{transformers.__version__}|{CACHE_FORMAT}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def checkpoint_dir(cache_dir: Path, gguf_path: Path, dtype: str) -> Path:
    return Path(cache_dir) / "transformers" / f"{gguf_path.stem}-{dtype}-{cache_key(gguf_path, dtype)}"


@contextmanager
def _gguf_parsed_once() -> Iterator[None]:
    """transformers parses the GGUF's metadata three times (config, weights, tokenizer: ~10 s each for a 49k vocab)
    and rebuilds gguf's tensor-name map for every tensor (~12 s): memoise both while a checkpoint is built."""
    import gguf

    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[tuple[str, str], Any] = {}

    def shared_reader(path: str | os.PathLike[str], mode: str = "r") -> Any:
        key = (os.fspath(path), mode)
        if key not in readers:
            readers[key] = reader_class(path, mode)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = shared_reader, functools.cache(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader_class, name_map


def build_checkpoint(gguf_path: Path, target: Path, dtype: str) -> None:
    """Dequantise the GGUF and save model + tokenizer as a plain checkpoint, atomically."""
    with _gguf_parsed_once():
        # Dense float32 (what dequantising yields), even where a packed-GGUF matmul kernel is installed; cast after.
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent,
            gguf_file=gguf_path.name,
            dtype=torch.float32,
            quantization_config=GgufConfig(dequantize=True),
        ).to(DTYPES[dtype])
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    # A GGUF-loaded model is flagged quantized and save_pretrained refuses it; the weights are dense by now.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        partial.rename(target)
    except OSError:  # another process won the race: its copy is identical
        shutil.rmtree(partial, ignore_errors=True)


class SchemaLogitsProcessor(LogitsProcessor):
    """Masks every token that cannot continue a JSON value valid against the schema (lm-format-enforcer)."""

    def __init__(self, enforcer: Any, eos_ids: list[int]) -> None:
        self.enforcer = enforcer
        self.eos_ids = eos_ids

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        mask = torch.full_like(scores, float("-inf"))
        for row, ids in enumerate(input_ids.tolist()):
            allowed = self.enforcer.get_allowed_tokens(ids).allowed_tokens
            mask[row, self.eos_ids if self._complete(ids) else allowed] = 0
        return scores + mask

    def _complete(self, ids: list[int]) -> bool:
        """The value is closed: lm-format-enforcer would still allow whitespace, which small models keep emitting."""
        parser = self.enforcer.prefix_states[tuple(ids)].parser
        return parser.can_end() and not parser.get_allowed_characters().strip()


class _Cancelled(StoppingCriteria):
    """Lets the consumer stop the generation thread (stop string found, or the stream abandoned)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


def enforcer_tokenizer_data(tokenizer: PreTrainedTokenizerBase, eos_ids: list[int]) -> Any:
    """lm-format-enforcer's per-tokenizer tables; batch-decoded because a per-token loop is slow on big vocabs."""
    from lmformatenforcer import TokenEnforcerTokenizerData

    special = set(tokenizer.all_special_ids)
    ids = [i for i in range(len(tokenizer)) if i not in special]
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    # Decoding after "0" keeps a word-start token's leading space, which decoding it alone may drop.
    after_zero = [text[1:] for text in tokenizer.batch_decode([[zero, i] for i in ids])]
    alone = tokenizer.batch_decode([[i] for i in ids])
    regular = [(i, text, len(text) > len(bare)) for i, text, bare in zip(ids, after_zero, alone, strict=True)]

    def decode(tokens: list[int]) -> str:
        return tokenizer.decode(tokens).rstrip("\ufffd")

    return TokenEnforcerTokenizerData(regular, decode, eos_ids, False, len(tokenizer))


def _first_stop(text: str, stops: tuple[str, ...]) -> int:
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(hits) if hits else -1


def _json_schema_parser(schema: dict[str, Any]) -> Any:
    from lmformatenforcer import JsonSchemaParser

    return JsonSchemaParser(schema)


class TransformersModel:
    """A dense transformers model from a GGUF, optionally with a peft LoRA adapter merged in."""

    def __init__(
        self,
        model_dir: str | Path,
        gguf_file: str,
        cache_dir: str | Path,
        adapter_dir: str | Path | None = None,
        dtype: str = "bfloat16",
        chat_template: str | None = None,
        stop: tuple[str, ...] = (),
        name: str | None = None,
    ) -> None:
        """`chat_template`/`stop` are the fallback for a GGUF without a template; the file's own wins."""
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
        gguf_path = Path(model_dir) / gguf_file
        self.name = name or f"transformers:{gguf_path.stem}"
        self.last_stats = GenerationStats()
        self.checkpoint = checkpoint_dir(Path(cache_dir), gguf_path, dtype)
        self.cache_hit = (self.checkpoint / "model.safetensors").is_file()
        if not self.cache_hit:
            build_checkpoint(gguf_path, self.checkpoint, dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(self.checkpoint)
        self.model = AutoModelForCausalLM.from_pretrained(self.checkpoint, dtype=DTYPES[dtype]).eval()
        if adapter_dir is not None:
            self.model = self._with_adapter(Path(adapter_dir))
        self._stop: tuple[str, ...] = ()
        if self.tokenizer.chat_template is None:
            if chat_template is None:
                raise ValueError(f"{gguf_path} has no chat template and none was given")
            self.tokenizer.chat_template = chat_template
            self._stop = tuple(stop)
        self.eos_ids = self._eos_ids()
        self._lock = threading.Lock()
        self._enforcer_data: Any = None
        self._parsers = SchemaCache(_json_schema_parser)

    def _with_adapter(self, adapter_dir: Path) -> Any:
        from peft import PeftModel

        # Merged: inference then costs exactly what the base model does.
        return PeftModel.from_pretrained(self.model, adapter_dir).merge_and_unload().eval()

    def _eos_ids(self) -> list[int]:
        """The model's EOS ids, plus fallback stop strings that are single (special) tokens: those are stripped
        from the decoded text, so they can only be caught as token ids."""
        configured = self.model.generation_config.eos_token_id
        ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
        ids.add(self.tokenizer.eos_token_id)
        for stop in self._stop:
            encoded = self.tokenizer.encode(stop, add_special_tokens=False)
            if len(encoded) == 1:
                ids.add(encoded[0])
        return sorted(i for i in ids if i is not None)

    def schema_processor(self, schema: dict[str, Any]) -> SchemaLogitsProcessor:
        from lmformatenforcer import TokenEnforcer

        if self._enforcer_data is None:
            self._enforcer_data = enforcer_tokenizer_data(self.tokenizer, self.eos_ids)
        # A TokenEnforcer caches state per token prefix, so each generation gets a fresh one; parsers are reusable.
        parser = self._parsers.get(schema)
        enforcer = TokenEnforcer(self._enforcer_data, parser)  # (re)sets parser.config
        # The default (12 whitespace characters in a row) lets small models pad with blank lines until max_tokens.
        parser.config.max_consecutive_whitespaces = MAX_JSON_WHITESPACE
        # Keys in the order of "required", as llama.cpp's grammar does: a tool call names the tool first.
        parser.config.force_json_field_order = True
        return SchemaLogitsProcessor(enforcer, self.eos_ids)

    def tokenize_chat(self, messages: list[Message]) -> torch.Tensor:
        prompt = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # The template writes any BOS itself.
        return self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        with self._lock:
            yield from self._generate(messages, options)

    def _generate(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        started = time.perf_counter()
        input_ids = self.tokenize_chat(messages)
        stats = GenerationStats(prompt_tokens=input_ids.shape[1])
        self.last_stats = stats
        cancel = threading.Event()
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = self._generate_kwargs(input_ids, options, streamer, cancel)
        outcome: dict[str, Any] = {}
        worker = threading.Thread(target=self._run, args=(kwargs, streamer, outcome), daemon=True)
        if options.temperature > 0:
            torch.manual_seed(options.seed)
        worker.start()
        try:
            yield from self._stop_filtered(streamer, (*self._stop, *options.stop), cancel, stats, started)
        finally:
            cancel.set()  # also when the consumer abandons the stream: the worker stops at its next token
            worker.join()
            self._finish(stats, outcome, input_ids.shape[1], started)

    def _generate_kwargs(
        self, input_ids: torch.Tensor, options: GenerationOptions, streamer: Any, cancel: threading.Event
    ) -> dict[str, Any]:
        processors = LogitsProcessorList()
        if options.json_schema is not None:
            processors.append(self.schema_processor(options.json_schema))
        sampling = {"do_sample": True, "temperature": options.temperature} if options.temperature > 0 else {}
        return {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": options.max_tokens,
            "do_sample": False,
            **sampling,
            "eos_token_id": self.eos_ids,
            "pad_token_id": self.eos_ids[0] if self.tokenizer.pad_token_id is None else self.tokenizer.pad_token_id,
            "logits_processor": processors,
            "stopping_criteria": StoppingCriteriaList([_Cancelled(cancel)]),
            "streamer": streamer,
        }

    def _run(self, kwargs: dict[str, Any], streamer: TextIteratorStreamer, outcome: dict[str, Any]) -> None:
        try:
            with torch.inference_mode():
                outcome["sequences"] = self.model.generate(**kwargs)
        except BaseException as error:  # handed to the consumer thread, which re-raises it
            outcome["error"] = error
            streamer.end()

    @staticmethod
    def _stop_filtered(
        streamer: Iterator[str], stops: tuple[str, ...], cancel: threading.Event, stats: GenerationStats, started: float
    ) -> Iterator[str]:
        """Yield the streamed text up to (excluding) the first stop string, holding back a possible partial one."""
        hold = max((len(s) for s in stops), default=1) - 1
        pending = ""
        for piece in streamer:
            pending += piece
            cut = _first_stop(pending, stops) if stops else -1
            if cut >= 0:
                pending = pending[:cut]
                cancel.set()
            ready, pending = (pending, "") if cut >= 0 or not hold else (pending[:-hold], pending[-hold:])
            if ready:
                stats.extra.setdefault("ttft_s", time.perf_counter() - started)
                yield ready
            if cut >= 0:
                return
        if pending:
            yield pending

    def _finish(self, stats: GenerationStats, outcome: dict[str, Any], prompt_len: int, started: float) -> None:
        if "error" in outcome:
            raise outcome["error"]
        if "sequences" in outcome:
            stats.generated_tokens = int(outcome["sequences"].shape[1]) - prompt_len
        record_timings(stats, time.perf_counter() - started)
