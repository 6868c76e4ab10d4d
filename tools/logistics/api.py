"""Plain Python entry points for other parts of the system (the proactive engine's late-order heads-up)."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.logistics.estimate import late_probability, stage_of
from tools.logistics.features import as_utc
from tools.logistics.history import OrderLogistics
from tools.logistics.predictor import models_for
from tools.retail.data_model import Order
from tools.retail.tools import normalise_order_id
from tools.store import Store


def late_risk(store: Store, order_id: str, now: datetime | None = None) -> float | None:
    """The probability that an order not yet delivered misses its promised date; None for an unknown order, one
    without shipping history, or one already delivered or cancelled. Internal use: no customer check."""
    with store.session() as session:
        order = session.get(Order, normalise_order_id(order_id))
        history = session.get(OrderLogistics, order.order_id) if order is not None else None
        if order is None or history is None or stage_of(order.status) in {"delivered", "cancelled"}:
            return None
        return late_probability(models_for(store), history, as_utc(now or datetime.now(UTC)))
