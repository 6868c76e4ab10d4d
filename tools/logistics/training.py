"""Train the delivery-duration quantile model and the late-risk classifier on a store's delivered orders.

Metrics are cross-validated (every row predicted by models that did not see it); the saved models are then fit on
all rows. Deterministic for a seed: fixed folds, no random early-stopping split, seeded trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tools.logistics.features import FEATURES, categorical_mask, duration_hours, feature_matrix, was_late
from tools.logistics.history import OrderLogistics
from tools.logistics.quantile_model import (
    QUANTILES,
    QuantileModel,
    conformal_offset,
    interval_coverage,
    pinball_loss,
)
from tools.logistics.risk_model import RiskModel, classification_metrics, reliability
from tools.logistics.threads import single_threaded
from tools.store import Store

FORMAT_VERSION = 1
MIN_ROWS = 20


class NotEnoughHistory(RuntimeError):
    pass


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 13
    cv_folds: int = 5
    max_iter: int = 100
    limit: int | None = None  # train on the first `limit` delivered orders only (tests)


@dataclass
class TrainedModels:
    quantiles: QuantileModel
    risk: RiskModel
    metadata: dict[str, Any]


def delivered_rows(session: Session, limit: int | None = None) -> list[OrderLogistics]:
    query = select(OrderLogistics).where(OrderLogistics.delivered_at.is_not(None)).order_by(OrderLogistics.order_id)
    return list(session.scalars(query.limit(limit)))


def train_from_store(store: Store, config: TrainingConfig | None = None) -> TrainedModels:
    config = config or TrainingConfig()
    with store.session() as session:
        rows = delivered_rows(session, config.limit)
        simulated = all(row.simulated for row in rows)
    return train_models(rows, config, source="simulated demo-store history" if simulated else "store history")


def train_models(rows: Sequence[OrderLogistics], config: TrainingConfig, source: str = "") -> TrainedModels:
    if len(rows) < MIN_ROWS:
        raise NotEnoughHistory(f"only {len(rows)} delivered orders with a history; at least {MIN_ROWS} are needed")
    features = feature_matrix(rows)
    hours = np.array([duration_hours(row) for row in rows])
    late = np.array([was_late(row) for row in rows], dtype=int)
    with single_threaded():
        metrics, curve = cross_validated(features, hours, late, config)
        quantiles = _quantile_model(config).fit(features, hours)
        quantiles.interval_offset = metrics["interval_offset_hours"]
        risk = _risk_model(config).fit(features, late)
    metadata = _metadata(config, len(rows), metrics, curve, risk.calibration, source)
    return TrainedModels(quantiles, risk, metadata)


def _quantile_model(config: TrainingConfig) -> QuantileModel:
    return QuantileModel(categorical=categorical_mask(), seed=config.seed, max_iter=config.max_iter)


def _risk_model(config: TrainingConfig) -> RiskModel:
    return RiskModel(categorical=categorical_mask(), seed=config.seed, max_iter=config.max_iter)


def cross_validated(features: np.ndarray, hours: np.ndarray, late: np.ndarray,
                    config: TrainingConfig) -> tuple[dict[str, float], dict[str, list[float]]]:
    from sklearn.model_selection import StratifiedKFold

    predicted = np.zeros((len(hours), len(QUANTILES)))
    probability = np.zeros(len(hours))
    folds = list(StratifiedKFold(config.cv_folds, shuffle=True, random_state=config.seed).split(features, late))
    for train, test in folds:
        predicted[test] = _quantile_model(config).fit(features[train], hours[train]).predict(features[test])
        probability[test] = _risk_model(config).fit(features[train], late[train]).probability(features[test])
    median_baseline = np.abs(hours - np.median(hours)).mean()  # in-sample median: a generous baseline
    metrics = {
        "duration_mae_hours": float(np.abs(hours - predicted[:, 1]).mean()),
        "baseline_median_mae_hours": float(median_baseline),
        "p10_p90_coverage_raw": interval_coverage(predicted, hours),
        "p10_p90_coverage": _conformal_coverage(predicted, hours, folds),
        "interval_offset_hours": conformal_offset(predicted, hours),
        "pinball_loss_hours": pinball_loss(predicted, hours),
        "late_rate": float(late.mean()),
        **{f"late_{name}": value for name, value in classification_metrics(late, probability).items()},
        "baseline_late_brier": float(late.mean() * (1 - late.mean())),
    }
    predicted_bins, observed_bins = reliability(late, probability, bins=5)
    return metrics, {"predicted": predicted_bins, "observed": observed_bins}


def _conformal_coverage(predicted: np.ndarray, hours: np.ndarray, folds: list) -> float:
    """Coverage of the conformally widened interval, each fold widened by an offset from the other folds only."""
    inside = np.zeros(len(hours), dtype=bool)
    for train, test in folds:
        widened = predicted[test].copy()
        offset = conformal_offset(predicted[train], hours[train])
        widened[:, 0] -= offset
        widened[:, -1] += offset
        inside[test] = (hours[test] >= widened[:, 0]) & (hours[test] <= widened[:, -1])
    return float(inside.mean())


def _metadata(config: TrainingConfig, rows: int, metrics: dict[str, float], curve: dict[str, list[float]],
              calibration: str, source: str) -> dict[str, Any]:
    import sklearn

    return {
        "format": FORMAT_VERSION,
        "seed": config.seed,
        "rows": rows,
        "source": source,
        "features": list(FEATURES),
        "quantiles": list(QUANTILES),
        "target": "hours from placed to delivered; late = delivered after the promised time",
        "cv_folds": config.cv_folds,
        "max_iter": config.max_iter,
        "calibration": calibration,
        "metrics": {name: round(value, 4) for name, value in metrics.items()},
        "reliability_curve": {name: [round(v, 4) for v in values] for name, values in curve.items()},
        "sklearn_version": sklearn.__version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
