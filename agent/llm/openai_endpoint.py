"""The agent's model behind any OpenAI-compatible chat-completions server (llama-cpp-python's `llama_cpp.server`,
llama.cpp's `llama-server`, vLLM, TGI), through LangChain's ChatOpenAI: a store moves the model to a GPU machine
by configuration (SHOPAGENT_MODEL_URL) alone.

Servers disagree on two request fields, so both are handled here:
- the reply's length: ChatOpenAI sends only `max_completion_tokens`, which llama-cpp-python's server ignores (it
  would then decode to the end of its context), so `max_tokens` goes along too;
- a JSON-schema-constrained reply: OpenAI's `{"type": "json_schema", ...}` (vLLM, llama-server, OpenAI) or
  llama-cpp-python's `{"type": "json_object", "schema": ...}`. The first a server accepts is kept for later calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import openai
from langchain_core.messages import BaseMessage

from agent.llm.base import GenerationOptions
from agent.llm.langchain_backend import LangChainChatModel, _text

ResponseFormat = Callable[[dict[str, Any]], dict[str, Any]]
RESPONSE_FORMATS: dict[str, ResponseFormat] = {
    "json_schema": lambda schema: {"type": "json_schema",
                                   "json_schema": {"name": "response", "schema": schema, "strict": True}},
    "json_object": lambda schema: {"type": "json_object", "schema": schema},
}


def refused_format(error: openai.APIStatusError) -> bool:
    """A server's no to the response format itself: 400 / 422, or llama-cpp-python's 500 naming the field."""
    return error.status_code in (400, 422) or "response_format" in str(error.message)


class EndpointChatModel(LangChainChatModel):
    """A ChatOpenAI at `base_url`; thread-safe (each call is its own HTTP request on a pooled client)."""

    def __init__(self, chat_model: Any, name: str) -> None:
        super().__init__(chat_model, name=name)
        self._formats = list(RESPONSE_FORMATS)  # the accepted one moves to the front
        self._probing = threading.Lock()  # until one is accepted, one call at a time finds out which
        self._settled = False

    def _bound(self, options: GenerationOptions) -> Any:
        kwargs: dict[str, Any] = {"max_tokens": options.max_tokens, "temperature": options.temperature,
                                  "seed": options.seed, "extra_body": {"max_tokens": options.max_tokens}}
        if options.stop:
            kwargs["stop"] = list(options.stop)
        return self.chat_model.bind(**kwargs)

    def _structured(self, lc_messages: list[BaseMessage], options: GenerationOptions) -> Iterator[str]:
        if self._settled:
            yield self._constrained(lc_messages, options)
            return
        with self._probing:  # concurrent first calls would each be refused, and each retried, before learning
            text = self._constrained(lc_messages, options)
        yield text

    def _constrained(self, lc_messages: list[BaseMessage], options: GenerationOptions) -> str:
        schema = options.json_schema or {}
        refused: Exception | None = None
        for name in list(self._formats):
            try:
                reply = self._bound(options).bind(response_format=RESPONSE_FORMATS[name](schema)).invoke(lc_messages)
            except openai.APIStatusError as error:
                if not refused_format(error):
                    raise
                refused = error
                continue
            if self._formats[0] != name:
                self._formats.remove(name)
                self._formats.insert(0, name)
            self._settled = True
            return _text(reply.content)
        raise RuntimeError(f"the model server at {self.chat_model.openai_api_base} takes no JSON-schema "
                           "response format") from refused


def load_endpoint_model(url: str, model: str, api_key: str | None = None, timeout: float = 30.0) -> EndpointChatModel:
    """`model` is the name the server knows the model by (llama_cpp.server answers to any name it was started with
    as its alias; vLLM to the name it serves). Calls time out after `timeout` seconds, retried once."""
    from langchain_openai import ChatOpenAI

    chat_model = ChatOpenAI(base_url=url, model=model, api_key=api_key or "unused", timeout=timeout, max_retries=1,
                            temperature=0.0, streaming=False)
    return EndpointChatModel(chat_model, name=f"endpoint:{model}@{url}")
