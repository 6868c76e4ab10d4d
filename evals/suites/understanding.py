"""The reader on the test-only paraphrases: requests, moves and slots of each message, per language and context.

The files in evals/data/understanding were written apart from the reader's training phrasings and are never
trained on (a test checks that no training code reads them). --option files=PATH[,PATH] scores other files.

--option reader=lm:MODEL scores the LM reader (agent/reader/lm.py: a LoRA-tuned MODEL writes the act line under a
grammar in llama.cpp, the extractors fill the slots) instead of the shipped classifier reader; --option adapter=PATH
names its adapter folder ('none': the base model), --option threads=N llama.cpp's threads (default 1). Its reports
go to OUT/understanding-lm/MODEL/, beside the classifier's.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from evals.base import EvalResult, Evaluator, Metric

TEST_DIR = Path(__file__).resolve().parents[1] / "data" / "understanding"
# The slots scored: every value a tool may copy, and the reason and payment kind the flows decide on.
SCORED_SLOTS = ("order_ids", "item_ids", "email", "first_name", "last_name", "zip", "reason", "payment",
                "card_last_four", "price_min", "price_max", "address")
QUICK_LINES = 60
Reading = Callable[[str, str | None], dict[str, Any]]  # (message, the agent's last question) -> act as JSON


def read_lines(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


def _slot_values(slots: dict[str, Any]) -> dict[str, Any]:
    values = {name: slots.get(name) for name in SCORED_SLOTS}
    return {k: v for k, v in values.items() if v not in (None, [], {})}


def _address_equal(a: dict[str, str], b: dict[str, str]) -> bool:
    return all(str(a.get(k, "")).strip().lower() == str(b.get(k, "")).strip().lower() for k in set(a) | set(b))


def score_line(gold: dict[str, Any], predicted: dict[str, Any]) -> dict[str, bool]:
    """Per aspect, whether the reading is exact: the requests (in order), the moves, and every scored slot (a slot
    the message does not state must not be filled either)."""
    want, got = _slot_values(gold["slots"]), _slot_values(predicted["slots"])
    slot_ok = set(want) == set(got) and all(
        _address_equal(want[k], got[k]) if k == "address" else want[k] == got[k] for k in want)
    return {
        "request": list(gold["requests"]) == list(predicted["requests"]),
        "primary_request": (gold["requests"][:1] or [None]) == (predicted["requests"][:1] or [None]),
        "moves": sorted(gold["moves"]) == sorted(predicted["moves"]),
        "slots": slot_ok,
    }


def score(lines: list[dict[str, Any]], read: Reading) -> dict[str, Any]:
    """Accuracies overall, per language and per context, with the reading time of each message."""
    seconds: list[float] = []
    rows = []
    for line in lines:
        started = time.perf_counter()
        predicted = read(line["text"], line["context"])  # read after the agent's last question
        seconds.append(time.perf_counter() - started)
        rows.append({"id": line["id"], "lang": line["lang"], "context": line["context"] or "none",
                     **score_line(line["act"], predicted)})
    aspects = ("request", "primary_request", "moves", "slots")

    def rates(selected: list[dict[str, Any]]) -> dict[str, float]:
        return {a: float(np.mean([r[a] for r in selected])) if selected else 0.0 for a in aspects} | {
            "n": len(selected)}

    groups: dict[str, dict[str, list[dict[str, Any]]]] = {"lang": defaultdict(list), "context": defaultdict(list)}
    for row in rows:
        groups["lang"][row["lang"]].append(row)
        groups["context"][row["context"]].append(row)
    return {
        "overall": rates(rows),
        "by_language": {k: rates(v) for k, v in sorted(groups["lang"].items())},
        "by_context": {k: rates(v) for k, v in sorted(groups["context"].items())},
        "p50_ms": float(np.percentile(seconds, 50) * 1000) if seconds else 0.0,
        "p95_ms": float(np.percentile(seconds, 95) * 1000) if seconds else 0.0,
        "wrong": {a: [r["id"] for r in rows if not r[a]] for a in aspects},
    }


def reader_reading(text: str, context: str | None = None) -> dict[str, Any]:
    from agent.reader import default_reader
    from agent.reader.acts import Context

    act = default_reader().read(text, Context(context) if context else None)
    return act.model_dump(mode="json")


def lm_reading(model: str, adapter: str | None, threads: int) -> tuple[Reading, Any]:
    """The LM reader's reading function, and the reader (for its fallback count). The message alone is read: the
    LM was trained without the agent's question (its rows have none); the classifier reads it with the question."""
    from agent.reader.lm import lm_reader

    reader = lm_reader(model, Path(adapter) if adapter and adapter != "none" else None, n_threads=threads,
                       base=adapter == "none")
    return (lambda text, _question=None: reader.read(text).model_dump(mode="json")), reader


