"""The reader's language-model variant: a LoRA-tuned small LM writes a message's meaning as one act line.

The act line holds what the classifiers read (agent/reader/model.py) and nothing else: the requests in order, the
moves and the cancel reason, e.g. `cancel,return|-|no_longer_needed`. Decoding is constrained by a GBNF grammar that
admits only well-formed lines of known labels. Values (ids, emails, zips, amounts, addresses) never pass through the
model: it sees the message with each value replaced by its kind (the classifiers' own `normalise`), and the
exact-copy extractors fill the slots, so every value in the act is one the customer wrote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.reader import extract
from agent.reader.acts import DialogueAct, Move, Reason, RequestKind
from agent.reader.model import normalise

EMPTY = "-"
MAX_REQUESTS = 3  # no message in the training data makes more
MAX_MOVES = 2
REASONS = {Reason.NO_LONGER_NEEDED: "no_longer_needed", Reason.ORDERED_BY_MISTAKE: "ordered_by_mistake"}
ADAPTER_DIR = Path(__file__).resolve().parents[2] / "finetune" / "adapters"


@dataclass(frozen=True)
class ActLine:
    """The meaning part of a dialogue act, as the LM writes it: `requests|moves|reason`, '-' for none."""

    requests: tuple[RequestKind, ...] = ()
    moves: tuple[Move, ...] = ()
    reason: Reason | None = None

    def __str__(self) -> str:
        reason = REASONS[self.reason] if self.reason else EMPTY
        return "|".join([",".join(self.requests) or EMPTY, ",".join(self.moves) or EMPTY, reason])

    @classmethod
    def parse(cls, line: str) -> ActLine:
        """The line's act; ValueError for anything the grammar would not have admitted."""
        parts = line.strip().split("|")
        if len(parts) != 3:
            raise ValueError(f"an act line has three fields: {line!r}")
        requests, moves, reason = (_labels(p) for p in parts)
        if len(requests) > MAX_REQUESTS or len(moves) > MAX_MOVES or len(reason) > 1:
            raise ValueError(f"too many labels: {line!r}")
        by_word = {word: key for key, word in REASONS.items()}
        try:
            return cls(tuple(_merged(RequestKind(r) for r in requests)), tuple(dict.fromkeys(Move(m) for m in moves)),
                       by_word[reason[0]] if reason else None)
        except (KeyError, ValueError) as error:
            raise ValueError(f"unknown label in {line!r}") from error


def _labels(field: str) -> list[str]:
    field = field.strip()
    if field == EMPTY:
        return []
    labels = field.split(",")
    if not field or not all(labels):
        raise ValueError(f"empty label in {field!r}")
    return labels


def _merged(requests: object) -> list[RequestKind]:
    """Two requests of one kind in a row are one ("exchange the lamp and the keyboard"), as the classifiers read it."""
    out: list[RequestKind] = []
    for request in requests:  # type: ignore[attr-defined]
        if not out or out[-1] != request:
            out.append(request)
    return out


def _longest_line() -> int:
    longest = max(len(r) for r in RequestKind), max(len(m) for m in Move), max(len(w) for w in REASONS.values())
    return (longest[0] + 1) * MAX_REQUESTS + (longest[1] + 1) * MAX_MOVES + longest[2]


# Every token is at least one character: a line the grammar admits always completes within this many tokens (a
# trained model writes 3-12), so the reader never gets a cut-off line (an untrained one spells labels in pieces).
MAX_NEW_TOKENS = _longest_line() + 1


def grammar() -> str:
    """GBNF for every act line the parser accepts (labels from the act schema, counts bounded)."""
    def choice(words: list[str]) -> str:
        return " | ".join(f'"{w}"' for w in words)

    return "\n".join([
        'root ::= requests "|" moves "|" reason',
        f'requests ::= "{EMPTY}" | request' + ' ("," request)?' * (MAX_REQUESTS - 1),
        f'moves ::= "{EMPTY}" | move' + ' ("," move)?' * (MAX_MOVES - 1),
        f'reason ::= "{EMPTY}" | {choice(list(REASONS.values()))}',
        f"request ::= {choice([r.value for r in RequestKind])}",
        f"move ::= {choice([m.value for m in Move])}",
    ]) + "\n"


@dataclass(frozen=True)
class PromptFormat:
    """One model's turn markers: the prompt is rendered here, identically for training and serving."""

    head: str  # before the user turn's text
    tail: str  # after it, up to where the model writes
    end: str  # what closes the model's turn (trained on, so the model stops)


