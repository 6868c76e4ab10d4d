"""Message catalogues per locale: every text the customer sees, one TOML file per locale and text family
(`en/replies.toml`, `zh/replies.toml`, ...). The conversation's locale is set for the span of a turn (`speaking`)
and read by every text look-up, so the flows keep calling `say(key)` without passing a language around.

Each turn runs in its own thread (server/turns.py), and a thread starts with its own context, so one
conversation's locale never leaks into another's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent
DEFAULT = "en"
LOCALES = ("en", "zh")
# Babel's names for the locales served: money and dates are formatted the way these write them.
BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}

_current: ContextVar[str] = ContextVar("shopagent_locale", default=DEFAULT)


def served(tag: str | None) -> str:
    """The locale served for a language tag ("zh-CN" → "zh", "fr" → the default)."""
    primary = (tag or "").split("-")[0].split("_")[0].lower()
    return primary if primary in LOCALES else DEFAULT


def current() -> str:
    """The locale of the turn being handled ("en" outside any turn)."""
    return _current.get()


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Texts looked up inside the block are in `locale` (the default for None or a locale not served)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@cache
def catalogue(family: str, locale: str = DEFAULT) -> dict[str, Any]:
    """One text family of one locale, as written in its TOML file."""
    return tomllib.loads((LOCALES_DIR / locale / f"{family}.toml").read_text(encoding="utf-8"))


def entries(family: str, locale: str | None = None) -> dict[str, Any]:
    """The family in the given (else the current) locale; a key missing there falls back to English."""
    locale = locale or current()
    if locale == DEFAULT or locale not in LOCALES:
        return catalogue(family)
    return _merged(family, locale)


@cache
def _merged(family: str, locale: str) -> dict[str, Any]:
    return _deep_merge(catalogue(family), catalogue(family, locale))


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _deep_merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def text(family: str, name: str, /, **slots: Any) -> str:
    """A text of the current locale, its {slots} filled: text("replies", "order_status", order_id=...)."""
    return str(entries(family)[name]).format(**slots)


def all_texts(family: str) -> list[str]:
    """Every text of the family in every locale (what the grounding checker accepts as the agent's own wording)."""
    return [value for locale in LOCALES for value in _strings(catalogue(family, locale))]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
