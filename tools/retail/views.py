"""Rows to plain dicts in the tau2 retail shapes: what tools return and what a whole-store export compares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tools.retail.data_model import Item, Order, PaymentMethod, Product, User


def money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def address_view(row: User | Order) -> dict[str, str]:
    return {
        "address1": row.address1,
        "address2": row.address2,
        "city": row.city,
        "country": row.country,
        "state": row.state,
        "zip": row.zip,
    }


def item_view(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "options": dict(item.options),
        "available": item.available,
        "price": money(item.price),
    }


def product_view(product: Product) -> dict[str, Any]:
    return {
        "name": product.name,
        "product_id": product.product_id,
        "variants": {item.item_id: item_view(item) for item in product.items},
    }


def payment_method_view(method: PaymentMethod) -> dict[str, Any]:
    view: dict[str, Any] = {"source": method.source, "id": method.id}
    if method.brand is not None:
        view["brand"] = method.brand
    if method.last_four is not None:
        view["last_four"] = method.last_four
    if method.balance is not None:
        view["balance"] = money(method.balance)
    return view


def user_view(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "name": {"first_name": user.first_name, "last_name": user.last_name},
        "address": address_view(user),
        "email": user.email,
        "payment_methods": {m.id: payment_method_view(m) for m in user.payment_methods},
        "orders": [order.order_id for order in user.orders],
    }


_OPTIONAL_ORDER_FIELDS = (
    "cancel_reason",
    "exchange_items",
    "exchange_new_items",
    "exchange_payment_method_id",
    "return_items",
    "return_payment_method_id",
)


def order_view(order: Order) -> dict[str, Any]:
    view: dict[str, Any] = {
        "order_id": order.order_id,
        "user_id": order.user_id,
        "address": address_view(order),
        "items": [
            {
                "name": line.name,
                "product_id": line.product_id,
                "item_id": line.item_id,
                "price": money(line.price),
                "options": dict(line.options),
            }
            for line in order.items
        ],
        "status": order.status,
        "fulfillments": [
            {"tracking_id": list(f.tracking_ids), "item_ids": list(f.item_ids)} for f in order.fulfillments
        ],
        "payment_history": [
            {
                "transaction_type": t.transaction_type,
                "amount": money(t.amount),
                "payment_method_id": t.payment_method_id,
            }
            for t in order.payment_history
        ],
    }
    for name in _OPTIONAL_ORDER_FIELDS:
        value = getattr(order, name)
        if value is not None:
            view[name] = value
    if order.exchange_price_difference is not None:
        view["exchange_price_difference"] = money(order.exchange_price_difference)
    return view


def export_store(session: Session) -> dict[str, dict[str, Any]]:
    """The whole store as one dict in db.json's shape: used to compare two stores field by field."""
    products = session.scalars(select(Product).options(selectinload(Product.items)).order_by(Product.product_id))
    users = session.scalars(
        select(User)
        .options(selectinload(User.payment_methods), selectinload(User.orders))
        .order_by(User.user_id)
    )
    orders = session.scalars(
        select(Order)
        .options(
            selectinload(Order.items), selectinload(Order.fulfillments), selectinload(Order.payment_history)
        )
        .order_by(Order.order_id)
    )
    return {
        "products": {p.product_id: product_view(p) for p in products},
        "users": {u.user_id: user_view(u) for u in users},
        "orders": {o.order_id: order_view(o) for o in orders},
    }
