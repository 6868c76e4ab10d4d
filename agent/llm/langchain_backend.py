"""Any LangChain chat model (OpenAI, Ollama, ...) behind the ChatModel interface, for comparisons with remote models.

Provider packages are not dependencies: `load_langchain_model` names what to install when they are missing.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.llm.base import GenerationOptions, GenerationStats, Message

_ROLES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


def to_langchain_messages(messages: list[Message]) -> list[BaseMessage]:
    try:
        return [_ROLES[m["role"]](content=m["content"]) for m in messages]
    except KeyError as error:
        raise ValueError(f"unknown message role {error.args[0]!r}; expected one of {sorted(_ROLES)}") from error


def _text(content: Any) -> str:
    """A chunk's text: content is a string, or a list of content blocks for some providers."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


def _extract_json(text: str) -> str:
    """The outermost JSON object in a free-text reply (models often wrap it in prose or code fences)."""
    start, end = text.find("{"), text.rfind("}")
    return text[start : end + 1] if 0 <= start < end else text


class LangChainChatModel:
    def __init__(self, chat_model: BaseChatModel, name: str | None = None) -> None:
        self.chat_model = chat_model
        self.name = name or f"langchain:{type(chat_model).__name__}"
        self.last_stats = GenerationStats()

    def _bound(self, options: GenerationOptions) -> Any:
        # Not every provider accepts every option, so pass only what was asked for beyond the defaults.
        kwargs: dict[str, Any] = {"max_tokens": options.max_tokens, "temperature": options.temperature}
        if options.stop:
            kwargs["stop"] = list(options.stop)
        fields = type(self.chat_model).model_fields
        accepted = {k: v for k, v in kwargs.items() if k in fields or k == "stop"}
        return self.chat_model.bind(**accepted) if accepted else self.chat_model

    def stream(self, messages: list[Message], options: GenerationOptions) -> Iterator[str]:
        started = time.perf_counter()
        self.last_stats = stats = GenerationStats()
        lc_messages = to_langchain_messages(messages)
        pieces = (
            self._structured(lc_messages, options)
            if options.json_schema is not None
            else self._plain(lc_messages, options, stats)
        )
        for piece in pieces:
            if piece:
                stats.extra.setdefault("ttft_s", time.perf_counter() - started)
                yield piece
        stats.extra["wall_s"] = time.perf_counter() - started

    def _plain(
        self, lc_messages: list[BaseMessage], options: GenerationOptions, stats: GenerationStats
    ) -> Iterator[str]:
        for chunk in self._bound(options).stream(lc_messages):
            usage = getattr(chunk, "usage_metadata", None)
            if usage:
                stats.prompt_tokens += usage.get("input_tokens", 0)
                stats.generated_tokens += usage.get("output_tokens", 0)
            yield _text(chunk.content)

    def _structured(self, lc_messages: list[BaseMessage], options: GenerationOptions) -> Iterator[str]:
        """The provider's native structured output; the JSON arrives whole, so it is yielded as one piece."""
        schema = options.json_schema or {}
        titled = {"title": "response", **schema}  # providers name the response format after the title
        try:
            runnable = self.chat_model.with_structured_output(titled, method="json_schema")
        except (NotImplementedError, ValueError):
            yield self._instructed_json(lc_messages, options)
            return
        yield json.dumps(runnable.invoke(lc_messages))

    def _instructed_json(self, lc_messages: list[BaseMessage], options: GenerationOptions) -> str:
        """For models without structured output: ask for the JSON in the prompt, and cut it out of the reply."""
        instruction = SystemMessage(
            content=f"Reply with only a JSON value valid against this JSON schema:\n{json.dumps(options.json_schema)}"
        )
        reply = self._bound(options).invoke([*lc_messages, instruction])
        return _extract_json(_text(reply.content))


def load_langchain_model(spec: str) -> LangChainChatModel:
    """`provider:model`, e.g. `openai:gpt-4o-mini` or `ollama:llama3.1`, through langchain's init_chat_model."""
    if importlib.util.find_spec("langchain") is None:
        raise RuntimeError(
            f"the langchain backend ({spec!r}) needs the `langchain` package and the provider's integration: "
            "pip install langchain langchain-openai (or langchain-ollama, ...)"
        )
    from langchain.chat_models import init_chat_model

    if ":" not in spec:
        raise ValueError(f"langchain model spec must be 'provider:model', not {spec!r}")
    try:
        chat_model = init_chat_model(spec)
    except ImportError as error:
        raise RuntimeError(f"cannot load {spec!r}: {error} (install the provider's langchain package)") from error
    return LangChainChatModel(chat_model, name=f"langchain:{spec}")
