"""Load a store in the tau2 retail JSON shape (the bundled demo store) into the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tools.logistics.backfill import add_history
from tools.retail.data_model import (
    AuditEntry,
    Base,
    Fulfillment,
    Item,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    Product,
    User,
    to_money,
)
from tools.store import Store

DEMO_STORE_DIR = Path(__file__).parent / "demo_store"
DEMO_STORE_JSON = DEMO_STORE_DIR / "db.json"
POLICY_PATH = DEMO_STORE_DIR / "policy.md"


class StoreNotEmptyError(RuntimeError):
    pass


def load_store(store: Store, source: Path = DEMO_STORE_JSON, *, replace: bool = False) -> dict[str, int]:
    """Load a tau2-shaped store file in one transaction; refuses to overwrite data unless replace=True."""
    data = json.loads(Path(source).read_text())
    store.migrate()
    if not replace and not store.is_empty():
        raise StoreNotEmptyError("the store database already has data; use --replace to reload it")
    with store.transaction() as session:
        if replace:
            _clear(session)
        session.add_all(_products(data["products"]))
        session.add_all(_users(data["users"]))
        session.flush()
        session.add_all(_orders(data["orders"], data["users"]))
        session.flush()
        add_history(session, data["orders"])  # the orders carry no timestamps: a simulated history (logistics)
    return {name: len(data[name]) for name in ("products", "users", "orders")}


def _clear(session: Session) -> None:
    # Children first; the audit log is kept: it is history, not store state.
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != AuditEntry.__tablename__:
            session.execute(delete(table))


def _products(products: dict[str, Any]) -> list[Product]:
    rows = []
    for product in products.values():
        row = Product(product_id=product["product_id"], name=product["name"])
        row.items = [
            Item(
                item_id=variant["item_id"],
                position=position,
                options=variant["options"],
                price=to_money(variant["price"]),
                available=variant["available"],
            )
            for position, variant in enumerate(product["variants"].values())
        ]
        rows.append(row)
    return rows


def _address(address: dict[str, str]) -> dict[str, str]:
    keys = ("address1", "address2", "city", "state", "country", "zip")
    return {key: address[key] for key in keys}


def _users(users: dict[str, Any]) -> list[User]:
    rows = []
    for user in users.values():
        row = User(
            user_id=user["user_id"],
            first_name=user["name"]["first_name"],
            last_name=user["name"]["last_name"],
            email=user["email"],
            **_address(user["address"]),
        )
        row.payment_methods = [
            PaymentMethod(
                id=method["id"],
                position=position,
                source=method["source"],
                brand=method.get("brand"),
                last_four=method.get("last_four"),
                balance=to_money(method["balance"]) if "balance" in method else None,
            )
            for position, method in enumerate(user["payment_methods"].values())
        ]
        rows.append(row)
    return rows


def _orders(orders: dict[str, Any], users: dict[str, Any]) -> list[Order]:
    user_positions = {
        order_id: position for user in users.values() for position, order_id in enumerate(user["orders"])
    }
    rows = []
    for order in orders.values():
        row = Order(
            order_id=order["order_id"],
            user_id=order["user_id"],
            user_position=user_positions.get(order["order_id"], 0),
            status=order["status"],
            **_address(order["address"]),
        )
        row.items = [
            OrderItem(
                position=position,
                item_id=line["item_id"],
                product_id=line["product_id"],
                name=line["name"],
                price=to_money(line["price"]),
                options=line["options"],
            )
            for position, line in enumerate(order["items"])
        ]
        row.fulfillments = [
            Fulfillment(position=position, tracking_ids=f["tracking_id"], item_ids=f["item_ids"])
            for position, f in enumerate(order["fulfillments"])
        ]
        row.payment_history = [
            PaymentTransaction(
                position=position,
                transaction_type=t["transaction_type"],
                amount=to_money(t["amount"]),
                payment_method_id=t["payment_method_id"],
            )
            for position, t in enumerate(order["payment_history"])
        ]
        rows.append(row)
    return rows
