"""The `recommend_products` tool: read-only, customer-scoped where it uses an order history."""

from __future__ import annotations

from typing import Annotated

from langchain_core.tools import InjectedToolArg

from tools.context import StoreContext
from tools.errors import ToolError
from tools.retail.data_model import User
from tools.retail.recommendations import STRATEGIES, Strategy, store_recommender
from tools.runner import ToolKind, store_tool

Ctx = Annotated[StoreContext, InjectedToolArg]


@store_tool(ToolKind.READ)
def recommend_products(
    ctx: Ctx,
    product_ids: list[str] | None = None,
    user_id: str | None = None,
    strategy: Strategy = "auto",
    limit: int = 3,
) -> list[dict]:
    """Recommend available products, each with a short reason: for the customer from their past orders, and/or to go with given products. Never the given products, unavailable items, or what the customer just bought (except 'buy_again' for goods they buy regularly).

    Args:
        product_ids: Products (or item ids) to find companions or alternatives for, such as ['6086499569'].
        user_id: The verified customer's user id, to use their order history, such as 'sara_doe_496'.
        strategy: 'auto' (blend), 'complementary' (goes with the products), 'similar' (alternatives), 'buy_again' (goods the customer buys regularly) or 'popular'.
        limit: How many products to return, 1 to 10.
    """  # noqa: E501
    if strategy not in STRATEGIES:
        raise ToolError(f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.")
    if user_id is not None:
        user_id = user_id.strip()
        if ctx.db.get(User, user_id) is None:
            raise ToolError(f"User {user_id} not found.")
        ctx.require_customer(user_id)
    if strategy == "buy_again" and user_id is None:
        raise ToolError("'buy_again' needs the verified customer's user_id.")
    if strategy in ("complementary", "similar") and not product_ids:
        raise ToolError(f"'{strategy}' needs the products to start from (product_ids).")
    recommender = store_recommender(ctx.store, ctx.db, ctx.retriever)
    return recommender.recommend(
        ctx.db, customer_id=user_id, product_ids=product_ids or [], strategy=strategy, limit=max(1, min(limit, 10))
    )
