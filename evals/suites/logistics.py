"""Delivery predictions on real public data: delivery-time quantiles (Amazon last-mile deliveries) and late-delivery
risk (e-commerce shipments), both under K-fold cross-validation, against simple baselines.

The models are the ones the store uses (tools/logistics/quantile_model.py, risk_model.py) on each data set's own
columns; the demo store's own history is simulated and is not benchmarked here.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from evals.base import EvalResult, Evaluator, Metric

AMAZON = "delivery/amazon_delivery.csv"
SHIPPING = "delivery/ecommerce_shipping.csv"
QUICK_ROWS = 1500  # quick mode: a random subsample of each file, 2 folds
PUBLISHED_RF_MAE_MIN = 17.0
PUBLISHED_ACCURACY = "0.65–0.69"

AMAZON_NUMERIC = ("Agent_Age", "Agent_Rating")
AMAZON_CATEGORICAL = ("Weather", "Traffic", "Vehicle", "Area", "Category")
AMAZON_FEATURES = (*AMAZON_NUMERIC, "distance_km", "order_hour", "pickup_wait_min", "weekday",
                   *AMAZON_CATEGORICAL)
SHIPPING_NUMERIC = ("Customer_care_calls", "Customer_rating", "Cost_of_the_Product", "Prior_purchases",
                    "Discount_offered", "Weight_in_gms")
SHIPPING_CATEGORICAL = ("Warehouse_block", "Mode_of_Shipment", "Product_importance", "Gender")
SHIPPING_LABEL = "Reached.on.Time_Y.N"  # 1 = not on time (late)


class LogisticsEvaluator(Evaluator):
    """Options: `folds` (default 5; quick mode 2)."""

    name = "logistics"
    title = "Delivery predictions: delivery-time quantiles and late-delivery risk on real data"
    requires = (AMAZON, SHIPPING)

    def evaluate(self, out_dir: Path) -> EvalResult:
        from tools.logistics.threads import single_threaded

        folds = 2 if self.config.quick else int(self.config.options.get("folds", 5))
        rng = np.random.default_rng(self.config.seed)
        with single_threaded():
            regression = evaluate_regression(read_amazon(self.data_dir / AMAZON), folds, self.config.seed, rng,
                                             self.config.quick)
            classification = evaluate_classification(read_shipping(self.data_dir / SHIPPING), folds,
                                                     self.config.seed, rng, self.config.quick)
        plots = write_plots(regression, classification, out_dir)
        return EvalResult(
            metrics=headline(regression, classification),
            markdown=report(regression, classification, folds),
            plots=plots,
            details={"regression": regression["summary"], "classification": classification["summary"],
                     "folds": folds},
        )


# ------------------------------------------------------------------------------------------------ reading


def _number(text: str) -> float:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def _category(text: str) -> str:
    cleaned = text.strip()
    return "" if cleaned.lower() in {"", "nan", "na", "null"} else cleaned  # "" = missing


def _codes(values: list[str]) -> np.ndarray:
    """Category codes (sorted names); missing -> NaN, which the trees treat as its own branch."""
    names = sorted({v for v in values if v})
    index = {name: code for code, name in enumerate(names)}
    return np.array([index[v] if v else math.nan for v in values], dtype=float)


def _minutes(clock: str) -> float:
    try:
        hours, minutes, *_ = (int(part) for part in clock.strip().split(":"))
    except ValueError:
        return math.nan
    return hours * 60.0 + minutes


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Some rows have the store's coordinates with a flipped sign: distances use absolute values.
    lat1, lon1, lat2, lon2 = (math.radians(abs(v)) for v in (lat1, lon1, lat2, lon2))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


def _weekday(date: str) -> float:
    try:
        return float(datetime.strptime(date.strip(), "%Y-%m-%d").weekday())
    except ValueError:
        return math.nan


def read_amazon(path: Path) -> dict[str, Any]:
    """Features, categorical mask, target (minutes) and the Area x Vehicle group of each delivery."""
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if math.isfinite(_number(row["Delivery_Time"]))]
    columns: dict[str, Any] = {name: np.array([_number(r[name]) for r in rows]) for name in AMAZON_NUMERIC}
    columns["distance_km"] = np.array([
        _haversine_km(*(_number(r[k]) for k in ("Store_Latitude", "Store_Longitude", "Drop_Latitude",
                                                 "Drop_Longitude"))) for r in rows])
    ordered = np.array([_minutes(r["Order_Time"]) for r in rows])
    picked = np.array([_minutes(r["Pickup_Time"]) for r in rows])
    columns["order_hour"] = ordered / 60.0
    columns["pickup_wait_min"] = (picked - ordered) % (24 * 60)  # a pickup after midnight wraps around
    columns["weekday"] = np.array([_weekday(r["Order_Date"]) for r in rows])
    for name in AMAZON_CATEGORICAL:
        columns[name] = _codes([_category(r[name]) for r in rows])
    return {
        "features": np.column_stack([columns[name] for name in AMAZON_FEATURES]),
        "categorical": [name in AMAZON_CATEGORICAL for name in AMAZON_FEATURES],
        "target": np.array([_number(r["Delivery_Time"]) for r in rows]),
        "groups": np.array([f"{_category(r['Area'])}|{_category(r['Vehicle'])}" for r in rows]),
    }


def read_shipping(path: Path) -> dict[str, Any]:
    with path.open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row[SHIPPING_LABEL].strip() in {"0", "1"}]
    numeric = [np.array([_number(r[name]) for r in rows]) for name in SHIPPING_NUMERIC]
    categorical = [_codes([_category(r[name]) for r in rows]) for name in SHIPPING_CATEGORICAL]
    return {
        "features": np.column_stack(numeric + categorical),
        "categorical": [False] * len(SHIPPING_NUMERIC) + [True] * len(SHIPPING_CATEGORICAL),
        "label": np.array([int(r[SHIPPING_LABEL].strip()) for r in rows]),
    }


def _subsample(data: dict[str, Any], rng: np.random.Generator, quick: bool) -> dict[str, Any]:
    size = len(next(v for v in data.values() if isinstance(v, np.ndarray)))
    if not quick or size <= QUICK_ROWS:
        return data
    keep = np.sort(rng.choice(size, QUICK_ROWS, replace=False))
    return {key: value[keep] if isinstance(value, np.ndarray) else value for key, value in data.items()}


# ------------------------------------------------------------------------------------------------ regression


def group_median_predictions(train_groups: np.ndarray, train_target: np.ndarray,
                             test_groups: np.ndarray) -> np.ndarray:
    """The baseline: each test row gets its Area x Vehicle group's training median (the overall median for a
    group not seen in training)."""
    by_group: dict[str, list[float]] = defaultdict(list)
    for group, value in zip(train_groups, train_target, strict=True):
        by_group[group].append(value)
    medians = {group: float(np.median(values)) for group, values in by_group.items()}
    overall = float(np.median(train_target))
    return np.array([medians.get(group, overall) for group in test_groups])


def evaluate_regression(data: dict[str, Any], folds: int, seed: int, rng: np.random.Generator,
                        quick: bool) -> dict[str, Any]:
    from sklearn.model_selection import KFold

    from tools.logistics.quantile_model import QuantileModel, interval_coverage, pinball_loss

    data = _subsample(data, rng, quick)
    features, target, groups = data["features"], data["target"], data["groups"]
    predicted = np.zeros((len(target), 3))
    median_baseline = np.zeros(len(target))
    group_baseline = np.zeros(len(target))
    splits = KFold(folds, shuffle=True, random_state=seed).split(features)
    for train, test in _progress(list(splits), "delivery time folds"):
        model = QuantileModel(categorical=data["categorical"], seed=seed).fit(features[train], target[train])
        predicted[test] = model.predict(features[test])
        median_baseline[test] = np.median(target[train])
        group_baseline[test] = group_median_predictions(groups[train], target[train], groups[test])
    return {
        "summary": {
            "rows": len(target),
            "mae_min": float(np.abs(target - predicted[:, 1]).mean()),
            "p10_p90_coverage": interval_coverage(predicted, target),
            "p10_coverage": float((target < predicted[:, 0]).mean()),
            "p90_coverage": float((target <= predicted[:, 2]).mean()),
            "mean_interval_width_min": float((predicted[:, 2] - predicted[:, 0]).mean()),
            "pinball_loss_min": pinball_loss(predicted, target),
            "baseline_median_mae_min": float(np.abs(target - median_baseline).mean()),
            "baseline_area_vehicle_mae_min": float(np.abs(target - group_baseline).mean()),
        },
        "residuals": (target - predicted[:, 1]).tolist(),
    }


# ------------------------------------------------------------------------------------------------ classification


def evaluate_classification(data: dict[str, Any], folds: int, seed: int, rng: np.random.Generator,
                            quick: bool) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold

    from tools.logistics.risk_model import RiskModel, classification_metrics, reliability

    data = _subsample(data, rng, quick)
    features, label = data["features"], data["label"]
    probability = np.zeros(len(label))
    majority = np.zeros(len(label))
    base_rate = np.zeros(len(label))
    methods = set()
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(features, label)
    for train, test in _progress(list(splits), "late-risk folds"):
        model = RiskModel(categorical=data["categorical"], seed=seed).fit(features[train], label[train])
        probability[test] = model.probability(features[test])
        methods.add(model.calibration)
        majority[test] = Counter(label[train].tolist()).most_common(1)[0][0]
        base_rate[test] = label[train].mean()
    model_metrics = classification_metrics(label, probability)
    predicted_bins, observed_bins = reliability(label, probability, bins=10)
    return {
        "summary": {
            "rows": len(label),
            "late_share": float(label.mean()),
            **model_metrics,
            "calibration": "/".join(sorted(methods)),
            "baseline_majority_accuracy": float((majority == label).mean()),
            "baseline_base_rate_brier": float(np.mean((base_rate - label) ** 2)),
        },
        "reliability": (predicted_bins, observed_bins),
    }


# ------------------------------------------------------------------------------------------------ output


def _progress(items: list, label: str) -> list:
    from tqdm import tqdm

    return list(tqdm(items, desc=label, leave=False))


def headline(regression: dict[str, Any], classification: dict[str, Any]) -> dict[str, Metric]:
    r, c = regression["summary"], classification["summary"]
    return {
        "delivery_mae_min": Metric(r["mae_min"], better="lower", tolerance=0.5,
                                   description="P50 vs actual delivery time, K-fold CV"),
        "delivery_p10_p90_coverage_gap": Metric(abs(r["p10_p90_coverage"] - 0.8), better="lower", tolerance=0.02,
                                                description="|share of deliveries inside [P10, P90] - 0.80|"),
        "delivery_baseline_area_vehicle_mae_min": Metric(r["baseline_area_vehicle_mae_min"], better="lower",
                                                         tolerance=0.5),
        "late_roc_auc": Metric(c["roc_auc"], tolerance=0.01),
        "late_accuracy": Metric(c["accuracy"], tolerance=0.01),
        "late_brier": Metric(c["brier"], better="lower", tolerance=0.005),
        "late_baseline_majority_accuracy": Metric(c["baseline_majority_accuracy"], tolerance=0.01),
    }


def write_plots(regression: dict[str, Any], classification: dict[str, Any], out_dir: Path) -> list[str]:
    from evals.plots import bar_chart, histogram, reliability_curve

    r = regression["summary"]
    predicted, observed = classification["reliability"]
    reliability_curve({"calibrated trees (CV)": (predicted, observed)},
                      "Late-delivery risk: reliability (e-commerce shipping)", out_dir / "reliability.png")
    histogram({"actual - P50": regression["residuals"]}, "Delivery time residuals (Amazon, CV)",
              "minutes", out_dir / "residuals.png", bins=40)
    bar_chart({"below P10 (ideal 0.10)": r["p10_coverage"], "inside P10-P90 (ideal 0.80)": r["p10_p90_coverage"],
               "at or below P90 (ideal 0.90)": r["p90_coverage"]},
              "Delivery time: interval coverage (CV)", out_dir / "coverage.png", ylabel="share of deliveries")
    bar_chart({"quantile trees P50": r["mae_min"], "median by area x vehicle": r["baseline_area_vehicle_mae_min"],
               "overall median": r["baseline_median_mae_min"]},
              "Delivery time MAE (minutes, CV)", out_dir / "mae.png", ylabel="minutes")
    return ["mae.png", "coverage.png", "residuals.png", "reliability.png"]


def report(regression: dict[str, Any], classification: dict[str, Any], folds: int) -> str:
    r, c = regression["summary"], classification["summary"]
    base_brier = c["baseline_base_rate_brier"]
    return f"""
