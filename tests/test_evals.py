"""The evaluation framework: regression flags, the files a run writes, the `shopagent eval` command, and the
retrieval evaluator on a tiny Home Depot fixture with hand-computed answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals import suites
from evals.base import EvalConfig, Metric, find_regressions
from evals.cli import REGRESSION_EXIT
from evals.registry import available_suites, load_evaluator
from evals.retrieval_benchmark import ndcg_at, recall_at
from server.cli import app
from server.config import get_settings

FIXTURES = Path(__file__).parent / "fixtures"
TINY_SUITES = FIXTURES / "evals" / "suites"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private SHOPAGENT_HOME (caches) for the test."""
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_BACKEND", "none")
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


@pytest.fixture
def tiny_suite(monkeypatch: pytest.MonkeyPatch) -> str:
    """Make the tiny suite in tests/fixtures/evals/suites discoverable, as a suite file in evals/suites/ is."""
    monkeypatch.setattr(suites, "__path__", [*suites.__path__, str(TINY_SUITES)])
    return "tiny"


def tiny_data(root: Path, accuracy: float, seconds_per_item: float = 1.0) -> Path:
    (root / "tiny").mkdir(parents=True, exist_ok=True)
    scores = {"accuracy": accuracy, "seconds_per_item": seconds_per_item, "items": 3}
    (root / "tiny" / "scores.json").write_text(json.dumps(scores))
    return root


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["eval", *args], env={"COLUMNS": "200"})


# --- regression flags ------------------------------------------------------------------------------------


def baseline_of(**values: float) -> dict[str, dict[str, float]]:
    return {name: {"value": value} for name, value in values.items()}


def test_a_worse_run_is_flagged() -> None:
    [flag] = find_regressions({"accuracy": Metric(0.80, tolerance=0.01)}, baseline_of(accuracy=0.85))
    assert flag.metric == "accuracy" and flag.baseline == 0.85 and flag.current == 0.80
    assert flag.change == pytest.approx(-0.05)


def test_a_change_within_tolerance_or_better_is_not_flagged() -> None:
    assert find_regressions({"accuracy": Metric(0.845, tolerance=0.01)}, baseline_of(accuracy=0.85)) == []
    assert find_regressions({"accuracy": Metric(0.95)}, baseline_of(accuracy=0.85)) == []
    assert find_regressions({"accuracy": Metric(0.85)}, baseline_of(accuracy=0.85)) == []


def test_lower_is_better_metrics_regress_upwards() -> None:
    latency = {"p95_s": Metric(1.5, better="lower", tolerance=0.2)}
    assert [r.metric for r in find_regressions(latency, baseline_of(p95_s=1.0))] == ["p95_s"]
    assert find_regressions(latency, baseline_of(p95_s=1.4)) == []  # 0.1 worse: within tolerance
    assert find_regressions(latency, baseline_of(p95_s=3.0)) == []  # faster


def test_metrics_new_in_this_run_are_not_flagged() -> None:
    assert find_regressions({"new": Metric(0.1)}, baseline_of(old=0.9)) == []


# --- a run's files -----------------------------------------------------------------------------------------


def test_a_run_writes_metrics_report_and_index(tmp_path: Path, tiny_suite: str, home: Path) -> None:
    data = tiny_data(tmp_path / "data", accuracy=0.9)
    out = tmp_path / "out"
    result = invoke(tiny_suite, "--data-dir", str(data), "--out", str(out))
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "tiny" / "metrics.json").read_text())
    assert metrics["suite"] == "tiny"
    assert metrics["metrics"]["accuracy"] == {"value": 0.9, "better": "higher", "tolerance": 0.01, "description": ""}
    assert metrics["metrics"]["seconds_per_item"]["better"] == "lower"
    assert metrics["regressions"] == [] and metrics["details"] == {"items": 3}
    assert metrics["config"]["data_dir"] == str(data)
    report = (out / "tiny" / "report.md").read_text()
    assert report.startswith("# Tiny test suite") and "| accuracy | 0.9000 | higher |" in report
    assert "Scored 3 items." in report and "![accuracy.png](accuracy.png)" in report
    assert (out / "tiny" / "accuracy.png").stat().st_size > 0
    assert "<table>" in (out / "tiny" / "report.html").read_text()
    index = (out / "index.md").read_text()
    assert "[Tiny test suite](tiny/report.md)" in index and "accuracy 0.9000" in index
    index_html = (out / "index.html").read_text()
    assert 'href="tiny/report.html"' in index_html


