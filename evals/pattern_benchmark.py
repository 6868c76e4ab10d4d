"""Worst-case time of the patterns that read customer text, on the adversarial inputs of
evals/adversarial_text.py at the message limit, and of the reader on the issue's stalling message.

For each pattern: the slowest input at 2,000 characters, its time there and at 500, and the growth exponent
log(t2000 / t500) / log 4 (1 = linear, 2 = quadratic). Writes JSON and a Markdown table.

    python -m evals.pattern_benchmark --out evals/results
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.adversarial_text import MESSAGE_LIMIT, adversarial_inputs, customer_text_patterns, scan

ISSUE_MESSAGE = "status of order #W" + "1" * 1960


def best_of(work, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def pattern_row(name: str, pattern: Any) -> dict[str, Any]:
    timed = [(best_of(lambda t=text: scan(pattern, t), 1), text) for text in adversarial_inputs(pattern)]
    _, worst = max(timed, key=lambda pair: pair[0])
    long_s = best_of(lambda: scan(pattern, worst))
    short_s = best_of(lambda: scan(pattern, worst[: MESSAGE_LIMIT // 4]))
    exponent = math.log(max(long_s, 1e-7) / max(short_s, 1e-7)) / math.log(4)
    return {"pattern": name, "worst_input": worst[:40], "seconds_at_limit": long_s, "exponent": round(exponent, 2)}


def reader_row() -> dict[str, Any]:
    from agent.nlu import understand
    from agent.reader import extract

    understand("hello")  # load the reader first
    return {"extract_slots_s": best_of(lambda: extract.slots(ISSUE_MESSAGE)),
            "understand_s": best_of(lambda: understand(ISSUE_MESSAGE))}


def run() -> dict[str, Any]:
    rows = sorted((pattern_row(name, p) for name, p in customer_text_patterns().items()),
                  key=lambda row: row["seconds_at_limit"], reverse=True)
    return {"machine": f"{os.cpu_count()} CPUs, {platform.platform()}", "message_limit": MESSAGE_LIMIT,
            "patterns": len(rows), "inputs_per_pattern": sum(1 for _ in adversarial_inputs()),
            "worst_pattern_s": rows[0]["seconds_at_limit"], "issue_message": reader_row(), "rows": rows}


def markdown(report: dict[str, Any], top: int = 10) -> str:
    issue = report["issue_message"]
    lines = [f"# Customer-text patterns: worst case at {report['message_limit']} characters", "",
             f"{report['patterns']} patterns x {report['inputs_per_pattern']}+ adversarial inputs; "
             f"{report['machine']}.", "",
             f"'status of order #W' + 1,960 digits: extractors {issue['extract_slots_s'] * 1000:.1f} ms, "
             f"understand() {issue['understand_s']:.2f} s.", "",
             "| pattern | worst input | seconds | growth exponent |", "|---|---|---|---|"]
    for row in report["rows"][:top]:
        lines.append(f"| `{row['pattern']}` | `{row['worst_input'][:24]!r}` | {row['seconds_at_limit']:.4f} "
                     f"| {row['exponent']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("evals/results"))
    out = parser.parse_args().out / "patterns"
    out.mkdir(parents=True, exist_ok=True)
    report = run()
    (out / "patterns.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
