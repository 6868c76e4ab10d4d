"""Order features for the delivery models, from a history row: known when the order is placed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from tools.logistics.geography import WAREHOUSES
from tools.logistics.history import OrderLogistics
from tools.logistics.simulate import CARRIERS

FEATURES = ("distance_km", "item_count", "carrier", "warehouse", "placed_hour", "placed_weekday", "promised_hours")
CATEGORICAL = ("carrier", "warehouse")
CARRIER_CODES = {name: code for code, name in enumerate(sorted(CARRIERS))}
WAREHOUSE_CODES = {name: code for code, name in enumerate(sorted(WAREHOUSES))}


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def hours_between(start: datetime, end: datetime) -> float:
    return (as_utc(end) - as_utc(start)).total_seconds() / 3600.0


def categorical_mask() -> list[bool]:
    return [name in CATEGORICAL for name in FEATURES]


def feature_row(row: OrderLogistics) -> list[float]:
    placed = as_utc(row.placed_at)
    return [
        float(row.distance_km),
        float(row.item_count),
        float(CARRIER_CODES.get(row.carrier, np.nan)),  # an unknown carrier counts as missing
        float(WAREHOUSE_CODES.get(row.warehouse, np.nan)),
        placed.hour + placed.minute / 60.0,
        float(placed.weekday()),
        hours_between(row.placed_at, row.promised_at),
    ]


def feature_matrix(rows: Sequence[OrderLogistics]) -> np.ndarray:
    return np.array([feature_row(row) for row in rows], dtype=float).reshape(len(rows), len(FEATURES))


def duration_hours(row: OrderLogistics) -> float:
    """Placed to delivered, in hours (delivered rows only)."""
    assert row.delivered_at is not None
    return hours_between(row.placed_at, row.delivered_at)


def was_late(row: OrderLogistics) -> bool:
    assert row.delivered_at is not None
    return as_utc(row.delivered_at) > as_utc(row.promised_at)
