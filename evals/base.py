"""The shared base of every evaluation suite: one `Evaluator` subclass per file in `evals/suites/`.

An evaluator computes its metrics from a data folder with the layout of `../shared/data` and returns an
`EvalResult`; `Evaluator.run` times it, writes `metrics.json` and `report.md` (plus any PNG plots the evaluator
wrote) into `OUT/<suite>/`, and compares with the same suite in a baseline folder, flagging regressions.
"""

from __future__ import annotations

import json
import os
import platform
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"


@dataclass(frozen=True)
class Metric:
    """One headline figure. `tolerance` is how much worse than the baseline it may get before it is flagged."""

    value: float
    better: Literal["higher", "lower"] = "higher"
    tolerance: float = 0.0
    description: str = ""


@dataclass(frozen=True)
class Regression:
    metric: str
    baseline: float
    current: float

    @property
    def change(self) -> float:
        return self.current - self.baseline


@dataclass
class EvalConfig:
    """What every suite is given. `quick` shrinks the work (tests, smoke runs); `options` are suite-specific."""

    data_dir: Path
    seed: int = 13
    quick: bool = False
    backend: str = "llama_cpp"
    model: str = "smollm2-135m"
    adapter: str | None = None  # None: the model's default (the shipped adapter where there is one)
    threads: int = 2
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class EvalResult:
    """What an evaluator returns: headline metrics, the report's body (Markdown), plots it wrote, raw details."""

    metrics: dict[str, Metric]
    markdown: str
    plots: list[str] = field(default_factory=list)  # file names inside the suite's output folder
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SuiteRun:
    suite: str
    title: str
    result: EvalResult
    seconds: float
    out_dir: Path
    regressions: list[Regression]
    baseline_found: bool


class Evaluator(ABC):
    """Subclasses set `name` (the suite's name, also its file name) and `title`, and implement `evaluate`."""

    name: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()  # files under the data folder this suite reads

    def __init__(self, config: EvalConfig) -> None:
        self.config = config

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    def missing_data(self) -> list[str]:
        return [rel for rel in self.requires if not (self.data_dir / rel).exists()]

    @abstractmethod
    def evaluate(self, out_dir: Path) -> EvalResult:
        """Compute the suite's metrics; plots go into `out_dir` (which exists)."""

    def result_dir(self, out_root: Path) -> Path:
        """Where this run's reports go (a suite run in another configuration may keep apart from the default)."""
        return out_root / self.name

    def run(self, out_root: Path, baseline_root: Path | None = None) -> SuiteRun:
        missing = self.missing_data()
        if missing:
            raise FileNotFoundError(f"suite {self.name}: missing data under {self.data_dir}: {', '.join(missing)}")
        out_dir = self.result_dir(out_root)
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        result = self.evaluate(out_dir)
        seconds = time.perf_counter() - started
        baseline = read_metrics(self.result_dir(baseline_root)) if baseline_root else None
        regressions = find_regressions(result.metrics, baseline["metrics"]) if baseline else []
        run = SuiteRun(self.name, self.title, result, seconds, out_dir, regressions, baseline is not None)
        write_outputs(run, self.config)
        return run


# ---------------------------------------------------------------------------------- comparison


def read_metrics(suite_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((suite_dir / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None


def find_regressions(current: dict[str, Metric], baseline: dict[str, dict[str, Any]]) -> list[Regression]:
    """Metrics worse than the baseline by more than their tolerance (metrics new in this run are not flagged)."""
    found = []
    for name, metric in current.items():
        before = baseline.get(name)
        if before is None or before.get("value") is None:
            continue
        worse_by = (before["value"] - metric.value) if metric.better == "higher" else (metric.value - before["value"])
        if worse_by > metric.tolerance + 1e-12:
            found.append(Regression(name, float(before["value"]), metric.value))
    return found


# ---------------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "accelerator": "none (CPU only)",
    }


def machine_line() -> str:
    info = machine()
    return f"{info['cpu_count']} CPU cores, {info['processor']}, {info['platform']}, CPU only"


def write_outputs(run: SuiteRun, config: EvalConfig) -> None:
    payload = {
        "suite": run.suite,
        "title": run.title,
        "metrics": {name: asdict(metric) for name, metric in run.result.metrics.items()},
        "regressions": [asdict(r) for r in run.regressions],
        "seconds": round(run.seconds, 2),
        "config": {**asdict(config), "data_dir": str(config.data_dir)},
        "machine": machine(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "plots": run.result.plots,
        "details": run.result.details,
    }
    (run.out_dir / METRICS_FILE).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (run.out_dir / REPORT_FILE).write_text(report_markdown(run, config))


def report_markdown(run: SuiteRun, config: EvalConfig) -> str:
    lines = [f"# {run.title}", ""]
    if run.regressions:
        lines += ["**Regressions against the baseline:**", "", "| metric | baseline | now | change |",
                  "|---|---|---|---|"]
        lines += [f"| {r.metric} | {r.baseline:.4g} | {r.current:.4g} | {r.change:+.4g} |" for r in run.regressions]
        lines.append("")
    elif run.baseline_found:
        lines += ["No regression against the baseline.", ""]
    lines += ["| metric | value | better |", "|---|---|---|"]
    lines += [f"| {name} | {format_value(m.value)} | {m.better} |" for name, m in run.result.metrics.items()]
    lines += ["", run.result.markdown.strip(), ""]
    lines += [f"![{plot}]({plot})" for plot in run.result.plots]
    lines += ["", f"Run time {run.seconds:.1f} s on {machine_line()}; seed {config.seed}"
              + ("; quick mode (reduced sample)." if config.quick else "."), ""]
    return "\n".join(lines)


def format_value(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.2f}"
