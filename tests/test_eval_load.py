"""The load suite on a tiny size: a real `shopagent serve` (flows only), 3 concurrent signed-in sessions of 3 messages,
the report's shape; and its figures from hand-made results."""

from __future__ import annotations

import json
from pathlib import Path

from evals.base import EvalConfig
from evals.load_benchmark import SessionResult, TurnResult, client_address, scripts, summarise
from evals.registry import load_evaluator

DATA = Path(__file__).parent / "fixtures" / "data"


def test_a_tiny_load_run_finishes_and_reports(tmp_path: Path) -> None:
    # Four hits a minute per address is exactly one session's (open + 3 messages): any two sessions sharing an
    # address would be refused with 429, so none proves that the server sees three customers.
    config = EvalConfig(data_dir=DATA, quick=True, options={"model": "none", "set.rate_limit_per_minute": "4",
                                                             "deadline_s": "120"})
    run = load_evaluator("load", config).run(tmp_path / "out")
    out = tmp_path / "out" / "load"
    payload = json.loads((out / "metrics.json").read_text())
    [row] = payload["details"]["runs"]
    assert row["sessions"] == 3 and row["sessions_completed"] == 3
    assert row["turns_answered"] == 9 and row["failures"] == 0
    assert row["status_codes"] == {"200": 9} and row["session_codes"] == {"201": 3} and row["retries"] == 0
    assert 0 < row["p50_s"] <= row["p95_s"] <= row["max_s"] and row["throughput_turns_s"] > 0
    assert row["throughput_ratio"] == 1.0  # the only setup is its own baseline
    assert set(run.result.metrics) == {"1w-none_3_failures", "1w-none_3_p95_s", "1w-none_3_turns_per_s"}
    report = (out / "report.md").read_text()
    assert "| 1w-none | 3 | 3 | 9 / 9 | 0 |" in report and "SHOPAGENT_RATE_LIMIT_PER_MINUTE=4" in report
    assert (out / "load.png").stat().st_size > 0


def test_each_client_has_its_own_address_and_its_own_customer() -> None:
    made = scripts(100, seed=13)
    assert len({s.address for s in made}) == 100 and all(s.address.startswith("127.") for s in made)
    assert client_address(0) == "127.0.1.1" and client_address(250) == "127.0.2.1"
    assert len({s.token for s in made}) == 100
    assert [kind for kind, _ in made[0].turns] == ["search", "status", "follow_up"]
    assert "#W" in made[0].turns[1][1]  # the status asks about one of the customer's own orders
    # seeded: the same customers and messages (a token's expiry moves with the clock)
    assert [(s.address, s.turns) for s in scripts(5, seed=13)] == [(s.address, s.turns) for s in scripts(5, seed=13)]


def test_a_retried_turn_counts_its_whole_wait_and_an_unanswered_one_fails() -> None:
    opened = TurnResult("open", answered=True, codes=[201])
    retried = TurnResult("search", seconds=6.0, answered=True, codes=[503, 200])
    quick = TurnResult("status", seconds=1.0, answered=True, codes=[200])
    refused = TurnResult("follow_up", seconds=9.0, codes=[503, 503], failure="status 503, no time left to retry")
    summary = summarise([SessionResult(opened, [retried, quick, refused])], wall_s=10.0)
    assert summary["turns_answered"] == 2 and summary["failures"] == 1 and summary["sessions_completed"] == 0
    assert summary["max_s"] == 6.0 and summary["search_p95_s"] == 6.0  # the retried turn's time is its whole wait
    assert summary["status_codes"] == {"200": 2, "503": 3} and summary["retries"] == 2
    assert summary["throughput_turns_s"] == 0.2
    assert summary["failure_reasons"] == {"status 503, no time left to retry": 1}
