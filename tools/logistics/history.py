"""The order history table: when an order was placed, shipped and delivered, and by whom from where.

For the bundled demo store these rows are simulated (tools/logistics/simulate.py, docs/logistics.md); a real store
would fill them from its fulfilment system. Registered on the store's own Base; the migrations create it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tools.retail.data_model import Base


class OrderLogistics(Base):
    __tablename__ = "order_logistics"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), primary_key=True)
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    promised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # end of the promised delivery day
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    carrier: Mapped[str] = mapped_column(String(32))
    warehouse: Mapped[str] = mapped_column(String(32))
    distance_km: Mapped[float] = mapped_column(Float)
    item_count: Mapped[int] = mapped_column(Integer)
    simulated: Mapped[bool] = mapped_column(Boolean, default=True)  # made up by the stated process, not observed
    seed: Mapped[int | None] = mapped_column(Integer, default=None)
