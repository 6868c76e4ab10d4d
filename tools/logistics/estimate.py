"""What to tell a customer about an order's delivery, by its status: the actual delivery, none, or a window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tools.logistics.features import as_utc, feature_matrix
from tools.logistics.history import OrderLogistics
from tools.logistics.simulate import DELIVERED_LIKE, PENDING_LIKE
from tools.logistics.threads import single_threaded
from tools.logistics.training import TrainedModels


def day_label(moment: datetime) -> str:
    """'Thursday 26 Nov': how the agent names a day."""
    return f"{moment:%A} {moment.day} {moment:%b}"


def stage_of(status: str) -> str:
    if status in DELIVERED_LIKE:
        return "delivered"
    if status == "cancelled":
        return "cancelled"
    return "awaiting shipment" if status in PENDING_LIKE else "in transit"


def arrival_quantiles(models: TrainedModels, history: OrderLogistics) -> list[datetime]:
    """P10, P50, P90 of the arrival time, from the order's features at placement."""
    with single_threaded():
        hours = models.quantiles.predict(feature_matrix([history]))[0]
    placed = as_utc(history.placed_at)
    return [placed + timedelta(hours=float(h)) for h in np.maximum(hours, 0.0)]


def late_probability(models: TrainedModels, history: OrderLogistics, now: datetime) -> float:
    """The chance the order arrives after its promised time; certain once that time has passed undelivered."""
    if now > as_utc(history.promised_at):
        return 1.0
    with single_threaded():
        return float(models.risk.probability(feature_matrix([history]))[0])


def estimate(order_id: str, status: str, history: OrderLogistics, models: TrainedModels | None,
             now: datetime | None = None) -> dict[str, Any]:
    now = as_utc(now or datetime.now(UTC))
    stage = stage_of(status)
    result: dict[str, Any] = {"order_id": order_id, "status": status, "stage": stage,
                              "history": "simulated" if history.simulated else "recorded"}
    if stage == "cancelled":
        return {**result, "delivery": None, "note": "A cancelled order is not delivered."}
    promised = as_utc(history.promised_at)
    result |= {"promised_at": promised.isoformat(), "promised_day": day_label(promised), "carrier": history.carrier}
    if stage == "delivered":
        delivered = as_utc(history.delivered_at) if history.delivered_at else None
        if delivered is None:
            return {**result, "delivery": None, "note": "The delivery time was not recorded."}
        return {**result, "delivered_at": delivered.isoformat(), "delivered_day": day_label(delivered),
                "on_time": delivered <= promised}
    assert models is not None
    return result | _window(models, history, now)


def _window(models: TrainedModels, history: OrderLogistics, now: datetime) -> dict[str, Any]:
    # Not delivered yet, so it arrives after now: quantiles already in the past are moved up to now.
    p10, p50, p90 = (max(moment, now) for moment in arrival_quantiles(models, history))
    risk = late_probability(models, history, now)
    shipped = as_utc(history.shipped_at).isoformat() if history.shipped_at else None
    return {
        "placed_at": as_utc(history.placed_at).isoformat(),
        "shipped_at": shipped,
        "arrival": {"p10": p10.isoformat(), "p50": p50.isoformat(), "p90": p90.isoformat()},
        "earliest_day": day_label(p10),
        "likely_day": day_label(p50),
        "latest_day": day_label(p90),
        "overdue": p90 <= now,
        "late_risk": round(risk, 3),
        "late_risk_percent": round(round(risk, 3) * 100),  # the percent of the figure shown, not of a finer one
    }