class UnderstandingEvaluator(Evaluator):
    name = "understanding"
    title = "The reader on test-only paraphrases (requests, moves, slots; per language)"
    requires = ()

    def _files(self) -> list[Path]:
        option = self.config.options.get("files")
        return [Path(p) for p in option.split(",")] if option else sorted(TEST_DIR.glob("*.jsonl"))

    def missing_data(self) -> list[str]:
        return [str(p) for p in self._files() if not p.is_file()]

    def _lm_model(self) -> str | None:
        kind, _, model = self.config.options.get("reader", "classifier").partition(":")
        if kind not in ("classifier", "lm") or (kind == "lm") != bool(model):
            raise ValueError("--option reader= wants 'classifier' or 'lm:MODEL'")
        return model or None

    def result_dir(self, out_root: Path) -> Path:
        model = self._lm_model()
        if model is None:
            return out_root / self.name
        base = "-base" if self.config.options.get("adapter") == "none" else ""
        return out_root / "understanding-lm" / f"{model}{base}"

    def _reading(self) -> tuple[Reading, Any]:
        model = self._lm_model()
        if model is None:
            return reader_reading, None
        return lm_reading(model, self.config.options.get("adapter"), int(self.config.options.get("threads", 1)))

    def evaluate(self, out_dir: Path) -> EvalResult:
        from evals.plots import grouped_bars

        lines = read_lines(self._files())
        if self.config.quick:
            lines = lines[::max(1, len(lines) // QUICK_LINES)]
        read, lm = self._reading()
        read("warm up")  # loading the model is not reading a message
        figures = score(lines, read)
        figures["reader"] = self.config.options.get("reader", "classifier")
        figures["fallbacks"] = lm.fallbacks if lm is not None else 0
        languages = figures["by_language"]
        grouped_bars({lang: {k: v for k, v in r.items() if k != "n"} for lang, r in languages.items()},
                     "Reader accuracy on test-only paraphrases", out_dir / "accuracy.png")
        (out_dir / "wrong_ids.json").write_text(json.dumps(figures["wrong"], indent=1) + "\n")
        metrics = {f"{lang}_{aspect}": Metric(r[aspect], tolerance=0.01)
                   for lang, r in languages.items() for aspect in ("request", "moves", "slots")}
        metrics["reader_p50_ms"] = Metric(figures["p50_ms"], better="lower", tolerance=5.0)
        metrics["reader_p95_ms"] = Metric(figures["p95_ms"], better="lower", tolerance=10.0)
        return EvalResult(metrics, _markdown(figures), plots=["accuracy.png"],
                          details={k: v for k, v in figures.items() if k != "wrong"})


def _markdown(figures: dict[str, Any]) -> str:
    def table(title: str, groups: dict[str, dict[str, float]]) -> list[str]:
        out = [f"| {title} | messages | request | primary request | moves | slots exact |", "|---|---|---|---|---|---|"]
        out += [f"| {name} | {r['n']} | {r['request']:.1%} | {r['primary_request']:.1%} | {r['moves']:.1%} "
                f"| {r['slots']:.1%} |" for name, r in groups.items()]
        return out

    lines = [f"Reader: `{figures['reader']}`. Test-only paraphrases (`evals/data/understanding/`, never trained on). "
             "*request*: every request, in order; *slots exact*: every scored slot equal and none invented.", ""]
    lines += [*table("language", figures["by_language"]), "", *table("agent's last question", figures["by_context"])]
    lines += ["", f"Reading time per message: p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms."]
    if figures["fallbacks"]:
        lines.append(f"Act lines that did not parse (read by the classifier reader instead): {figures['fallbacks']}.")
    return "\n".join(lines)


EVALUATOR = UnderstandingEvaluator
