"""One inference interface for every backend: chat messages in, streamed text out, optionally schema-constrained."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass(frozen=True)
class GenerationOptions:
    max_tokens: int = 128
    temperature: float = 0.0  # greedy by default: replies and tool calls are reproducible
    seed: int = 0
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None
    """When set, decoding is constrained so the output is one JSON value valid against this schema."""


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class SchemaCache:
    """What a backend builds once per JSON schema (a grammar, a parser), the most recently used few kept: the call
    schemas are per conversation (their ids are the conversation's), so an unbounded cache would grow forever."""

    def __init__(self, build: Callable[[dict[str, Any]], Any], size: int = 64) -> None:
        self._build, self._size = build, size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key in self._items:
            self._items.move_to_end(key)
        else:
            self._items[key] = self._build(schema)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return self._items[key]


@runtime_checkable
class ChatModel(Protocol):
    """A chat model backend. Implementations: llama.cpp (serving), transformers (reference), LangChain (remote)."""

    name: str
    last_stats: GenerationStats

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        """Yield the reply's text in pieces as they are decoded."""
        ...


def complete(model: ChatModel, messages: list[Message], options: GenerationOptions) -> str:
    return "".join(model.stream(messages, options))


def complete_json(model: ChatModel, messages: list[Message], options: GenerationOptions) -> Any:
    """A schema-constrained completion, parsed. Raises ValueError when the output is not JSON."""
    if options.json_schema is None:
        raise ValueError("complete_json needs options.json_schema")
    text = complete(model, messages, options)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"model output is not JSON: {text[:200]!r}") from error
