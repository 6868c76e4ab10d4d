"""The store's tables: catalogue, customers, orders and the audit log (SQLAlchemy 2.x).

Money is stored as integer cents and exposed as Decimal, so balances and refunds add up exactly on every
backend (SQLite has no native decimal type).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CENT = Decimal("0.01")


def to_money(value: Decimal | float | int | str) -> Decimal:
    """Round a number to cents the way a till does (half up)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class Money(TypeDecorator):
    """Decimal amounts stored as integer cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(to_money(value) * 100)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON}


class Product(Base):
    __tablename__ = "products"

    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(512), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(256), default=None)
    # Where the storefront shows the product, and its picture: the widget's cards link and show them.
    product_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    image_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    items: Mapped[list[Item]] = relationship(
        back_populates="product", order_by="Item.position", cascade="all, delete-orphan"
    )


class Item(Base):
    """A sellable variant of a product, with its options, price and availability."""

    __tablename__ = "items"

    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.product_id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    price: Mapped[Decimal | None] = mapped_column(Money, default=None)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    product: Mapped[Product] = relationship(back_populates="items")


class User(Base):
    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(128))
    last_name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(256), unique=True, index=True)
    address1: Mapped[str] = mapped_column(String(256))
    address2: Mapped[str] = mapped_column(String(256), default="")
    city: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(64))
    zip: Mapped[str] = mapped_column(String(16), index=True)
    payment_methods: Mapped[list[PaymentMethod]] = relationship(
        back_populates="user", order_by="PaymentMethod.position", cascade="all, delete-orphan"
    )
    orders: Mapped[list[Order]] = relationship(back_populates="user", order_by="Order.user_position")

    __table_args__ = (Index("ix_users_name_zip", "last_name", "first_name", "zip"),)


class PaymentMethod(Base):
    """A customer's credit card, PayPal account or gift card (only gift cards carry a balance)."""

    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str | None] = mapped_column(String(32), default=None)
    last_four: Mapped[str | None] = mapped_column(String(4), default=None)
    balance: Mapped[Decimal | None] = mapped_column(Money, default=None)
    user: Mapped[User] = relationship(back_populates="payment_methods")

    @property
    def is_gift_card(self) -> bool:
        return self.source == "gift_card"


class Order(Base):
    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    user_position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), index=True)
    address1: Mapped[str] = mapped_column(String(256))
    address2: Mapped[str] = mapped_column(String(256), default="")
    city: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(64))
    zip: Mapped[str] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    exchange_items: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    exchange_new_items: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    exchange_payment_method_id: Mapped[str | None] = mapped_column(String(64), default=None)
    exchange_price_difference: Mapped[Decimal | None] = mapped_column(Money, default=None)
    return_items: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    return_payment_method_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Optimistic locking: two conversations acting on one order cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    user: Mapped[User] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.position", cascade="all, delete-orphan"
    )
    fulfillments: Mapped[list[Fulfillment]] = relationship(
        order_by="Fulfillment.position", cascade="all, delete-orphan"
    )
    payment_history: Mapped[list[PaymentTransaction]] = relationship(
        order_by="PaymentTransaction.position", cascade="all, delete-orphan"
    )

    __mapper_args__: ClassVar = {"version_id_col": version}


class OrderItem(Base):
    """An item as it was bought: name, price and options are copied so later catalogue changes don't rewrite it."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[str] = mapped_column(String(64), index=True)
    product_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    price: Mapped[Decimal] = mapped_column(Money)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    order: Mapped[Order] = relationship(back_populates="items")


class Fulfillment(Base):
    __tablename__ = "fulfillments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    tracking_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    item_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class PaymentTransaction(Base):
    __tablename__ = "payment_transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.order_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    transaction_type: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    payment_method_id: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """Append-only record of every state change: who did what, when, and the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(160))
    session_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128), index=True)
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


_APPEND_ONLY_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]


@event.listens_for(AuditEntry.__table__, "after_create")
def _make_audit_log_append_only(target: Any, connection: Any, **_: Any) -> None:
    # Enforced in the database, not only in the ORM, so raw SQL cannot rewrite history either.
    if connection.dialect.name == "sqlite":
        for statement in _APPEND_ONLY_TRIGGERS:
            connection.exec_driver_sql(statement)