## Delivery time (`{AMAZON}`, {r['rows']:,} deliveries, {folds}-fold CV)

Gradient-boosted trees with the quantile loss (P10, P50, P90; scikit-learn HistGradientBoostingRegressor, quantiles
sorted so they never cross) on agent age and rating, store-to-drop distance, order hour, pickup wait, weekday,
weather, traffic, vehicle, area and category.

| model | MAE (min) |
|---|---|
| quantile trees, P50 | {r['mae_min']:.2f} |
| median by Area × Vehicle (baseline) | {r['baseline_area_vehicle_mae_min']:.2f} |
| overall median (baseline) | {r['baseline_median_mae_min']:.2f} |
| random forest, published | ≈ {PUBLISHED_RF_MAE_MIN:.0f} |

P10–P90 interval: {r['p10_p90_coverage']:.3f} of deliveries inside (ideal 0.80), {r['p10_coverage']:.3f} below P10
(ideal 0.10), {r['p90_coverage']:.3f} at or below P90 (ideal 0.90); mean width {r['mean_interval_width_min']:.1f} min;
pinball loss {r['pinball_loss_min']:.2f} min.

## Late-delivery risk (`{SHIPPING}`, {c['rows']:,} shipments, {folds}-fold stratified CV)

Gradient-boosted trees calibrated with CalibratedClassifierCV ({c['calibration']}); 1 = not on time
({c['late_share']:.3f} of shipments).

| model | ROC AUC | accuracy | Brier |
|---|---|---|---|
| calibrated trees | {c['roc_auc']:.3f} | {c['accuracy']:.3f} | {c['brier']:.4f} |
| majority class / base rate (baseline) | 0.500 | {c['baseline_majority_accuracy']:.3f} | {base_brier:.4f} |
| published models | | {PUBLISHED_ACCURACY} | |

Caveats: the Amazon file looks derived from a food-delivery data set (minutes, not days); some store coordinates have
a flipped sign (distances use absolute values). The shipping labels are partly rule-made (e.g. large discounts are
always late), which caps what any model reaches.
"""


EVALUATOR = LogisticsEvaluator