PROMPTS = {
    "smollm2-135m": PromptFormat("<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>"),
    "gemma3-270m": PromptFormat("<bos><start_of_turn>user\n", "<end_of_turn>\n<start_of_turn>model\n",
                                "<end_of_turn>"),
}


def prompt_text(model: str, text: str, question: str = "") -> str:
    """The agent's last question (if any) and the message, values replaced by their kind. No instructions: the
    adapter learned the task, and every prompt token costs time on every message."""
    body = f"Customer: {normalise(text)}"
    if question.strip():
        body = f"Agent: {normalise(question)}\n{body}"
    form = PROMPTS[model]
    return form.head + body + form.tail


class ActWriter(Protocol):
    def write(self, text: str, question: str = "") -> str: ...


class LlamaActWriter:
    """The act line from llama.cpp: the quantised base GGUF, the LoRA as a GGUF adapter, the grammar applied."""

    def __init__(self, model: str, lora_gguf: Path | None, n_threads: int = 1, n_threads_batch: int = 1) -> None:
        """One thread by default: on 2 cores shared with other work, llama.cpp's second thread spin-waits and a
        message took 12-15 s instead of 0.3 s (measured)."""
        import llama_cpp

        from agent.llm.model_files import resolve_model

        self.model = model
        self._llm = llama_cpp.Llama(model_path=str(resolve_model(model).path), n_ctx=256, n_threads=n_threads,
                                    n_threads_batch=n_threads_batch, lora_path=str(lora_gguf) if lora_gguf else None,
                                    flash_attn=True, verbose=False)
        self._grammar = llama_cpp.LlamaGrammar.from_string(grammar(), verbose=False)
        self._lock = threading.Lock()  # one llama.cpp context is not reentrant

    def write(self, text: str, question: str = "") -> str:
        tokens = self._llm.tokenize(prompt_text(self.model, text, question).encode(), add_bos=False, special=True)
        with self._lock:  # the shared prompt head stays in the KV cache between messages
            out = self._llm.create_completion(tokens, max_tokens=MAX_NEW_TOKENS, temperature=0.0,
                                              grammar=self._grammar, repeat_penalty=1.0)
        return out["choices"][0]["text"]


class LmReader:
    """Reads a message as the classifier reader does, with the act line written by a fine-tuned LM. A line that
    does not parse (only possible when decoding hit its token limit) falls back to `fallback`."""

    def __init__(self, writer: ActWriter, fallback: Callable[[str], DialogueAct] | None = None) -> None:
        self.writer = writer
        self.fallback = fallback
        self.fallbacks = 0
        self.last_seconds = 0.0

    def read(self, text: str, question: str = "") -> DialogueAct:
        started = time.perf_counter()
        line = self.writer.write(text, question)
        try:
            meaning = ActLine.parse(line)
        except ValueError:
            if self.fallback is None:
                raise
            self.fallbacks += 1
            return self.fallback(text)
        act = combine(text, meaning)
        self.last_seconds = time.perf_counter() - started
        return act


def combine(text: str, meaning: ActLine) -> DialogueAct:
    """The LM's meaning and the extractors' values: one act, the same shape the classifier reader makes."""
    act = DialogueAct(slots=extract.slots(text), language=extract.language(text))
    act.requests = list(meaning.requests)
    act.moves = list(meaning.moves)
    act.slots.reason = meaning.reason
    return act


def adapter_dir(model: str) -> Path:
    return ADAPTER_DIR / f"{model}-reader"


def lm_reader(model: str, adapter: Path | None = None, n_threads: int = 1, base: bool = False) -> LmReader:
    """The LM reader for a registered model with its adapter (default: the one `shopagent reader train-lm` wrote;
    `base`: none), falling back to the shipped classifier reader."""
    from agent.llm.model_files import default_cache_dir, resolve_model
    from agent.reader.reader import default_reader
    from finetune.gguf_lora import cached_gguf

    folder = adapter or adapter_dir(model)
    if not base and not (folder / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"no adapter in {folder}: shopagent reader train-lm --model {model}")
    lora = None if base else cached_gguf(folder, resolve_model(model).path, default_cache_dir())
    writer = LlamaActWriter(model, lora, n_threads=n_threads, n_threads_batch=n_threads)
    return LmReader(writer, fallback=lambda text: default_reader().read(text))
