"""The logistics evaluation suite on a tiny fixture with answers worked out by hand.

tests/fixtures/data/delivery/ has the real files' layout (trailing spaces in categories, 'NaN ' weather included):
- amazon_delivery.csv: 40 deliveries in four Area x Vehicle groups of ten, each group with one constant delivery
  time (100, 150, 200, 120 minutes), so the area x vehicle median baseline is exact: MAE 0;
- ecommerce_shipping.csv: 40 shipments, 24 late (1) and 16 on time (0). With 2 stratified folds every training
  fold is 12 late / 8 on time: the majority class (late) is right on 24 of 40 = 0.6, and the base rate 0.6 has a
  Brier score of 0.6 * 0.4**2 + 0.4 * 0.6**2 = 0.24.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evals.base import EvalConfig
from evals.suites.logistics import EVALUATOR, group_median_predictions, read_amazon

FIXTURE = Path(__file__).parent / "fixtures" / "data"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("eval")
    return EVALUATOR(EvalConfig(data_dir=FIXTURE, quick=True, seed=13)).run(out)


def test_baselines_match_the_hand_computed_figures(run) -> None:  # type: ignore[no-untyped-def]
    regression = run.result.details["regression"]
    classification = run.result.details["classification"]
    assert regression["rows"] == 40 and classification["rows"] == 40
    assert regression["baseline_area_vehicle_mae_min"] == pytest.approx(0.0)
    assert classification["baseline_majority_accuracy"] == pytest.approx(0.6)
    assert classification["baseline_base_rate_brier"] == pytest.approx(0.24)
    assert run.result.metrics["late_baseline_majority_accuracy"].value == pytest.approx(0.6)


def test_model_metrics_are_valid_and_reported(run) -> None:  # type: ignore[no-untyped-def]
    regression = run.result.details["regression"]
    classification = run.result.details["classification"]
    assert 0 <= regression["p10_p90_coverage"] <= 1 and regression["mae_min"] >= 0
    assert 0 <= classification["roc_auc"] <= 1 and 0 <= classification["brier"] <= 1
    saved = json.loads((run.out_dir / "metrics.json").read_text())
    assert set(saved["metrics"]) == set(run.result.metrics)
    for plot in run.result.plots:
        assert (run.out_dir / plot).stat().st_size > 1000  # a real PNG was drawn
    report = (run.out_dir / "report.md").read_text()
    assert "| majority class / base rate (baseline) | 0.500 | 0.600 | 0.2400 |" in report  # measured, not quoted


def test_group_median_baseline_by_hand() -> None:
    train_groups = np.array(["a", "a", "a", "b", "b"])
    train_target = np.array([10.0, 20.0, 60.0, 5.0, 7.0])
    predicted = group_median_predictions(train_groups, train_target, np.array(["a", "b", "c"]))
    assert predicted.tolist() == [20.0, 6.0, 10.0]  # "c" unseen: the overall median of the five


def test_categories_are_stripped_and_missing_values_kept_missing() -> None:
    data = read_amazon(FIXTURE / "delivery" / "amazon_delivery.csv")
    assert set(data["groups"]) == {"Urban|motorcycle", "Metropolitian|scooter", "Semi-Urban|van", "Other|bicycle"}
    weather = data["features"][:, 6]  # Weather: "NaN " is a missing value, not a category
    assert np.isnan(weather).sum() == 13 and set(weather[~np.isnan(weather)]) == {0.0, 1.0}
