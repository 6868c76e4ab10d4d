"""Give a store's demo orders their simulated history: at load time, and for a database loaded before it existed.

Idempotent: only orders without a history row get one, and an order's row depends only on (seed, order, anchor).
Only orders of the bundled demo store are simulated: a real store's orders must not get made-up histories.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tools.logistics.history import OrderLogistics
from tools.logistics.simulate import DEFAULT_SEED, OrderFacts, simulate
from tools.retail.data_model import Order, OrderItem
from tools.store import Store


def default_anchor() -> datetime:
    """'Now' for the simulation, to the hour (so two loads within an hour give identical histories)."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def add_history(session: Session, order_ids: Iterable[str], *, seed: int = DEFAULT_SEED,
                anchor: datetime | None = None) -> int:
    """Simulate and add history rows for these orders (those that have none yet); returns how many were added."""
    anchor = anchor or default_anchor()
    wanted = set(order_ids)
    have = set(session.scalars(select(OrderLogistics.order_id)))
    item_counts = dict(
        session.execute(select(OrderItem.order_id, func.count()).group_by(OrderItem.order_id)).all()
    )
    added = 0
    for order in session.scalars(select(Order).where(Order.order_id.in_(wanted - have)).order_by(Order.order_id)):
        facts = OrderFacts(order.order_id, order.status, order.zip, item_counts.get(order.order_id, 1))
        journey = simulate(facts, anchor, seed)
        session.add(OrderLogistics(order_id=order.order_id, item_count=facts.item_count, simulated=True, seed=seed,
                                   **journey.__dict__))
        added += 1
    return added


def demo_order_ids(source: Path) -> list[str]:
    return list(json.loads(Path(source).read_text())["orders"])


def backfill_history(store: Store, *, source: Path | None = None, seed: int = DEFAULT_SEED,
                     anchor: datetime | None = None) -> int:
    """Add the simulated history to the demo store's orders that lack it (a database loaded before it existed)."""
    from tools.retail.loader import DEMO_STORE_JSON

    store.migrate()
    ids = demo_order_ids(source or DEMO_STORE_JSON)
    with store.transaction() as session:
        return add_history(session, ids, seed=seed, anchor=anchor)
