"""The probability that an order misses its promised date: gradient-boosted trees, calibrated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ISOTONIC_MIN_ROWS = 1000  # below this, isotonic calibration overfits: a sigmoid (Platt) map is used instead


@dataclass
class RiskModel:
    categorical: Sequence[bool] | None = None
    seed: int = 0
    max_iter: int = 100
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    calibration_folds: int = 3
    model: Any = None

    def fit(self, features: np.ndarray, late: np.ndarray) -> RiskModel:
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold

        trees = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=min(self.min_samples_leaf, max(2, len(late) // 10)),
            l2_regularization=1.0,
            categorical_features=list(self.categorical) if self.categorical is not None else None,
            early_stopping=False,
            random_state=self.seed,
        )
        folds = StratifiedKFold(self.calibration_folds, shuffle=True, random_state=self.seed)
        method = "isotonic" if len(late) >= ISOTONIC_MIN_ROWS else "sigmoid"
        self.model = CalibratedClassifierCV(trees, method=method, cv=folds).fit(features, late.astype(int))
        return self

    @property
    def calibration(self) -> str:
        return self.model.method if self.model is not None else ""

    def probability(self, features: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(features)[:, 1]


def classification_metrics(late: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score

    late = late.astype(int)
    both = len(set(late.tolist())) == 2
    return {
        "roc_auc": float(roc_auc_score(late, probability)) if both else float("nan"),
        "accuracy": float(accuracy_score(late, probability >= 0.5)),
        "brier": float(brier_score_loss(late, probability)),
    }


def reliability(late: np.ndarray, probability: np.ndarray, bins: int = 10) -> tuple[list[float], list[float]]:
    """(mean predicted probability, observed frequency) per bin with samples: the reliability curve."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(late.astype(int), probability, n_bins=bins, strategy="quantile")
    return predicted.tolist(), observed.tolist()
