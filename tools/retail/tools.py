"""The retail store's tools: names, arguments and semantics of the tau2 retail tool set.

Every rule of the store policy that code can check is enforced here, whatever the model proposes.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from decimal import Decimal
from typing import Annotated, Any, Literal

from langchain_core.tools import InjectedToolArg
from sqlalchemy import func, select

from tools.calculator import evaluate
from tools.context import IdentityPolicy, StoreContext
from tools.errors import ToolError
from tools.retail.data_model import (
    AuditEntry,
    Item,
    Order,
    PaymentMethod,
    PaymentTransaction,
    Product,
    User,
    to_money,
)
from tools.retail.recommend_tool import recommend_products
from tools.retail.views import item_view, order_view, product_view, user_view
from tools.runner import ToolKind, store_tool

Ctx = Annotated[StoreContext, InjectedToolArg]
CancelReason = Literal["no longer needed", "ordered by mistake"]


# --- lookups -------------------------------------------------------------------------------------------------


def normalise_order_id(order_id: str) -> str:
    """Accept '#W0000000', 'W0000000' or ' #w0000000 ': customers paste ids in odd forms."""
    cleaned = order_id.strip().upper().lstrip("#")
    return f"#{cleaned}"


def _order(ctx: StoreContext, order_id: str) -> Order:
    order = ctx.db.get(Order, normalise_order_id(order_id))
    ctx.require_own(order.user_id if order else None, f"Order {order_id} not found.")
    assert order is not None
    return order


def _user(ctx: StoreContext, user_id: str) -> User:
    user = ctx.db.get(User, user_id.strip())
    if user is None:
        raise ToolError(f"User {user_id} not found.")
    ctx.require_customer(user.user_id)
    return user


def _payment_method(ctx: StoreContext, user_id: str, payment_method_id: str) -> PaymentMethod:
    # Locked for the transaction: two actions moving money on one gift card at once (two orders refunded to it)
    # must add up, not overwrite each other's balance (PostgreSQL; SQLite's single writer serialises them).
    method = ctx.db.get(PaymentMethod, payment_method_id.strip(), with_for_update=True)
    if method is None or method.user_id != user_id:
        raise ToolError(f"Payment method {payment_method_id} is not one of the customer's payment methods.")
    return method


def _variant(ctx: StoreContext, product_id: str, item_id: str) -> Item:
    item = ctx.db.get(Item, item_id.strip())
    if item is None or item.product_id != product_id:
        raise ToolError(
            f"Item {item_id} is not a variant of the same product; items can only be swapped for another "
            "option of the same product."
        )
    if not item.available:
        raise ToolError(f"Item {item_id} is not available.")
    return item


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _audit(ctx: StoreContext, action: str, target: Order | User, before: dict, arguments: dict) -> None:
    if isinstance(target, Order):
        target_type, target_id, after = "order", target.order_id, order_view(target)
    else:
        target_type, target_id, after = "user", target.user_id, user_view(target)
    ctx.db.add(
        AuditEntry(
            actor=ctx.actor,
            session_id=ctx.session_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            arguments=arguments,
            before=before,
            after=after,
        )
    )


def _require_status(order: Order, status: str, action: str) -> None:
    if order.status != status:
        raise ToolError(f"Order {order.order_id} is '{order.status}'; only {status} orders can be {action}.")


def _clean_ids(ids: list[str]) -> list[str]:
    """Ids as stored: a pasted ' 1234567890' must not pass for a different item."""
    return [item_id.strip() for item_id in ids]


def _matched_lines(order: Order, item_ids: list[str]) -> list[Any]:
    """The order lines named by item_ids (duplicates allowed, each line used once)."""
    if not item_ids:
        raise ToolError("No items were given.")
    wanted, available = Counter(item_ids), Counter(line.item_id for line in order.items)
    for item_id, count in wanted.items():
        if count > available[item_id]:
            raise ToolError(f"Item {item_id} is not in order {order.order_id} (or not that many times).")
    lines, used = [], set()
    for item_id in item_ids:
        line = next(line for line in order.items if line.item_id == item_id and id(line) not in used)
        used.add(id(line))
        lines.append(line)
    return lines


def _swap_price_difference(ctx: StoreContext, order: Order, item_ids: list[str], new_item_ids: list[str]):
    """Validate a same-product swap; return the order lines, their new variants and the price difference."""
    if len(item_ids) != len(new_item_ids):
        raise ToolError("Each item to change needs exactly one new item: the two lists differ in length.")
    lines = _matched_lines(order, item_ids)
    variants = []
    for line, new_item_id in zip(lines, new_item_ids, strict=True):
        if new_item_id == line.item_id:
            raise ToolError(f"The new item for {line.item_id} must be a different option, not the same item.")
        variants.append(_variant(ctx, line.product_id, new_item_id))
    difference = sum((v.price - line.price for line, v in zip(lines, variants, strict=True)), Decimal(0))
    return lines, variants, to_money(difference)


def _require_gift_card_covers(method: PaymentMethod, amount: Decimal, purpose: str) -> None:
    if method.is_gift_card and amount > 0 and method.balance < amount:
        raise ToolError(
            f"Gift card {method.id} has a balance of {method.balance}, not enough to pay {amount} {purpose}."
        )


def _charge_gift_card(method: PaymentMethod, amount: Decimal, purpose: str) -> None:
    """Move money on a gift card: a positive amount is a charge, a negative one a refund."""
    _require_gift_card_covers(method, amount, purpose)
    method.balance = to_money(method.balance - amount)


def _record_payment(order: Order, kind: str, amount: Decimal, payment_method_id: str) -> None:
    order.payment_history.append(
        PaymentTransaction(
            position=len(order.payment_history),
            transaction_type=kind,
            amount=to_money(amount),
            payment_method_id=payment_method_id,
        )
    )


def _checked_address(**fields: str) -> dict[str, str]:
    cleaned = {key: value.strip() for key, value in fields.items()}
    missing = [key for key, value in cleaned.items() if key != "address2" and not value]
    if missing:
        raise ToolError(f"The address is incomplete: {', '.join(missing)} missing.")
    return cleaned


# --- identity --------------------------------------------------------------------------------------------------


def _details_identify(ctx: StoreContext) -> None:
    """An email or a name + zip identifies a customer only under tau2's benchmark policy; a store needs proof (a
    signed token, or a one-time code: tools/sign_in.py). Refused before any look-up, so it tells nothing."""
    if ctx.identity is not IdentityPolicy.BENCHMARK:
        raise ToolError("An email address or a name and zip code alone do not prove who you are: sign in on the "
                        "store, or I can send a one-time code to your account's email address.")


@store_tool(ToolKind.READ)
def find_user_id_by_email(email: str, ctx: Ctx) -> str:
    """Find user id by email. If the user is not found, the function will return an error message.

    Args:
        email: The email of the user, such as 'something@example.com'.
    """
    _details_identify(ctx)
    wanted = _fold(email)
    user_id = ctx.db.scalars(select(User.user_id).where(func.lower(User.email) == wanted)).first()
    if user_id is None:
        raise ToolError("User not found.")
    ctx.authenticate(user_id)
    return user_id


@store_tool(ToolKind.READ)
def find_user_id_by_name_zip(first_name: str, last_name: str, zip: str, ctx: Ctx) -> str:
    """Find user id by first name, last name, and zip code. If the user is not found, the function will return an error message. By default, find user id by email, and only call this function if the user is not found by email or cannot remember email.

    Args:
        first_name: The first name of the customer, such as 'John'.
        last_name: The last name of the customer, such as 'Doe'.
        zip: The zip code of the customer, such as '12345'.
    """  # noqa: E501
    _details_identify(ctx)
    candidates = ctx.db.scalars(select(User).where(User.zip == zip.strip()))
    for user in candidates:
        if _fold(user.first_name) == _fold(first_name) and _fold(user.last_name) == _fold(last_name):
            ctx.authenticate(user.user_id)
            return user.user_id
    raise ToolError("User not found.")


# --- reading ---------------------------------------------------------------------------------------------------


@store_tool(ToolKind.READ)
def get_user_details(user_id: str, ctx: Ctx) -> dict:
    """Get the details of a user, including their orders.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
    """
    return user_view(_user(ctx, user_id))


@store_tool(ToolKind.READ)
def get_order_details(order_id: str, ctx: Ctx) -> dict:
    """Get the status and details of an order.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
    """
    return order_view(_order(ctx, order_id))


@store_tool(ToolKind.READ)
def get_product_details(product_id: str, ctx: Ctx) -> dict:
    """Get the inventory details of a product.

    Args:
        product_id: The product id, such as '6086499569'. Be careful the product id is different from the item id.
    """
    product = ctx.db.get(Product, product_id.strip())
    if product is None:
        raise ToolError(f"Product {product_id} not found.")
    return product_view(product)


@store_tool(ToolKind.READ)
def get_item_details(item_id: str, ctx: Ctx) -> dict:
    """Get the inventory details of an item.

    Args:
        item_id: The item id, such as '6086499569'. Be careful the item id is different from the product id.
    """
    item = ctx.db.get(Item, item_id.strip())
    if item is None:
        raise ToolError(f"Item {item_id} not found.")
    return {"product_id": item.product_id, "name": item.product.name, **item_view(item)}  # the flow finds its product


@store_tool(ToolKind.READ)
def list_all_product_types(ctx: Ctx) -> str:
    """List the name and product id of all product types. Each product type has a variety of different items with unique item ids and options. There are only 50 product types in the store."""  # noqa: E501
    rows = ctx.db.execute(select(Product.name, Product.product_id)).all()
    return json.dumps({name: product_id for name, product_id in rows}, sort_keys=True)


@store_tool(ToolKind.READ)
def search_products(
    query: str,
    ctx: Ctx,
    max_price: float | None = None,
    min_price: float | None = None,
    in_stock_only: bool = False,
    limit: int = 5,
) -> list[dict]:
    """Search the catalogue for items matching a description, with optional price and stock filters. Price ranges and options written in the query (such as 'under $50' or 'black') are understood too.

    Args:
        query: What the customer is looking for, such as 'clicky rgb mechanical keyboard'.
        max_price: Only items at or below this price.
        min_price: Only items at or above this price.
        in_stock_only: Only items that are available now.
        limit: How many items to return, 1 to 20.
    """  # noqa: E501
    from retrieval import SearchFilters

    if ctx.retriever is None:
        raise ToolError("Product search is not available right now.")
    if not query.strip():
        raise ToolError("Please describe what you are looking for.")
    filters = SearchFilters(min_price=min_price, max_price=max_price, in_stock=in_stock_only or None)
    response = ctx.retriever.search(query, k=max(1, min(limit, 20)), filters=filters)
    return [
        {
            "product_id": hit.doc.product_id,
            "item_id": hit.doc.doc_id,
            "name": hit.doc.title,
            "options": hit.doc.options,
            "price": hit.doc.price,
            "available": hit.doc.available,
        }
        for hit in response.hits
    ]


# --- actions ---------------------------------------------------------------------------------------------------


@store_tool(ToolKind.WRITE)
def cancel_pending_order(order_id: str, reason: CancelReason, ctx: Ctx) -> dict:
    """Cancel a pending order. If the order is already processed or delivered, it cannot be cancelled. The agent needs to explain the cancellation detail and ask for explicit user confirmation (yes/no) to proceed. If the user confirms, the order status will be changed to 'cancelled' and the payment will be refunded. The refund will be added to the user's gift card balance immediately if the payment was made using a gift card, otherwise the refund would take 5-7 business days to process. The function returns the order details after the cancellation.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        reason: The reason for cancellation, which should be either 'no longer needed' or 'ordered by mistake'.
    """  # noqa: E501
    order = _order(ctx, order_id)
    _require_status(order, "pending", "cancelled")
    before = order_view(order)
    for payment in list(order.payment_history):
        method = _payment_method(ctx, order.user_id, payment.payment_method_id)
        if method.is_gift_card:
            _charge_gift_card(method, -payment.amount, "refund")
        _record_payment(order, "refund", payment.amount, payment.payment_method_id)
    order.status = "cancelled"
    order.cancel_reason = reason
    _audit(ctx, "cancel_pending_order", order, before, {"order_id": order.order_id, "reason": reason})
    return order_view(order)


@store_tool(ToolKind.WRITE)
def modify_pending_order_address(
    order_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str, ctx: Ctx
) -> dict:
    """Modify the shipping address of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """  # noqa: E501
    order = _order(ctx, order_id)
    # Strictly 'pending': after an item modification the policy allows no further change.
    _require_status(order, "pending", "modified")
    address = _checked_address(
        address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
    )
    before = order_view(order)
    for key, value in address.items():
        setattr(order, key, value)
    _audit(ctx, "modify_pending_order_address", order, before, {"order_id": order.order_id, **address})
    return order_view(order)


@store_tool(ToolKind.WRITE)
def modify_pending_order_items(
    order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str, ctx: Ctx
) -> dict:
    """Modify items in a pending order to new items of the same product type. For a pending order, this function can only be called once. The agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        item_ids: The item ids to be modified, each such as '1008292230'. There could be duplicate items in the list.
        new_item_ids: The item ids to be modified for, each such as '1008292230'. There could be duplicate items in the list. Each new item id should match the item id in the same position and be of the same product.
        payment_method_id: The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.
    """  # noqa: E501
    item_ids, new_item_ids = _clean_ids(item_ids), _clean_ids(new_item_ids)
    order = _order(ctx, order_id)
    # 'pending (item modified)' fails this check: items can be modified only once.
    _require_status(order, "pending", "modified")
    lines, variants, difference = _swap_price_difference(ctx, order, item_ids, new_item_ids)
    method = _payment_method(ctx, order.user_id, payment_method_id)
    before = order_view(order)
    if method.is_gift_card:
        _charge_gift_card(method, difference, "for the price difference")
    _record_payment(order, "payment" if difference > 0 else "refund", abs(difference), method.id)
    for line, variant in zip(lines, variants, strict=True):
        line.item_id, line.price, line.options = variant.item_id, variant.price, dict(variant.options)
    order.status = "pending (item modified)"
    arguments = {"order_id": order.order_id, "item_ids": item_ids, "new_item_ids": new_item_ids,
                 "payment_method_id": method.id}
    _audit(ctx, "modify_pending_order_items", order, before, arguments)
    return order_view(order)


@store_tool(ToolKind.WRITE)
def modify_pending_order_payment(order_id: str, payment_method_id: str, ctx: Ctx) -> dict:
    """Modify the payment method of a pending order. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        payment_method_id: The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.
    """  # noqa: E501
    order = _order(ctx, order_id)
    # Strictly 'pending': after an item modification the policy allows no further change.
    _require_status(order, "pending", "modified")
    method = _payment_method(ctx, order.user_id, payment_method_id)
    payments = order.payment_history
    if len(payments) != 1 or payments[0].transaction_type != "payment":
        raise ToolError("The payment of this order can no longer be changed: it has more than one transaction.")
    original, amount = payments[0].payment_method_id, payments[0].amount
    if original == method.id:
        raise ToolError(f"The order is already paid with {method.id}; choose a different payment method.")
    before = order_view(order)
    if method.is_gift_card:
        _charge_gift_card(method, amount, "for the order")
    original_method = _payment_method(ctx, order.user_id, original)
    if original_method.is_gift_card:
        _charge_gift_card(original_method, -amount, "refund")
    _record_payment(order, "payment", amount, method.id)
    _record_payment(order, "refund", amount, original)
    _audit(ctx, "modify_pending_order_payment", order, before,
           {"order_id": order.order_id, "payment_method_id": method.id})
    return order_view(order)


@store_tool(ToolKind.WRITE)
def modify_user_address(
    user_id: str, address1: str, address2: str, city: str, state: str, country: str, zip: str, ctx: Ctx
) -> dict:
    """Modify the default address of a user. The agent needs to explain the modification detail and ask for explicit user confirmation (yes/no) to proceed.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """  # noqa: E501
    user = _user(ctx, user_id)
    address = _checked_address(
        address1=address1, address2=address2, city=city, state=state, country=country, zip=zip
    )
    before = user_view(user)
    for key, value in address.items():
        setattr(user, key, value)
    _audit(ctx, "modify_user_address", user, before, {"user_id": user.user_id, **address})
    return user_view(user)


@store_tool(ToolKind.WRITE)
def return_delivered_order_items(order_id: str, item_ids: list[str], payment_method_id: str, ctx: Ctx) -> dict:
    """Return some items of a delivered order. The order status will be changed to 'return requested'. The agent needs to explain the return detail and ask for explicit user confirmation (yes/no) to proceed. The user will receive follow-up email for how and where to return the item.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        item_ids: The item ids to be returned, each such as '1008292230'. There could be duplicate items in the list.
        payment_method_id: The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.
    """  # noqa: E501
    item_ids = _clean_ids(item_ids)
    order = _order(ctx, order_id)
    _require_status(order, "delivered", "returned")
    method = _payment_method(ctx, order.user_id, payment_method_id)
    original = order.payment_history[0].payment_method_id if order.payment_history else None
    if not method.is_gift_card and method.id != original:
        raise ToolError("A refund can only go to the original payment method or to one of the customer's gift cards.")
    _matched_lines(order, item_ids)
    before = order_view(order)
    order.status = "return requested"
    order.return_items = sorted(item_ids)
    order.return_payment_method_id = method.id
    _audit(ctx, "return_delivered_order_items", order, before,
           {"order_id": order.order_id, "item_ids": item_ids, "payment_method_id": method.id})
    return order_view(order)


@store_tool(ToolKind.WRITE)
def exchange_delivered_order_items(
    order_id: str, item_ids: list[str], new_item_ids: list[str], payment_method_id: str, ctx: Ctx
) -> dict:
    """Exchange items in a delivered order to new items of the same product type. For a delivered order, return or exchange can be only done once by the agent. The agent needs to explain the exchange detail and ask for explicit user confirmation (yes/no) to proceed.

    Args:
        order_id: The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id.
        item_ids: The item ids to be exchanged, each such as '1008292230'. There could be duplicate items in the list.
        new_item_ids: The item ids to be exchanged for, each such as '1008292230'. There could be duplicate items in the list. Each new item id should match the item id in the same position and be of the same product.
        payment_method_id: The payment method id to pay or receive refund for the item price difference, such as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.
    """  # noqa: E501
    item_ids, new_item_ids = _clean_ids(item_ids), _clean_ids(new_item_ids)
    order = _order(ctx, order_id)
    _require_status(order, "delivered", "exchanged")
    _, _, difference = _swap_price_difference(ctx, order, item_ids, new_item_ids)
    method = _payment_method(ctx, order.user_id, payment_method_id)
    # The difference is charged when the exchange is processed; the card must cover it now.
    _require_gift_card_covers(method, difference, "for the price difference")
    before = order_view(order)
    order.status = "exchange requested"
    order.exchange_items = sorted(item_ids)
    order.exchange_new_items = sorted(new_item_ids)
    order.exchange_payment_method_id = method.id
    order.exchange_price_difference = difference
    _audit(ctx, "exchange_delivered_order_items", order, before,
           {"order_id": order.order_id, "item_ids": item_ids, "new_item_ids": new_item_ids,
            "payment_method_id": method.id})
    return order_view(order)


# --- generic ---------------------------------------------------------------------------------------------------


@store_tool(ToolKind.GENERIC)
def calculate(expression: str, ctx: Ctx) -> str:
    """Calculate the result of a mathematical expression.

    Args:
        expression: The mathematical expression to calculate, such as '2 + 2'. The expression can contain numbers, operators (+, -, *, /), parentheses, and spaces.
    """  # noqa: E501
    return evaluate(expression)


@store_tool(ToolKind.GENERIC)
def transfer_to_human_agents(summary: str, ctx: Ctx) -> str:
    """Transfer the user to a human agent, with a summary of the user's issue. Only transfer if the user explicitly asks for a human agent, or given the policy and the available tools, you cannot solve the user's issue.

    Args:
        summary: A summary of the user's issue.
    """  # noqa: E501
    if not summary.strip():
        raise ToolError("A transfer needs a short summary of the customer's issue.")
    return "Transfer successful"


RETAIL_TOOLS = [
    find_user_id_by_email,
    find_user_id_by_name_zip,
    get_user_details,
    get_order_details,
    get_product_details,
    get_item_details,
    list_all_product_types,
    search_products,
    recommend_products,
    cancel_pending_order,
    modify_pending_order_address,
    modify_pending_order_items,
    modify_pending_order_payment,
    modify_user_address,
    return_delivered_order_items,
    exchange_delivered_order_items,
    calculate,
    transfer_to_human_agents,
]
