"""The stated process that simulates a demo order's history (documented in docs/logistics.md).

Each order gets its own random stream, seeded by (seed, the order's digits), so an order's history does not depend
on which other orders exist or in which order they are generated: a backfill yields the same rows as a load.
All times are UTC. `anchor` is "now" for the simulation: delivered orders were delivered before it, orders in
flight are at a random point of their journey at it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from tools.logistics.geography import WAREHOUSES, ZIP_REGIONS, nearest_warehouse, region_of, road_km

DEFAULT_SEED = 7
# Carrier -> (share of orders, kilometres a day in transit, spread of its transit time: lognormal sigma).
CARRIERS: dict[str, tuple[float, float, float]] = {
    "UPS": (0.45, 700.0, 0.25),
    "FedEx": (0.30, 800.0, 0.20),
    "USPS": (0.25, 550.0, 0.35),
}
NEAREST_WAREHOUSE_SHARE = 0.8  # otherwise the stock sits in another warehouse
STOCK_DELAY_SHARE, DISRUPTION_SHARE = 0.04, 0.05  # extra 1-3 days in the warehouse / in transit
DAY_START, DAY_END = 8, 20  # carriers deliver between 08:00 and 20:00
SAME_DAY_CUTOFF = 14  # orders placed after 14:00 are promised one day later
PROMISE_KM_PER_DAY = 700.0  # with a one-day base: about a quarter of orders arrive late
# Placement hour of day: few orders at night.
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 7, 5, 3], dtype=float)
DELIVERED_LIKE = {"delivered", "return requested", "exchange requested"}
MAX_TRIES = 20
PENDING_LIKE = {"pending", "pending (item modified)"}


@dataclass(frozen=True)
class OrderFacts:
    """What the store knows about an order that its history depends on."""

    order_id: str
    status: str
    zip: str
    item_count: int


@dataclass(frozen=True)
class Journey:
    placed_at: datetime
    promised_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None
    carrier: str
    warehouse: str
    distance_km: float


def order_stream(seed: int, order_id: str) -> np.random.Generator:
    digits = int(re.sub(r"\D", "", order_id) or "0")
    return np.random.default_rng([seed, digits])


def simulate(order: OrderFacts, anchor: datetime, seed: int = DEFAULT_SEED) -> Journey:
    rng = order_stream(seed, order.order_id)
    region = ZIP_REGIONS[region_of(order.zip)]
    destination = (region[0] + rng.normal(0, 1.2), region[1] + rng.normal(0, 1.5))
    warehouse = _warehouse(rng, destination)
    distance = road_km(WAREHOUSES[warehouse], destination)
    carrier = str(rng.choice(list(CARRIERS), p=[share for share, _, _ in CARRIERS.values()]))
    plan = _Plan(
        processing=_processing_hours(rng, order.item_count),
        transit=_transit_hours(rng, carrier, distance),
        evening_jitter=float(rng.uniform(0, 5)),
        sunday_service=carrier == "USPS",
    )
    placed = _placement(rng, plan, order.status, anchor)
    shipped, delivered = plan.lay_out(placed)
    return Journey(
        placed_at=placed,
        promised_at=_promise(placed, distance),
        shipped_at=shipped if order.status in DELIVERED_LIKE or order.status == "processed" else None,
        delivered_at=delivered if order.status in DELIVERED_LIKE else None,
        carrier=carrier,
        warehouse=warehouse,
        distance_km=round(distance, 1),
    )


@dataclass(frozen=True)
class _Plan:
    """An order's drawn durations; the calendar rules turn them into times once the placement time is known."""

    processing: float  # hours in the warehouse
    transit: float  # hours with the carrier
    evening_jitter: float  # hours after 08:00 that a parcel held overnight is delivered
    sunday_service: bool

    def lay_out(self, placed: datetime) -> tuple[datetime, datetime]:
        shipped = placed + timedelta(hours=self.processing)
        if shipped.weekday() == 6:  # warehouses don't ship on Sundays: it leaves on Monday at the same hour
            shipped += timedelta(days=1)
        arrival = shipped + timedelta(hours=self.transit)
        if arrival.hour >= DAY_END or arrival.hour < DAY_START:  # after hours: out next morning
            morning = arrival if arrival.hour < DAY_START else arrival + timedelta(days=1)
            arrival = morning.replace(hour=DAY_START, minute=0) + timedelta(hours=self.evening_jitter)
        if arrival.weekday() == 6 and not self.sunday_service:
            arrival += timedelta(days=1)
        return shipped, arrival


def _placement(rng: np.random.Generator, plan: _Plan, status: str, anchor: datetime) -> datetime:
    """When the order was placed, so that at `anchor` it has reached the point its status says."""
    if status in PENDING_LIKE or status == "processed":
        in_transit = status == "processed"
        for _ in range(MAX_TRIES):
            fraction = float(rng.uniform(0.05, 0.95))
            elapsed = plan.processing + plan.transit * fraction if in_transit else plan.processing * fraction
            placed = anchor - timedelta(hours=elapsed)
            shipped, delivered = plan.lay_out(placed)
            if (shipped <= anchor < delivered) if in_transit else anchor < shipped:
                return placed
        return anchor - timedelta(minutes=30)  # practically unreachable: just placed
    days_ago = float(rng.uniform(1, 60)) if status == "cancelled" else float(rng.uniform(20, 120))
    day = (anchor - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
    hour = float(rng.choice(24, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()) + rng.uniform(0, 1))
    return day + timedelta(hours=hour)


def _warehouse(rng: np.random.Generator, destination: tuple[float, float]) -> str:
    nearest = nearest_warehouse(destination)
    if rng.uniform() < NEAREST_WAREHOUSE_SHARE:
        return nearest
    return str(rng.choice([code for code in WAREHOUSES if code != nearest]))


def _processing_hours(rng: np.random.Generator, item_count: int) -> float:
    hours = 4.0 + 1.5 * item_count + 8.0 * rng.lognormal(0.0, 0.5)
    if rng.uniform() < STOCK_DELAY_SHARE:
        hours += rng.uniform(24, 72)
    return float(hours)


def _transit_hours(rng: np.random.Generator, carrier: str, distance_km: float) -> float:
    _, km_per_day, sigma = CARRIERS[carrier]
    hours = (0.6 + distance_km / km_per_day) * 24.0 * rng.lognormal(0.0, sigma)
    if rng.uniform() < DISRUPTION_SHARE:
        hours += rng.uniform(24, 72)  # weather, a missed connection
    return float(hours)


def _promise(placed: datetime, distance_km: float) -> datetime:
    days = 1 + math.ceil(distance_km / PROMISE_KM_PER_DAY) + (1 if placed.hour >= SAME_DAY_CUTOFF else 0)
    return (placed + timedelta(days=days)).replace(hour=DAY_END, minute=0, second=0, microsecond=0)
