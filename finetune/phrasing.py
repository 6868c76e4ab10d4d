"""Customer phrasing for the training data: templates (train or dev by position), slot values and noise."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.toolcall import ToolCall

TEMPLATES = tomllib.loads((Path(__file__).parent / "templates.toml").read_text())
DEV_EVERY = 5  # every fifth template of a kind is a dev template


@dataclass
class Step:
    """One customer message and the tool call that answers it."""

    user: str
    target: ToolCall
    template: str  # kind.index, for the split and the leakage check


def pick_template(kind: str, split: str, rng: random.Random) -> tuple[str, str]:
    templates = TEMPLATES["templates"][kind]
    dev = {i for i in range(len(templates)) if i % DEV_EVERY == DEV_EVERY - 1} or {len(templates) - 1}
    options = [(i, t) for i, t in enumerate(templates) if (i in dev) == (split == "dev")]
    index, text = rng.choice(options)
    return text, f"{kind}.{index}"


def odd_order_id(order_id: str, rng: random.Random) -> str:
    digits = order_id.removeprefix("#W")
    return rng.choice([order_id, order_id, f"W{digits}", f"#w{digits}", f"# W{digits}", f"order number {digits}",
                       f"#{digits}", f"W-{digits}"])


def noisy(text: str, rng: random.Random, casing: bool = True) -> str:
    """Typos, casing, terse and chatty styles: how customers really type. Typos go into the template's words
    (see `fill`), never into slot values: the call copies what the customer wrote."""
    if casing and rng.random() < 0.15:
        text = text.lower()
    if rng.random() < 0.15:
        text = rng.choice(["hey, ", "hello! ", "hi there, ", "ok so ", "um, "]) + text
    if rng.random() < 0.1:
        text += rng.choice([" thanks", " thx", " please help", " :)", "!!", " asap"])
    if rng.random() < 0.1:
        text = text.rstrip("?.!")
    return text


def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:] if rng.random() < 0.5 else w[:j] + w[j + 1:]
    return " ".join(words)


def fill(template: str, rng: random.Random, casing: bool = True, **slots: Any) -> str:
    if rng.random() < 0.25:
        template = _typo(template, rng)
    return noisy(template.format(**slots), rng, casing)
