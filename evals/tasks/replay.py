"""Replay a task's ground-truth actions through the real tool runner: the database tau2's DB reward expects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from agent.toolcall import AGENT_TOOLS
from tools.context import IdentityPolicy, Role, StoreContext
from tools.retail.data_model import Order
from tools.runner import ToolKind, ToolResult, ToolRunner, tool_kind
from tools.store import Store

FIND_USER = {"find_user_id_by_email", "find_user_id_by_name_zip"}
LOOKUPS = FIND_USER | {"get_user_details", "get_order_details", "get_product_details", "get_item_details"}
WRITES = {tool.name for tool in AGENT_TOOLS if tool_kind(tool) is ToolKind.WRITE}  # from the tools' own kinds


def owner(store: Store, actions: list[dict[str, Any]]) -> str | None:
    """The one customer whose orders or account the actions reference (None if they reference none)."""
    users, order_ids = set(), set()
    for action in actions:
        args = action["arguments"]
        if "user_id" in args:
            users.add(args["user_id"])
        if "order_id" in args:
            order_ids.add(args["order_id"])
    if order_ids:
        with store.session() as session:
            users |= set(session.scalars(select(Order.user_id).where(Order.order_id.in_(order_ids))))
    if len(users) > 1:
        raise ValueError(f"the actions reference several customers: {sorted(users)}")
    return users.pop() if users else None


def replay(
    store: Store, actions: list[dict[str, Any]], runner: ToolRunner | None = None
) -> tuple[StoreContext, list[tuple[dict[str, Any], ToolResult]]]:
    """Run the actions as their customer would be logged in (the first find_user call logs them in, if any).

    Lookups of absent entities (the ground truth has a few wrong guesses) fail as they do in tau2, and so does a
    write tau2 refuses too (a gift card that cannot pay): the resulting store is tau2's expected state.
    """
    runner = runner or ToolRunner(AGENT_TOOLS)  # the agent's own list: any tool it can call
    customer = None if actions and actions[0]["name"] in FIND_USER else owner(store, actions)
    ctx = StoreContext(store, role=Role.CUSTOMER, customer_id=customer, require_confirmation=False,
                       identity=IdentityPolicy.BENCHMARK)  # tau2's ground truth finds its customer by email
    return ctx, [(action, runner.call(ctx, action["name"], action["arguments"])) for action in actions]
