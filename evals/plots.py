"""Small plotting helpers shared by the suites (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _save(figure: plt.Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)  # suites draw many plots in one process
    return path


def bar_chart(values: Mapping[str, float], title: str, path: Path, ylabel: str = "") -> Path:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    names = list(values)
    axis.bar(range(len(names)), [values[n] for n in names], color="tab:blue")
    axis.set_xticks(range(len(names)), names, rotation=15, ha="right", fontsize=8)
    for i, name in enumerate(names):
        axis.text(i, values[name], f"{values[name]:.3f}", ha="center", va="bottom", fontsize=8)
    axis.set_title(title)
    axis.set_ylabel(ylabel)
    return _save(figure, path)


def histogram(series: Mapping[str, Sequence[float]], title: str, xlabel: str, path: Path, bins: int = 30) -> Path:
    figure, axis = plt.subplots(figsize=(7, 3.6))
    for label, values in series.items():
        axis.hist(values, bins=bins, alpha=0.6, label=label)
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel("count")
    axis.legend(fontsize=8)
    return _save(figure, path)


def reliability_curve(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
                      path: Path) -> Path:
    """curves: label -> (mean predicted probability per bin, observed frequency per bin)."""
    figure, axis = plt.subplots(figsize=(4.8, 4.5))
    axis.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    for label, (predicted, observed) in curves.items():
        axis.plot(predicted, observed, marker="o", label=label)
    axis.set_xlabel("predicted probability")
    axis.set_ylabel("observed frequency")
    axis.set_title(title)
    axis.legend(fontsize=8)
    return _save(figure, path)


def precision_recall(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str, path: Path) -> Path:
    """curves: label -> (recall values, precision values)."""
    figure, axis = plt.subplots(figsize=(4.8, 4.5))
    for label, (recall, precision) in curves.items():
        axis.plot(recall, precision, label=label)
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1.02)
    axis.set_title(title)
    axis.legend(fontsize=8)
    return _save(figure, path)


def grouped_bars(groups: Mapping[str, Mapping[str, float]], title: str, path: Path) -> Path:
    """groups: method -> {metric: value}; one cluster of bars per metric, one colour per method."""
    methods = list(groups)
    metrics = list(next(iter(groups.values()))) if groups else []
    width = 0.8 / max(len(methods), 1)
    figure, axis = plt.subplots(figsize=(7.5, 3.8))
    for m, method in enumerate(methods):
        values = [groups[method].get(metric, 0.0) for metric in metrics]
        positions = [i + (m - (len(methods) - 1) / 2) * width for i in range(len(metrics))]
        axis.bar(positions, values, width, label=method)
        for x, value in zip(positions, values, strict=True):
            axis.text(x, value, f"{value:.2f}", ha="center", va="bottom", fontsize=6)
    axis.set_xticks(range(len(metrics)), metrics)
    axis.set_title(title)
    axis.legend(fontsize=7, ncol=min(len(methods), 4))
    return _save(figure, path)
