"""The logistics tools the agent can call (same decorated-function style as tools/retail/tools.py)."""

from __future__ import annotations

from typing import Annotated

from langchain_core.tools import InjectedToolArg

from tools.context import StoreContext
from tools.errors import ToolError
from tools.logistics.estimate import estimate, stage_of
from tools.logistics.history import OrderLogistics
from tools.logistics.predictor import models_for
from tools.retail.data_model import Order
from tools.retail.tools import normalise_order_id
from tools.runner import ToolKind, store_tool

Ctx = Annotated[StoreContext, InjectedToolArg]


@store_tool(ToolKind.READ)
def predict_delivery(order_id: str, ctx: Ctx) -> dict:
    """Estimate when an order will arrive: for an order not delivered yet, an arrival window (P10, P50, P90), the promised date and the chance it arrives late; for a delivered order, when it was delivered; a cancelled order is not delivered.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
    """  # noqa: E501
    if not order_id.strip().lstrip("#"):
        raise ToolError("Please give an order id, such as #W0000000.")
    order = ctx.db.get(Order, normalise_order_id(order_id))
    ctx.require_own(order.user_id if order else None, f"Order {order_id} not found.")
    assert order is not None
    history = ctx.db.get(OrderLogistics, order.order_id)
    if history is None and order.status != "cancelled":
        raise ToolError(f"There is no shipping information for order {order.order_id} yet, so I can't estimate "
                        "its delivery.")
    if history is None:
        return {"order_id": order.order_id, "status": order.status, "stage": "cancelled", "delivery": None}
    in_flight = stage_of(order.status) in {"awaiting shipment", "in transit"}
    models = models_for(ctx.store) if in_flight else None
    return estimate(order.order_id, order.status, history, models)


LOGISTICS_TOOLS = [predict_delivery]
