"""Delivery duration as three quantiles (P10, P50, P90): one gradient-boosted tree model per quantile."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class QuantileModel:
    """scikit-learn HistGradientBoostingRegressor with the pinball (quantile) loss, once per quantile.

    Separately fitted quantiles can cross; predictions are sorted per row (rearrangement), so P10 <= P50 <= P90.
    """

    categorical: Sequence[bool] | None = None
    seed: int = 0
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    quantiles: tuple[float, ...] = QUANTILES
    interval_offset: float = 0.0  # conformal widening of the outer quantiles (hours), see conformal_offset
    models: list = field(default_factory=list)

    def fit(self, features: np.ndarray, target: np.ndarray) -> QuantileModel:
        from sklearn.ensemble import HistGradientBoostingRegressor

        self.models = [
            HistGradientBoostingRegressor(
                loss="quantile",
                quantile=quantile,
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=min(self.min_samples_leaf, max(2, len(target) // 10)),
                l2_regularization=1.0,
                categorical_features=list(self.categorical) if self.categorical is not None else None,
                early_stopping=False,  # no random validation split: training is deterministic for a seed
                random_state=self.seed,
            ).fit(features, target)
            for quantile in self.quantiles
        ]
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One row per sample, one column per quantile, non-decreasing along each row."""
        predictions = np.column_stack([model.predict(features) for model in self.models])
        predictions[:, 0] -= self.interval_offset
        predictions[:, -1] += self.interval_offset
        return np.sort(predictions, axis=1)


def interval_coverage(predictions: np.ndarray, target: np.ndarray) -> float:
    """Share of targets inside [first quantile, last quantile]: 0.8 is ideal for P10-P90."""
    inside = (target >= predictions[:, 0]) & (target <= predictions[:, -1])
    return float(inside.mean())


def conformal_offset(predictions: np.ndarray, target: np.ndarray, coverage: float = 0.8) -> float:
    """Conformalized quantile regression (Romano et al., 2019): how far to move the outer quantiles out (or in)
    so that held-out targets fall inside the interval at the nominal rate. `predictions` must be out-of-sample."""
    scores = np.maximum(predictions[:, 0] - target, target - predictions[:, -1])
    level = min(1.0, np.ceil((len(target) + 1) * coverage) / len(target))
    return float(np.quantile(scores, level))


def pinball_loss(predictions: np.ndarray, target: np.ndarray, quantiles: Sequence[float] = QUANTILES) -> float:
    losses = []
    for column, quantile in enumerate(quantiles):
        error = target - predictions[:, column]
        losses.append(np.mean(np.maximum(quantile * error, (quantile - 1) * error)))
    return float(np.mean(losses))
