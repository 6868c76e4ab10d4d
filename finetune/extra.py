"""Extra training examples from files (`shopagent finetune --extra FILE`), e.g. `shopagent feedback export`'s:
checked, then added to the generated train split. Only tool-call targets train the model; reply targets (a
person's edited text) are counted and skipped — this model writes calls, not replies."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent import toolcall

ROLES = {"system", "user", "tool", "assistant"}


@dataclass
class Extra:
    examples: list[dict[str, Any]] = field(default_factory=list)
    skipped_replies: int = 0


def fingerprint(paths: list[Path]) -> list[str]:
    """What the run's data depends on: a changed file means new training data."""
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]


def load_extra(paths: list[Path]) -> Extra:
    """Every example of the files; ValueError naming the file and line of the first malformed one."""
    extra = Extra()
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    example = _checked(json.loads(line))
                except ValueError as error:  # json.JSONDecodeError is one
                    raise ValueError(f"{path}:{number}: {error}") from None
                if "reply" in example["target"]:
                    extra.skipped_replies += 1
                else:
                    extra.examples.append(example)
    return extra


def _checked(example: Any) -> dict[str, Any]:
    if not isinstance(example, dict) or not isinstance(example.get("target"), dict):
        raise ValueError("an example is an object with 'messages' and a 'target' object")
    messages = example.get("messages")
    if (not isinstance(messages, list) or not messages
            or not all(isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
                       for m in messages) or messages[-1]["role"] != "user"):
        raise ValueError("'messages' must be chat messages ending with the customer's")
    if "reply" not in example["target"]:
        call = toolcall.parse(example["target"])
        example = {**example, "target": {"tool": call.tool, "arguments": call.arguments}}
    return {"family": "extra", "template": "extra", "customer": None, "order": None, "split": "train", **example}


def add_to_train(work: Path, extra: Extra) -> None:
    with (work / "train.jsonl").open("a", encoding="utf-8") as fh:
        for example in extra.examples:
            fh.write(json.dumps(example, ensure_ascii=False) + "\n")