def test_a_worse_run_exits_3_and_says_so(tmp_path: Path, tiny_suite: str, home: Path) -> None:
    before = invoke(tiny_suite, "--data-dir", str(tiny_data(tmp_path / "a", 0.9)), "--out", str(tmp_path / "base"))
    assert before.exit_code == 0, before.output
    worse = tiny_data(tmp_path / "b", accuracy=0.8, seconds_per_item=1.05)
    result = invoke(tiny_suite, "--data-dir", str(worse), "--out", str(tmp_path / "new"),
                    "--baseline", str(tmp_path / "base"))
    assert result.exit_code == REGRESSION_EXIT == 3, result.output
    metrics = json.loads((tmp_path / "new" / "tiny" / "metrics.json").read_text())
    assert [r["metric"] for r in metrics["regressions"]] == ["accuracy"]  # the slower time is within tolerance
    assert "Regressions against the baseline" in (tmp_path / "new" / "tiny" / "report.md").read_text()
    assert "1 regression(s)" in (tmp_path / "new" / "index.md").read_text()


def test_an_equal_run_against_a_baseline_passes(tmp_path: Path, tiny_suite: str, home: Path) -> None:
    data = tiny_data(tmp_path / "a", 0.9)
    assert invoke(tiny_suite, "--data-dir", str(data), "--out", str(tmp_path / "base")).exit_code == 0
    result = invoke(tiny_suite, "--data-dir", str(data), "--out", str(tmp_path / "new"),
                    "--baseline", str(tmp_path / "base"))
    assert result.exit_code == 0, result.output
    assert "No regression against the baseline." in (tmp_path / "new" / "tiny" / "report.md").read_text()


def test_bad_input_exits_2(tmp_path: Path, tiny_suite: str, home: Path) -> None:
    data = tiny_data(tmp_path / "data", 0.9)
    unknown = invoke("no-such-suite", "--data-dir", str(data), "--out", str(tmp_path / "out"))
    assert unknown.exit_code == 2 and "unknown suite 'no-such-suite'" in unknown.output
    assert invoke("--data-dir", str(data)).exit_code == 2  # no suite named, no --all
    assert invoke(tiny_suite, "--data-dir", str(tmp_path / "absent")).exit_code == 2
    assert invoke(tiny_suite, "--data-dir", str(tmp_path)).exit_code == 2  # tiny/scores.json missing
    assert invoke(tiny_suite, "--data-dir", str(data), "--option", "novalue").exit_code == 2
    missing_baseline = invoke(tiny_suite, "--data-dir", str(data), "--baseline", str(tmp_path / "nope"))
    assert missing_baseline.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_options_reach_the_evaluator(tmp_path: Path, tiny_suite: str) -> None:
    config = EvalConfig(data_dir=tmp_path, options={"k": "v"})
    evaluator = load_evaluator(tiny_suite, config)
    assert evaluator.config.options == {"k": "v"} and evaluator.missing_data() == ["tiny/scores.json"]


def test_suites_are_discovered_in_run_order() -> None:
    names = available_suites()
    assert {"retrieval", "latency"} <= set(names)
    assert names.index("retrieval") < names.index("latency")


# --- the retrieval evaluator ---------------------------------------------------------------------------------


def test_ndcg_by_hand() -> None:
    judged = {"a": 1.0, "b": 3.0, "c": 2.0}  # gains 0, 2, 1
    dcg = 0 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["a", "b", "c"], judged) == pytest.approx(dcg / ideal)
    assert ndcg_at(["a", "b", "c"], judged) == pytest.approx(0.66967, abs=1e-5)
    assert ndcg_at(["b", "c", "a"], judged) == pytest.approx(1.0)
    assert ndcg_at(["x", "y"], judged) == 0.0  # unjudged documents have no gain
    assert ndcg_at(["a"], {"a": 1.0}) == 0.0  # nothing relevant: defined as 0
    assert ndcg_at(["c", "b"], judged, k=1) == pytest.approx(1 / 2)  # cut at k


def test_recall_by_hand() -> None:
    judged = {"a": 3.0, "b": 2.5, "c": 2.0}  # relevant (>= 2.33): a and b
    assert recall_at(["a", "x", "c"], judged) == 0.5
    assert recall_at(["x", "b", "a"], judged, k=2) == 0.5
    assert recall_at(["a"], {"a": 1.0}) is None


def test_retrieval_suite_on_the_fixture(tmp_path: Path, home: Path) -> None:
    """Each fixture query names its one relevant product's title words: every ranking puts it first."""
    config = EvalConfig(data_dir=FIXTURES / "data", quick=True)
    run = load_evaluator("retrieval", config).run(tmp_path / "out")
    metrics = {name: metric.value for name, metric in run.result.metrics.items()}
    assert metrics["hybrid_ndcg@10"] == pytest.approx(1.0)
    assert metrics["bm25_ndcg@10"] == pytest.approx(1.0)
    assert metrics["hybrid_recall@100"] == pytest.approx(1.0)
    assert metrics["search_p95_ms"] > 0
    assert run.result.details == {"catalogue_size": 8, "judged_queries": 6}
    assert (tmp_path / "out" / "retrieval" / "ndcg.png").is_file()
    written = json.loads((tmp_path / "out" / "retrieval" / "metrics.json").read_text())
    assert written["metrics"]["hybrid_ndcg@10"]["value"] == pytest.approx(1.0)
