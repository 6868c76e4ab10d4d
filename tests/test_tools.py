"""The retail store tools on the demo store: happy paths, and every rule each tool enforces.

Every refused call is checked three ways: ok is False, the error says why, and the whole exported store
(and the audit log) is exactly as it was before the call.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from tools.context import Role, StoreContext
from tools.retail.data_model import AuditEntry
from tools.runner import ToolKind, ToolResult, ToolRunner
from tools.store import Store

# --- fixture ids from tools/retail/demo_store/db.json (checked by test_demo_store_fixture_ids) ----

# The customer most tests act as: three payment methods and orders in every actionable status.
OLIVIA = "olivia_ito_3591"
OLIVIA_EMAIL = "olivia.ito5204@example.com"
OLIVIA_NAME_ZIP = ("Olivia", "Ito", "80218")
GIFT = "gift_card_7794233"  # balance 56.00
PAYPAL = "paypal_8049766"
CREDIT = "credit_card_9753331"

DELIVERED = "#W5866402"  # paid 3203.78 by PAYPAL: an espresso machine and sneakers
ESPRESSO = "6242772310"  # 2996.03, product 4354588079
ESPRESSO_UP = "3951031513"  # 3289.46, available: +293.43, more than GIFT's balance
ESPRESSO_DOWN = "6200867091"  # 2955.17, available: -40.86
SNEAKERS = "9727387530"  # 207.75, product 7471004230
SNEAKERS_DOWN = "2509076505"  # 189.50, available: -18.25
SNEAKERS_OTHER = "6477915553"  # 186.45, available: -21.30
SNEAKERS_UNAVAILABLE = "3631875806"
PROCESSED = "#W5353646"  # paid by PAYPAL
PENDING_CARD = "#W5442520"  # paid 663.85 by CREDIT: a gaming mouse, a patio umbrella, hiking boots
MOUSE = "3330317167"  # 137.32, product 5713490933
MOUSE_UP = "8214883393"  # 150.58, available: +13.26, within GIFT's balance
MOUSE_UNAVAILABLE = "7420906769"
UMBRELLA = "3111466194"  # 285.66, product 9743693396
UMBRELLA_UP = "7068351115"  # 300.24, available: +14.58
PENDING_WATCH = "#W7941031"  # paid 2198.09 by CREDIT: a wristwatch and a backpack
WATCH = "1355937109"  # 1985.30, product 6066914160
WATCH_UP = "4510078629"  # 2127.62, available: +142.32, more than GIFT's balance
WATCH_DOWN = "9949163720"  # 1908.15, available: -77.15
BACKPACK = "5917587651"  # in PENDING_WATCH; an available item of another product than the mouse
PENDING_GIFT = "#W3657213"  # paid 3570.34 by GIFT

# Another customer, whose data Olivia must never reach.
OMAR = "omar_kim_3528"
OMAR_EMAIL = "omar.kim8981@example.com"
OMAR_GIFT = "gift_card_3749819"  # balance 91.00
OMAR_CARD = "credit_card_3577130"
OMAR_PENDING = "#W1080318"  # paid 53.43 by OMAR_CARD: less than OMAR_GIFT's balance
OMAR_PENDING_BY_GIFT = "#W8557584"
NOAH = "noah_brown_6181"
NOAH_DELIVERED = "#W7678072"
CANCELLED = "#W3220387"  # amelia_silva_5103's, already cancelled
AMELIA = "amelia_silva_5103"

NEW_ADDRESS = {
    "address1": "1 Test Road",
    "address2": "",
    "city": "Springfield",
    "state": "IL",
    "country": "USA",
    "zip": "62701",
}


def test_demo_store_fixture_ids(demo_db: dict[str, Any]) -> None:
    """The ids hard-coded above still mean what the tests assume."""
    users, orders, products = demo_db["users"], demo_db["orders"], demo_db["products"]
    olivia = users[OLIVIA]
    assert olivia["email"] == OLIVIA_EMAIL
    assert (
        olivia["name"]["first_name"],
        olivia["name"]["last_name"],
        olivia["address"]["zip"],
    ) == OLIVIA_NAME_ZIP
    assert olivia["payment_methods"][GIFT]["balance"] == 56.0
    assert {PAYPAL, CREDIT} <= set(olivia["payment_methods"])
    expected = {
        DELIVERED: ("delivered", PAYPAL),
        PROCESSED: ("processed", PAYPAL),
        PENDING_CARD: ("pending", CREDIT),
        PENDING_WATCH: ("pending", CREDIT),
        PENDING_GIFT: ("pending", GIFT),
    }
    for order_id, (status, method) in expected.items():
        order = orders[order_id]
        assert order["user_id"] == OLIVIA
        assert (order["status"], order["payment_history"][0]["payment_method_id"]) == (status, method)
    assert [line["item_id"] for line in orders[DELIVERED]["items"]] == [ESPRESSO, SNEAKERS]
    assert MOUSE in [line["item_id"] for line in orders[PENDING_CARD]["items"]]
    assert UMBRELLA in [line["item_id"] for line in orders[PENDING_CARD]["items"]]
    assert [line["item_id"] for line in orders[PENDING_WATCH]["items"]] == [WATCH, BACKPACK]
    variants = {
        "4354588079": {ESPRESSO_UP: True, ESPRESSO_DOWN: True},
        "7471004230": {SNEAKERS_DOWN: True, SNEAKERS_OTHER: True, SNEAKERS_UNAVAILABLE: False},
        "5713490933": {MOUSE_UP: True, MOUSE_UNAVAILABLE: False},
        "9743693396": {UMBRELLA_UP: True},
        "6066914160": {WATCH_UP: True, WATCH_DOWN: True},
    }
    for product_id, wanted in variants.items():
        for item_id, available in wanted.items():
            assert products[product_id]["variants"][item_id]["available"] is available
    assert users[OMAR]["payment_methods"][OMAR_GIFT]["balance"] == 91.0
    assert orders[OMAR_PENDING]["payment_history"] == [
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": OMAR_CARD}
    ]
    assert orders[OMAR_PENDING_BY_GIFT]["status"] == "pending"
    assert (orders[NOAH_DELIVERED]["user_id"], orders[NOAH_DELIVERED]["status"]) == (NOAH, "delivered")
    assert (orders[CANCELLED]["user_id"], orders[CANCELLED]["status"]) == (AMELIA, "cancelled")


# --- helpers --------------------------------------------------------------------------------------


def add(*amounts: float) -> float:
    """Exact money arithmetic on db.json floats."""
    return float(sum((Decimal(str(a)) for a in amounts), Decimal(0)))


def audit_log(store: Store) -> list[AuditEntry]:
    with store.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def audit_keys(store: Store) -> list[tuple[Any, ...]]:
    return [
        (e.id, e.actor, e.action, e.target_type, e.target_id, e.before, e.after) for e in audit_log(store)
    ]


def line(order: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(line for line in order["items"] if line["item_id"] == item_id)


def variant(db: dict[str, Any], product_id: str, item_id: str) -> dict[str, Any]:
    return db["products"][product_id]["variants"][item_id]


@pytest.fixture
def ctx(make_ctx: Callable[..., StoreContext]) -> StoreContext:
    """Olivia, verified; confirmations off so that each test exercises the tool's own rules."""
    return make_ctx(OLIVIA, require_confirmation=False, session_id="conv-1")


@pytest.fixture
def call(runner: ToolRunner, ctx: StoreContext) -> Callable[..., ToolResult]:
    """Run a tool that must succeed (as Olivia unless another context is given)."""

    def run(name: str, args: dict[str, Any], context: StoreContext | None = None) -> ToolResult:
        result = runner.call(context or ctx, name, args)
        assert result.ok, result.error
        return result

    return run


@pytest.fixture
def refuse(store: Store, runner: ToolRunner, ctx: StoreContext, db_rows) -> Callable[..., ToolResult]:
    """Run a call that must be refused with an error containing every fragment, changing nothing.

    "Nothing" is checked on every row of every table, audit log included: stronger than comparing exports
    (which are computed from those rows) and ten times faster. test_refusals_leave_the_export_unchanged
    compares the full export as well.
    """

    def run(
        name: str, args: dict[str, Any], *fragments: str, context: StoreContext | None = None
    ) -> ToolResult:
        before = db_rows(store)
        result = runner.call(context or ctx, name, args)
        assert result.ok is False, f"{name}{args} was not refused: {result.output}"
        assert result.error
        for fragment in fragments:
            assert fragment.lower() in result.error.lower(), f"{fragment!r} not in {result.error!r}"
        after = db_rows(store)
        assert after["audit_log"] == before["audit_log"], "a refused call wrote to the audit log"
        assert after == before, "a refused call changed the store"
        return result

    return run


def cancel_args(order_id: str, reason: str = "no longer needed") -> dict[str, Any]:
    return {"order_id": order_id, "reason": reason}


def address_args(order_id: str, **changes: str) -> dict[str, Any]:
    return {"order_id": order_id, **NEW_ADDRESS, **changes}


def user_address_args(user_id: str, **changes: str) -> dict[str, Any]:
    return {"user_id": user_id, **NEW_ADDRESS, **changes}


def items_args(order_id: str, item_ids: list[str], new_item_ids: list[str], method: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "item_ids": item_ids,
        "new_item_ids": new_item_ids,
        "payment_method_id": method,
    }


def payment_args(order_id: str, method: str) -> dict[str, Any]:
    return {"order_id": order_id, "payment_method_id": method}


def return_args(order_id: str, item_ids: list[str], method: str) -> dict[str, Any]:
    return {"order_id": order_id, "item_ids": item_ids, "payment_method_id": method}


# --- identity -------------------------------------------------------------------------------------


def test_find_user_by_email_authenticates(runner: ToolRunner, make_ctx, store, snapshot, demo_db) -> None:
    anonymous = make_ctx()
    result = runner.call(anonymous, "find_user_id_by_email", {"email": OLIVIA_EMAIL})
    assert (result.ok, result.output) == (True, OLIVIA)
    assert anonymous.customer_id == OLIVIA
    assert snapshot(store) == demo_db


def test_find_user_by_email_ignores_case_and_spaces(runner: ToolRunner, make_ctx) -> None:
    anonymous = make_ctx()
    result = runner.call(anonymous, "find_user_id_by_email", {"email": f"  {OLIVIA_EMAIL.upper()} "})
    assert (result.ok, result.output, anonymous.customer_id) == (True, OLIVIA, OLIVIA)


def test_find_user_by_name_zip_authenticates(runner: ToolRunner, make_ctx) -> None:
    anonymous = make_ctx()
    first, last, zip_code = OLIVIA_NAME_ZIP
    args = {"first_name": first.lower(), "last_name": last.upper(), "zip": zip_code}
    result = runner.call(anonymous, "find_user_id_by_name_zip", args)
    assert (result.ok, result.output, anonymous.customer_id) == (True, OLIVIA, OLIVIA)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("find_user_id_by_email", {"email": "nobody@example.com"}),
        ("find_user_id_by_email", {"email": "olivia.ito5204@example"}),
        ("find_user_id_by_name_zip", {"first_name": "Olivia", "last_name": "Ito", "zip": "80219"}),
        ("find_user_id_by_name_zip", {"first_name": "Olivia", "last_name": "Itoh", "zip": "80218"}),
    ],
)
def test_find_user_unknown_is_not_found(refuse, make_ctx, name: str, args: dict[str, Any]) -> None:
    anonymous = make_ctx()
    refuse(name, args, "not found", context=anonymous)
    assert anonymous.customer_id is None


def test_second_customer_in_one_conversation_refused(runner: ToolRunner, refuse, make_ctx) -> None:
    conversation = make_ctx()
    assert runner.call(conversation, "find_user_id_by_email", {"email": OLIVIA_EMAIL}).ok
    refuse(
        "find_user_id_by_email", {"email": OMAR_EMAIL}, "one customer per conversation", context=conversation
    )
    omar_by_name = {"first_name": "Omar", "last_name": "Kim", "zip": "32214"}
    refuse("find_user_id_by_name_zip", omar_by_name, "one customer per conversation", context=conversation)
    assert conversation.customer_id == OLIVIA
    # Still bound to Olivia: Omar's data stays out of reach.
    refuse("get_user_details", {"user_id": OMAR}, "verified customer", context=conversation)


def test_reidentifying_the_same_customer_works(runner: ToolRunner, make_ctx) -> None:
    conversation = make_ctx()
    assert runner.call(conversation, "find_user_id_by_email", {"email": OLIVIA_EMAIL}).ok
    first, last, zip_code = OLIVIA_NAME_ZIP
    again = runner.call(
        conversation, "find_user_id_by_name_zip", {"first_name": first, "last_name": last, "zip": zip_code}
    )
    assert (again.ok, again.output, conversation.customer_id) == (True, OLIVIA, OLIVIA)
    assert runner.call(conversation, "find_user_id_by_email", {"email": OLIVIA_EMAIL}).ok


# --- reading --------------------------------------------------------------------------------------


def test_get_user_details(call, demo_db) -> None:
    assert call("get_user_details", {"user_id": OLIVIA}).output == demo_db["users"][OLIVIA]


@pytest.mark.parametrize("order_id", [DELIVERED, DELIVERED[1:], f"  {DELIVERED.lower()} "])
def test_get_order_details(call, demo_db, order_id: str) -> None:
    assert call("get_order_details", {"order_id": order_id}).output == demo_db["orders"][DELIVERED]


def test_get_product_and_item_details_need_no_login(runner: ToolRunner, make_ctx, demo_db) -> None:
    anonymous = make_ctx()
    product = runner.call(anonymous, "get_product_details", {"product_id": "7471004230"})
    assert product.ok and product.output == demo_db["products"]["7471004230"]
    item = runner.call(anonymous, "get_item_details", {"item_id": SNEAKERS_DOWN})
    name = demo_db["products"]["7471004230"]["name"]
    expected = {"product_id": "7471004230", "name": name, **variant(demo_db, "7471004230", SNEAKERS_DOWN)}
    assert item.ok and item.output == expected  # an item names its product, so its product can be looked up


def test_list_all_product_types(call, demo_db) -> None:
    import json

    listed = json.loads(call("list_all_product_types", {}).output)
    assert listed == {p["name"]: p["product_id"] for p in demo_db["products"].values()}
    assert len(listed) == 50


@pytest.mark.parametrize(
    ("name", "args", "fragment"),
    [
        ("get_user_details", {"user_id": "nobody_0000"}, "User nobody_0000 not found"),
        ("get_order_details", {"order_id": "#W0000000"}, "Order #W0000000 not found"),
        ("get_product_details", {"product_id": "6086499569"}, "Product 6086499569 not found"),
        ("get_product_details", {"product_id": SNEAKERS}, "not found"),  # an item id is not a product id
        ("get_item_details", {"item_id": "0000000000"}, "Item 0000000000 not found"),
        ("get_item_details", {"item_id": "7471004230"}, "not found"),  # a product id is not an item id
    ],
)
def test_lookup_of_missing_entity_not_found(refuse, name: str, args: dict[str, Any], fragment: str) -> None:
    refuse(name, args, fragment)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("get_user_details", {"user_id": OLIVIA}),
        ("get_order_details", {"order_id": DELIVERED}),
        ("cancel_pending_order", cancel_args(PENDING_GIFT)),
        ("modify_pending_order_address", address_args(PENDING_CARD)),
        ("modify_user_address", user_address_args(OLIVIA)),
        ("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS], PAYPAL)),
    ],
)
def test_unauthenticated_access_refused(refuse, make_ctx, name: str, args: dict[str, Any]) -> None:
    anonymous = make_ctx(require_confirmation=False)
    refuse(name, args, "verify your identity", context=anonymous)


def test_unauthenticated_staff_refused_too(refuse, make_ctx) -> None:
    staff = make_ctx(role=Role.STAFF, staff_id="s1")
    refuse("get_order_details", {"order_id": DELIVERED}, "verify your identity", context=staff)


def test_system_role_reads_any_order(runner: ToolRunner, make_ctx, demo_db) -> None:
    system = make_ctx(role=Role.SYSTEM)
    result = runner.call(system, "get_order_details", {"order_id": NOAH_DELIVERED})
    assert result.ok and result.output == demo_db["orders"][NOAH_DELIVERED]


CROSS_CUSTOMER = [
    ("get_user_details", {"user_id": OMAR}),
    ("get_order_details", {"order_id": OMAR_PENDING}),
    ("get_order_details", {"order_id": NOAH_DELIVERED}),
    ("cancel_pending_order", cancel_args(OMAR_PENDING)),
    ("modify_pending_order_address", address_args(OMAR_PENDING)),
    ("modify_pending_order_payment", payment_args(OMAR_PENDING, OMAR_GIFT)),
    ("modify_pending_order_items", items_args(OMAR_PENDING_BY_GIFT, ["0"], ["1"], OMAR_GIFT)),
    ("modify_user_address", user_address_args(OMAR)),
    ("return_delivered_order_items", return_args(NOAH_DELIVERED, ["0"], "paypal_5727330")),
    ("exchange_delivered_order_items", items_args(NOAH_DELIVERED, ["0"], ["1"], "paypal_5727330")),
]


@pytest.mark.parametrize(
    ("name", "args"),
    CROSS_CUSTOMER,
)
def test_cross_customer_access_refused(refuse, name: str, args: dict[str, Any]) -> None:
    # Another customer's order reads as an unknown one ("Order #W... not found."), so ids cannot be probed.
    expected = "not found" if "order_id" in args else "only access the account and orders of the verified customer"
    refuse(name, args, expected)


def test_search_products_without_retriever_is_a_clear_error(refuse) -> None:
    refuse("search_products", {"query": "running shoes"}, "search is not available")


def test_transfer_to_human_agents(call, refuse) -> None:
    assert call("transfer_to_human_agents", {"summary": "Wants a refund to another card."}).output == (
        "Transfer successful"
    )
    refuse("transfer_to_human_agents", {"summary": "   "}, "needs a short summary")


# --- calculate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("2 + 2", "4.0"),
        ("3131.1 + 4777.75 + 367.38", "8276.23"),
        ("(10 - 4) * 3 / 4", "4.5"),
        ("-1.5 + +2", "0.5"),
        ("10 / 3", "3.33"),
    ],
)
def test_calculate(call, expression: str, value: str) -> None:
    assert call("calculate", {"expression": expression}).output == value


CALCULATE_REJECTED = [
    ("2 ** 10", "only numbers"),
    ("9**9**9", "only numbers"),
    ("2 ^ 3", "only numbers"),
    ("__import__('os')", "only numbers"),
    ("abs(-1)", "only numbers"),
    ("1e9", "only numbers"),
    ("", "only numbers"),
    ("   ", "only numbers"),
    ("1 / 0", "Division by zero"),
    ("5 / (2 - 2)", "Division by zero"),
    ("(1 + 2", "not a valid expression"),
    ("1 + ", "not a valid expression"),
    ("1..2 + 3", "not a valid expression"),
]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    CALCULATE_REJECTED,
)
def test_calculate_rejects(refuse, expression: str, fragment: str) -> None:
    refuse("calculate", {"expression": expression}, fragment)


def test_calculate_huge_number_is_refused_not_raised(refuse) -> None:
    refuse("calculate", {"expression": "9" * 400}, "too large")


def test_calculate_overflowing_result_is_refused(refuse) -> None:
    refuse("calculate", {"expression": "9" * 300 + " * " + "9" * 300}, "too large")


# --- argument validation (ToolRunner) -------------------------------------------------------------


INVALID_CALLS = [
    ("delete_all_orders", {}, ["Unknown tool 'delete_all_orders'"]),
    ("get_order_details", {"order_id": DELIVERED, "force": True}, ["Unknown argument(s)", "force"]),
    ("get_order_details", {"order_id": DELIVERED, "ctx": None}, ["Unknown argument(s)", "ctx"]),
    ("get_order_details", {}, ["Invalid arguments for get_order_details", "order_id"]),
    ("get_order_details", {"order_id": 5866402}, ["Invalid arguments for get_order_details", "order_id"]),
    (
        "return_delivered_order_items",
        return_args(DELIVERED, SNEAKERS, PAYPAL),  # a string, not a list
        ["Invalid arguments for return_delivered_order_items", "item_ids"],
    ),
    (
        "modify_pending_order_items",
        items_args(PENDING_CARD, [137], [MOUSE_UP], GIFT),
        ["Invalid arguments", "item_ids"],
    ),
    ("cancel_pending_order", {"order_id": PENDING_GIFT, "reason": None}, ["Invalid arguments", "reason"]),
]


@pytest.mark.parametrize(
    ("name", "args", "fragments"),
    INVALID_CALLS,
)
def test_invalid_calls_refused(refuse, name: str, args: dict[str, Any], fragments: list[str]) -> None:
    refuse(name, args, *fragments)


def test_tool_kinds(runner: ToolRunner) -> None:
    writes = {name for name in runner.tools if runner.kind(name) is ToolKind.WRITE}
    assert writes == {
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
    }
    schema_names = {schema["function"]["name"] for schema in runner.schemas()}
    assert schema_names == set(runner.tools)
    for schema in runner.schemas():
        assert "ctx" not in schema["function"]["parameters"].get("properties", {})


# --- confirmation ---------------------------------------------------------------------------------


@pytest.fixture
def confirming(make_ctx: Callable[..., StoreContext]) -> StoreContext:
    """Olivia, verified, in a conversation where every write needs her recorded approval."""
    return make_ctx(OLIVIA, require_confirmation=True)


def test_write_without_approval_refused(refuse, confirming: StoreContext) -> None:
    refuse("cancel_pending_order", cancel_args(PENDING_GIFT), "explicit confirmation", context=confirming)


def test_a_rehearsal_tells_the_outcome_and_changes_nothing(store, runner: ToolRunner, confirming, db_rows) -> None:
    """A write rehearsed before it is proposed: the store's checks run (a refusal comes back as it would after the
    yes), no approval is needed or used, and every row stays as it was, audit log included."""
    before = db_rows(store)
    accepted = runner.rehearse(confirming, "cancel_pending_order", cancel_args(PENDING_GIFT))
    refused = runner.rehearse(confirming, "cancel_pending_order", cancel_args(PENDING_GIFT, "too expensive"))
    assert accepted.ok and accepted.output["status"] == "cancelled"
    assert not refused.ok and refused.error
    assert db_rows(store) == before
    refuse_without_approval = runner.call(confirming, "cancel_pending_order", cancel_args(PENDING_GIFT))
    assert not refuse_without_approval.ok  # the rehearsal granted nothing


def test_write_with_approval_for_other_arguments_refused(refuse, confirming: StoreContext) -> None:
    confirming.approve("cancel_pending_order", cancel_args(PENDING_GIFT, "ordered by mistake"))
    confirming.approve("cancel_pending_order", cancel_args(PENDING_CARD))
    confirming.approve("modify_pending_order_address", cancel_args(PENDING_GIFT))  # another tool
    refuse("cancel_pending_order", cancel_args(PENDING_GIFT), "explicit confirmation", context=confirming)
    moved = address_args(PENDING_CARD)
    confirming.approve("modify_pending_order_address", {**moved, "city": "Shelbyville"})
    refuse("modify_pending_order_address", moved, "explicit confirmation", context=confirming)


def test_approval_is_consumed(runner: ToolRunner, refuse, confirming: StoreContext, snapshot, store) -> None:
    args = address_args(PENDING_CARD)
    confirming.approve("modify_pending_order_address", args)
    assert runner.call(confirming, "modify_pending_order_address", args).ok
    assert snapshot(store)["orders"][PENDING_CARD]["address"]["city"] == "Springfield"
    refuse("modify_pending_order_address", args, "explicit confirmation", context=confirming)
    confirming.approve("modify_pending_order_address", args)
    assert runner.call(confirming, "modify_pending_order_address", args).ok


def test_approval_does_not_override_policy(refuse, confirming: StoreContext) -> None:
    args = cancel_args(DELIVERED)
    confirming.approve("cancel_pending_order", args)
    refuse("cancel_pending_order", args, "only pending orders can be cancelled", context=confirming)


def test_reads_need_no_approval(runner: ToolRunner, confirming: StoreContext) -> None:
    assert runner.call(confirming, "get_order_details", {"order_id": DELIVERED}).ok
    assert runner.call(confirming, "calculate", {"expression": "1 + 1"}).ok


# --- cancel_pending_order -------------------------------------------------------------------------


def test_cancel_gift_card_order_refunds_balance_immediately(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_GIFT]
    amount = order["payment_history"][0]["amount"]  # 3570.34
    order["status"] = "cancelled"
    order["cancel_reason"] = "no longer needed"
    order["payment_history"].append(
        {"transaction_type": "refund", "amount": amount, "payment_method_id": GIFT}
    )
    card = expected["users"][OLIVIA]["payment_methods"][GIFT]
    card["balance"] = add(card["balance"], amount)
    assert card["balance"] == 3626.34

    result = call("cancel_pending_order", cancel_args(PENDING_GIFT))
    assert result.output == order
    assert snapshot(store) == expected


def test_cancel_card_order_records_refund(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_CARD]
    order["status"] = "cancelled"
    order["cancel_reason"] = "ordered by mistake"
    order["payment_history"].append(
        {"transaction_type": "refund", "amount": 663.85, "payment_method_id": CREDIT}
    )
    call("cancel_pending_order", cancel_args(PENDING_CARD, "ordered by mistake"))
    assert snapshot(store) == expected


@pytest.mark.parametrize(("order_id", "status"), [(DELIVERED, "delivered"), (PROCESSED, "processed")])
def test_cancel_non_pending_refused(refuse, order_id: str, status: str) -> None:
    refuse(
        "cancel_pending_order", cancel_args(order_id), f"'{status}'", "only pending orders can be cancelled"
    )


def test_cancel_already_cancelled_refused(refuse, make_ctx) -> None:
    amelia = make_ctx(AMELIA, require_confirmation=False)
    refuse("cancel_pending_order", cancel_args(CANCELLED), "'cancelled'", context=amelia)


def test_cancel_twice_refused(call, refuse) -> None:
    call("cancel_pending_order", cancel_args(PENDING_GIFT))
    refuse("cancel_pending_order", cancel_args(PENDING_GIFT), "'cancelled'", "only pending")


def test_cancel_after_items_modified_refused(call, refuse) -> None:
    call("modify_pending_order_items", items_args(PENDING_CARD, [MOUSE], [MOUSE_UP], PAYPAL))
    refuse("cancel_pending_order", cancel_args(PENDING_CARD), "'pending (item modified)'", "only pending")


@pytest.mark.parametrize("reason", ["found it cheaper", "No longer needed", "", "other"])
def test_cancel_reason_must_be_one_of_two(refuse, reason: str) -> None:
    refuse(
        "cancel_pending_order",
        cancel_args(PENDING_GIFT, reason),
        "Invalid arguments",
        "reason",
        "no longer needed",
        "ordered by mistake",
    )


def test_cancel_unknown_order_not_found(refuse) -> None:
    refuse("cancel_pending_order", cancel_args("#W0000000"), "not found")


# --- modify_pending_order_address -----------------------------------------------------------------


def test_modify_order_address(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    expected["orders"][PENDING_CARD]["address"] = {**NEW_ADDRESS, "address2": "Apt 4"}
    args = address_args(PENDING_CARD, address1="  1 Test Road ", address2="Apt 4", city="Springfield ")
    result = call("modify_pending_order_address", args)
    assert result.output == expected["orders"][PENDING_CARD]
    assert snapshot(store) == expected  # the user's default address is untouched


@pytest.mark.parametrize("field", ["address1", "city", "state", "country", "zip"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_modify_order_address_incomplete_refused(refuse, field: str, blank: str) -> None:
    refuse(
        "modify_pending_order_address",
        address_args(PENDING_CARD, **{field: blank}),
        "address is incomplete",
        field,
    )


@pytest.mark.parametrize(("order_id", "status"), [(DELIVERED, "delivered"), (PROCESSED, "processed")])
def test_modify_order_address_non_pending_refused(refuse, order_id: str, status: str) -> None:
    refuse("modify_pending_order_address", address_args(order_id), f"'{status}'", "only pending orders")


def test_modify_order_address_after_items_modified_refused(call, refuse) -> None:
    call("modify_pending_order_items", items_args(PENDING_CARD, [MOUSE], [MOUSE_UP], PAYPAL))
    refuse("modify_pending_order_address", address_args(PENDING_CARD), "'pending (item modified)'")


# --- modify_pending_order_items -------------------------------------------------------------------


def test_modify_items_paid_by_gift_card(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_CARD]
    new = variant(demo_db, "5713490933", MOUSE_UP)
    difference = add(new["price"], -line(order, MOUSE)["price"])
    assert difference == 13.26
    line(order, MOUSE).update(item_id=MOUSE_UP, price=new["price"], options=new["options"])
    order["status"] = "pending (item modified)"
    order["payment_history"].append(
        {"transaction_type": "payment", "amount": difference, "payment_method_id": GIFT}
    )
    card = expected["users"][OLIVIA]["payment_methods"][GIFT]
    card["balance"] = add(card["balance"], -difference)  # 42.74

    result = call("modify_pending_order_items", items_args(PENDING_CARD, [MOUSE], [MOUSE_UP], GIFT))
    assert result.output == order
    assert snapshot(store) == expected


def test_modify_items_refund_to_card(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_WATCH]
    new = variant(demo_db, "6066914160", WATCH_DOWN)
    difference = add(new["price"], -line(order, WATCH)["price"])
    assert difference == -77.15
    line(order, WATCH).update(item_id=WATCH_DOWN, price=new["price"], options=new["options"])
    order["status"] = "pending (item modified)"
    order["payment_history"].append(
        {"transaction_type": "refund", "amount": 77.15, "payment_method_id": CREDIT}
    )
    call("modify_pending_order_items", items_args(PENDING_WATCH, [WATCH], [WATCH_DOWN], CREDIT))
    assert snapshot(store) == expected


def test_modify_several_items_at_once(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_CARD]
    total = Decimal(0)
    for product_id, old, new_id in [("9743693396", UMBRELLA, UMBRELLA_UP), ("5713490933", MOUSE, MOUSE_UP)]:
        new = variant(demo_db, product_id, new_id)
        total += Decimal(str(new["price"])) - Decimal(str(line(order, old)["price"]))
        line(order, old).update(item_id=new_id, price=new["price"], options=new["options"])
    order["status"] = "pending (item modified)"
    order["payment_history"].append(
        {"transaction_type": "payment", "amount": float(total), "payment_method_id": PAYPAL}
    )
    assert float(total) == 27.84
    call(
        "modify_pending_order_items",
        items_args(PENDING_CARD, [UMBRELLA, MOUSE], [UMBRELLA_UP, MOUSE_UP], PAYPAL),
    )
    assert snapshot(store) == expected


MODIFY_ITEMS_VIOLATIONS = [
    pytest.param([MOUSE], [BACKPACK], PAYPAL, ["not a variant of the same product"], id="other-product"),
    pytest.param([MOUSE], ["0000000000"], PAYPAL, ["not a variant of the same product"], id="no-such-item"),
    pytest.param(
        [MOUSE], [MOUSE_UNAVAILABLE], PAYPAL, [MOUSE_UNAVAILABLE, "not available"], id="unavailable"
    ),
    pytest.param([MOUSE], [MOUSE], PAYPAL, ["must be a different option"], id="same-item"),
    pytest.param([MOUSE, UMBRELLA], [MOUSE_UP], PAYPAL, ["differ in length"], id="length-mismatch"),
    pytest.param([MOUSE], [MOUSE_UP, UMBRELLA_UP], PAYPAL, ["differ in length"], id="length-mismatch-2"),
    pytest.param([], [], PAYPAL, ["No items were given"], id="no-items"),
    pytest.param([WATCH], [WATCH_DOWN], PAYPAL, [WATCH, "is not in order"], id="item-not-in-order"),
    pytest.param([MOUSE, MOUSE], [MOUSE_UP, "2880340443"], PAYPAL, ["not that many times"], id="duplicate"),
    pytest.param(
        [MOUSE],
        [MOUSE_UP],
        OMAR_GIFT,
        ["not one of the customer's payment methods"],
        id="other-users-gift-card",
    ),
    pytest.param(
        [MOUSE],
        [MOUSE_UP],
        "gift_card_0000000",
        ["not one of the customer's payment methods"],
        id="unknown-payment-method",
    ),
]


@pytest.mark.parametrize(
    ("item_ids", "new_item_ids", "method", "fragments"),
    MODIFY_ITEMS_VIOLATIONS,
)
def test_modify_items_rule_violations(refuse, item_ids, new_item_ids, method, fragments) -> None:
    refuse("modify_pending_order_items", items_args(PENDING_CARD, item_ids, new_item_ids, method), *fragments)


def test_modify_items_gift_card_balance_too_low(refuse) -> None:
    # WATCH_UP costs 142.32 more; the gift card holds 56.00.
    refuse(
        "modify_pending_order_items",
        items_args(PENDING_WATCH, [WATCH], [WATCH_UP], GIFT),
        GIFT,
        "not enough to pay",
    )


@pytest.mark.parametrize(("order_id", "item_id", "new_id"), [(DELIVERED, SNEAKERS, SNEAKERS_DOWN)])
def test_modify_items_non_pending_refused(refuse, order_id: str, item_id: str, new_id: str) -> None:
    refuse(
        "modify_pending_order_items",
        items_args(order_id, [item_id], [new_id], PAYPAL),
        "'delivered'",
        "only pending orders",
    )


def test_modify_items_processed_refused(refuse) -> None:
    refuse(
        "modify_pending_order_items",
        items_args(PROCESSED, ["5489028872"], ["6843647669"], PAYPAL),
        "'processed'",
        "only pending orders",
    )


def test_modify_items_to_the_same_item_padded_with_spaces_refused(refuse) -> None:
    # Today: ok, status 'pending (item modified)' (no later change possible) and a 0.00 refund recorded.
    refuse(
        "modify_pending_order_items",
        items_args(PENDING_CARD, [MOUSE], [f" {MOUSE}"], PAYPAL),
        "must be a different option",
    )


def test_modify_items_only_once(call, refuse) -> None:
    call("modify_pending_order_items", items_args(PENDING_CARD, [MOUSE], [MOUSE_UP], PAYPAL))
    refuse(
        "modify_pending_order_items",
        items_args(PENDING_CARD, [UMBRELLA], [UMBRELLA_UP], PAYPAL),
        "'pending (item modified)'",
        "only pending orders",
    )
    refuse(
        "modify_pending_order_items",
        items_args(PENDING_CARD, [MOUSE_UP], [MOUSE], PAYPAL),
        "'pending (item modified)'",
    )


# --- modify_pending_order_payment -----------------------------------------------------------------


def test_modify_payment_card_to_paypal(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_CARD]
    order["payment_history"] += [
        {"transaction_type": "payment", "amount": 663.85, "payment_method_id": PAYPAL},
        {"transaction_type": "refund", "amount": 663.85, "payment_method_id": CREDIT},
    ]
    result = call("modify_pending_order_payment", payment_args(PENDING_CARD, PAYPAL))
    assert result.output == order
    assert result.output["status"] == "pending"
    assert snapshot(store) == expected


def test_modify_payment_from_gift_card_refunds_it(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][PENDING_GIFT]
    amount = order["payment_history"][0]["amount"]
    order["payment_history"] += [
        {"transaction_type": "payment", "amount": amount, "payment_method_id": CREDIT},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": GIFT},
    ]
    card = expected["users"][OLIVIA]["payment_methods"][GIFT]
    card["balance"] = add(card["balance"], amount)
    call("modify_pending_order_payment", payment_args(PENDING_GIFT, CREDIT))
    assert snapshot(store) == expected


def test_modify_payment_to_gift_card_charges_it(call, make_ctx, store, snapshot, demo_db) -> None:
    omar = make_ctx(OMAR, require_confirmation=False)
    expected = copy.deepcopy(demo_db)
    expected["orders"][OMAR_PENDING]["payment_history"] += [
        {"transaction_type": "payment", "amount": 53.43, "payment_method_id": OMAR_GIFT},
        {"transaction_type": "refund", "amount": 53.43, "payment_method_id": OMAR_CARD},
    ]
    expected["users"][OMAR]["payment_methods"][OMAR_GIFT]["balance"] = add(91.0, -53.43)  # 37.57
    call("modify_pending_order_payment", payment_args(OMAR_PENDING, OMAR_GIFT), omar)
    assert snapshot(store) == expected


MODIFY_PAYMENT_VIOLATIONS = [
    pytest.param(PENDING_CARD, CREDIT, ["already paid with", CREDIT], id="same-method"),
    pytest.param(PENDING_CARD, GIFT, [GIFT, "not enough to pay"], id="gift-card-too-low"),
    pytest.param(PENDING_CARD, OMAR_GIFT, ["not one of the customer's payment methods"], id="other-user"),
    pytest.param(PENDING_CARD, "paypal_0000000", ["not one of the customer's payment methods"], id="unknown"),
    pytest.param(DELIVERED, CREDIT, ["'delivered'", "only pending orders"], id="delivered"),
    pytest.param(PROCESSED, CREDIT, ["'processed'", "only pending orders"], id="processed"),
]


@pytest.mark.parametrize(
    ("order_id", "method", "fragments"),
    MODIFY_PAYMENT_VIOLATIONS,
)
def test_modify_payment_rule_violations(refuse, order_id: str, method: str, fragments: list[str]) -> None:
    refuse("modify_pending_order_payment", payment_args(order_id, method), *fragments)


def test_modify_payment_after_items_modified_refused(call, refuse) -> None:
    call("modify_pending_order_items", items_args(PENDING_CARD, [MOUSE], [MOUSE_UP], CREDIT))
    refuse("modify_pending_order_payment", payment_args(PENDING_CARD, PAYPAL), "'pending (item modified)'")


def test_modify_payment_only_once(call, refuse) -> None:
    call("modify_pending_order_payment", payment_args(PENDING_CARD, PAYPAL))
    refuse("modify_pending_order_payment", payment_args(PENDING_CARD, CREDIT), "can no longer be changed")


# --- modify_user_address --------------------------------------------------------------------------


def test_modify_user_address(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    expected["users"][OLIVIA]["address"] = {**NEW_ADDRESS, "address2": "Unit 9"}
    result = call("modify_user_address", user_address_args(OLIVIA, address2=" Unit 9"))
    assert result.output == expected["users"][OLIVIA]
    assert snapshot(store) == expected  # the orders' shipping addresses are untouched


@pytest.mark.parametrize("field", ["address1", "city", "state", "country", "zip"])
def test_modify_user_address_incomplete_refused(refuse, field: str) -> None:
    refuse("modify_user_address", user_address_args(OLIVIA, **{field: " "}), "address is incomplete", field)


def test_modify_user_address_unknown_user(refuse) -> None:
    refuse("modify_user_address", user_address_args("nobody_0000"), "not found")


# --- return_delivered_order_items -----------------------------------------------------------------


def test_return_to_original_method(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][DELIVERED]
    order.update(status="return requested", return_items=[SNEAKERS], return_payment_method_id=PAYPAL)
    result = call("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS], PAYPAL))
    assert result.output == order
    assert snapshot(store) == expected  # no money moves until the items come back


def test_return_to_gift_card_sorts_items(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    expected["orders"][DELIVERED].update(
        status="return requested", return_items=sorted([SNEAKERS, ESPRESSO]), return_payment_method_id=GIFT
    )
    call("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS, ESPRESSO], GIFT))
    assert snapshot(store) == expected


RETURN_VIOLATIONS = [
    pytest.param(DELIVERED, [SNEAKERS], CREDIT, ["original payment method", "gift card"], id="non-original"),
    pytest.param(
        DELIVERED,
        [SNEAKERS],
        OMAR_GIFT,
        ["not one of the customer's payment methods"],
        id="other-users-gift-card",
    ),
    pytest.param(DELIVERED, [MOUSE], PAYPAL, [MOUSE, "is not in order"], id="item-not-in-order"),
    pytest.param(DELIVERED, [SNEAKERS, SNEAKERS], PAYPAL, ["not that many times"], id="duplicate"),
    pytest.param(DELIVERED, [], PAYPAL, ["No items were given"], id="no-items"),
    pytest.param(PENDING_CARD, [MOUSE], CREDIT, ["'pending'", "only delivered orders"], id="pending"),
    pytest.param(PROCESSED, ["5489028872"], PAYPAL, ["'processed'", "only delivered orders"], id="processed"),
    pytest.param("#W0000000", [SNEAKERS], PAYPAL, ["not found"], id="unknown-order"),
]


@pytest.mark.parametrize(
    ("order_id", "item_ids", "method", "fragments"),
    RETURN_VIOLATIONS,
)
def test_return_rule_violations(refuse, order_id: str, item_ids: list[str], method: str, fragments) -> None:
    refuse("return_delivered_order_items", return_args(order_id, item_ids, method), *fragments)


def test_return_only_once(call, refuse) -> None:
    call("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS], PAYPAL))
    refuse("return_delivered_order_items", return_args(DELIVERED, [ESPRESSO], PAYPAL), "'return requested'")
    refuse(
        "exchange_delivered_order_items",
        items_args(DELIVERED, [ESPRESSO], [ESPRESSO_DOWN], PAYPAL),
        "'return requested'",
    )


# --- exchange_delivered_order_items ---------------------------------------------------------------


def test_exchange_one_item(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][DELIVERED]
    difference = add(variant(demo_db, "7471004230", SNEAKERS_DOWN)["price"], -line(order, SNEAKERS)["price"])
    assert difference == -18.25
    order.update(
        status="exchange requested",
        exchange_items=[SNEAKERS],
        exchange_new_items=[SNEAKERS_DOWN],
        exchange_payment_method_id=PAYPAL,
        exchange_price_difference=difference,
    )
    result = call(
        "exchange_delivered_order_items", items_args(DELIVERED, [SNEAKERS], [SNEAKERS_DOWN], PAYPAL)
    )
    assert result.output == order
    assert snapshot(store) == expected  # the lines and payments change only once the exchange is done


def test_exchange_several_items_with_gift_card(call, store, snapshot, demo_db) -> None:
    expected = copy.deepcopy(demo_db)
    order = expected["orders"][DELIVERED]
    difference = add(
        variant(demo_db, "7471004230", SNEAKERS_OTHER)["price"],
        -line(order, SNEAKERS)["price"],
        variant(demo_db, "4354588079", ESPRESSO_DOWN)["price"],
        -line(order, ESPRESSO)["price"],
    )
    assert difference == -62.16
    order.update(
        status="exchange requested",
        exchange_items=sorted([SNEAKERS, ESPRESSO]),
        exchange_new_items=sorted([SNEAKERS_OTHER, ESPRESSO_DOWN]),
        exchange_payment_method_id=GIFT,
        exchange_price_difference=difference,
    )
    args = items_args(DELIVERED, [SNEAKERS, ESPRESSO], [SNEAKERS_OTHER, ESPRESSO_DOWN], GIFT)
    call("exchange_delivered_order_items", args)
    assert snapshot(store) == expected  # the gift card balance is untouched


EXCHANGE_VIOLATIONS = [
    pytest.param(
        DELIVERED, [SNEAKERS], [MOUSE_UP], PAYPAL, ["not a variant of the same product"], id="other-product"
    ),
    pytest.param(DELIVERED, [SNEAKERS], [SNEAKERS_UNAVAILABLE], PAYPAL, ["not available"], id="unavailable"),
    pytest.param(DELIVERED, [SNEAKERS], [SNEAKERS], PAYPAL, ["must be a different option"], id="same-item"),
    pytest.param(
        DELIVERED, [SNEAKERS, ESPRESSO], [SNEAKERS_DOWN], PAYPAL, ["differ in length"], id="length-mismatch"
    ),
    pytest.param(DELIVERED, [MOUSE], [MOUSE_UP], PAYPAL, [MOUSE, "is not in order"], id="item-not-in-order"),
    pytest.param(
        DELIVERED,
        [SNEAKERS, SNEAKERS],
        [SNEAKERS_DOWN, SNEAKERS_OTHER],
        PAYPAL,
        ["not that many times"],
        id="duplicate",
    ),
    pytest.param(DELIVERED, [], [], PAYPAL, ["No items were given"], id="no-items"),
    pytest.param(
        DELIVERED, [ESPRESSO], [ESPRESSO_UP], GIFT, [GIFT, "not enough to pay"], id="gift-card-too-low"
    ),  # +293.43 against a 56.00 balance
    pytest.param(
        DELIVERED,
        [SNEAKERS],
        [SNEAKERS_DOWN],
        OMAR_GIFT,
        ["not one of the customer's payment methods"],
        id="other-users-gift-card",
    ),
    pytest.param(
        PENDING_CARD, [MOUSE], [MOUSE_UP], CREDIT, ["'pending'", "only delivered orders"], id="pending"
    ),
    pytest.param(
        PROCESSED,
        ["5489028872"],
        ["6843647669"],
        PAYPAL,
        ["'processed'", "only delivered orders"],
        id="processed",
    ),
]


@pytest.mark.parametrize(
    ("order_id", "item_ids", "new_item_ids", "method", "fragments"),
    EXCHANGE_VIOLATIONS,
)
def test_exchange_rule_violations(refuse, order_id, item_ids, new_item_ids, method, fragments) -> None:
    refuse("exchange_delivered_order_items", items_args(order_id, item_ids, new_item_ids, method), *fragments)


def test_exchange_to_the_same_item_padded_with_spaces_refused(refuse, make_ctx) -> None:
    # Noah's delivered mouse 2193628750 is still available. Today: ok, status 'exchange requested',
    # exchange_new_items == [' 2193628750'] (the padded id is stored as is), price difference 0.00.
    noah = make_ctx(NOAH, require_confirmation=False)
    args = items_args(NOAH_DELIVERED, ["2193628750"], [" 2193628750"], "paypal_5727330")
    refuse("exchange_delivered_order_items", args, "must be a different option", context=noah)


def test_exchange_only_once(call, refuse) -> None:
    call("exchange_delivered_order_items", items_args(DELIVERED, [SNEAKERS], [SNEAKERS_DOWN], PAYPAL))
    refuse(
        "exchange_delivered_order_items",
        items_args(DELIVERED, [ESPRESSO], [ESPRESSO_DOWN], PAYPAL),
        "'exchange requested'",
        "only delivered orders",
    )
    refuse("return_delivered_order_items", return_args(DELIVERED, [ESPRESSO], PAYPAL), "'exchange requested'")


# --- all refusals, against the full export ------------------------------------------------------


def values(case: Any) -> tuple[Any, ...]:
    return tuple(case.values) if hasattr(case, "values") else tuple(case)


def test_refusals_leave_the_export_unchanged(
    runner: ToolRunner, ctx: StoreContext, make_ctx, store: Store, snapshot, demo_db
) -> None:
    """Every refusal above, run on one store: its full export still equals db.json, and nothing is audited."""
    calls: list[tuple[StoreContext, str, dict[str, Any]]] = []
    calls += [(ctx, name, args) for name, args in map(values, CROSS_CUSTOMER)]
    calls += [(ctx, "calculate", {"expression": e}) for e, _ in map(values, CALCULATE_REJECTED)]
    calls += [(ctx, name, args) for name, args, _ in map(values, INVALID_CALLS)]
    calls += [
        (ctx, "modify_pending_order_items", items_args(PENDING_CARD, old, new, method))
        for old, new, method, _ in map(values, MODIFY_ITEMS_VIOLATIONS)
    ]
    calls += [
        (ctx, "modify_pending_order_payment", payment_args(order_id, method))
        for order_id, method, _ in map(values, MODIFY_PAYMENT_VIOLATIONS)
    ]
    calls += [
        (ctx, "return_delivered_order_items", return_args(order_id, item_ids, method))
        for order_id, item_ids, method, _ in map(values, RETURN_VIOLATIONS)
    ]
    calls += [
        (ctx, "exchange_delivered_order_items", items_args(order_id, old, new, method))
        for order_id, old, new, method, _ in map(values, EXCHANGE_VIOLATIONS)
    ]
    calls += [
        (ctx, "cancel_pending_order", cancel_args(DELIVERED)),
        (ctx, "cancel_pending_order", cancel_args(PROCESSED)),
        (ctx, "cancel_pending_order", cancel_args(PENDING_GIFT, "found it cheaper")),
        (ctx, "modify_pending_order_address", address_args(PENDING_CARD, city=" ")),
        (ctx, "modify_pending_order_address", address_args(DELIVERED)),
        (ctx, "modify_user_address", user_address_args(OLIVIA, zip="")),
        (ctx, "modify_pending_order_items", items_args(PENDING_WATCH, [WATCH], [WATCH_UP], GIFT)),
        (ctx, "find_user_id_by_email", {"email": OMAR_EMAIL}),
        (make_ctx(require_confirmation=False), "cancel_pending_order", cancel_args(PENDING_GIFT)),
        (make_ctx(require_confirmation=False), "modify_user_address", user_address_args(OLIVIA)),
        (make_ctx(OLIVIA), "cancel_pending_order", cancel_args(PENDING_GIFT)),  # not confirmed
    ]
    assert len(calls) > 60
    for context, name, args in calls:
        result = runner.call(context, name, args)
        assert result.ok is False, f"{name}{args} was not refused"
    assert snapshot(store) == demo_db
    assert audit_log(store) == []


# --- audit log ------------------------------------------------------------------------------------


def test_each_successful_write_is_audited(call, store, snapshot, demo_db) -> None:
    assert audit_log(store) == []
    call("get_order_details", {"order_id": PENDING_GIFT})
    assert audit_log(store) == []  # reads are not audited

    states = [demo_db]
    call("cancel_pending_order", cancel_args(PENDING_GIFT))
    states.append(snapshot(store))
    call("modify_user_address", user_address_args(OLIVIA))
    states.append(snapshot(store))
    call("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS], PAYPAL))
    states.append(snapshot(store))

    entries = audit_log(store)
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("cancel_pending_order", "order", PENDING_GIFT),
        ("modify_user_address", "user", OLIVIA),
        ("return_delivered_order_items", "order", DELIVERED),
    ]
    for entry in entries:
        assert entry.actor == f"customer:{OLIVIA}"
        assert entry.session_id == "conv-1"
        assert entry.at is not None
    cancel, address, returned = entries
    assert cancel.arguments == cancel_args(PENDING_GIFT)
    assert cancel.before == states[0]["orders"][PENDING_GIFT]
    assert cancel.after == states[1]["orders"][PENDING_GIFT]
    assert cancel.before["status"] == "pending" and cancel.after["status"] == "cancelled"
    assert address.arguments == user_address_args(OLIVIA)
    assert address.before == states[1]["users"][OLIVIA]  # the gift card was refunded by the cancellation
    assert address.after == states[2]["users"][OLIVIA]
    assert address.after["address"] == NEW_ADDRESS
    assert returned.arguments == return_args(DELIVERED, [SNEAKERS], PAYPAL)
    assert returned.before == states[2]["orders"][DELIVERED]
    assert returned.after == states[3]["orders"][DELIVERED]


def test_audit_records_staff_actor(runner: ToolRunner, make_ctx, store) -> None:
    staff = make_ctx(role=Role.STAFF, staff_id="agent-7", require_confirmation=False, session_id="desk-3")
    assert runner.call(staff, "find_user_id_by_email", {"email": OLIVIA_EMAIL}).ok
    assert runner.call(staff, "modify_pending_order_address", address_args(PENDING_CARD)).ok
    [entry] = audit_log(store)
    assert (entry.actor, entry.session_id, entry.action) == (
        "staff:agent-7",
        "desk-3",
        "modify_pending_order_address",
    )


def test_failed_writes_are_not_audited(call, runner: ToolRunner, ctx: StoreContext, store) -> None:
    failing = [
        ("cancel_pending_order", cancel_args(DELIVERED)),
        ("modify_pending_order_items", items_args(PENDING_WATCH, [WATCH], [WATCH_UP], GIFT)),
        ("return_delivered_order_items", return_args(DELIVERED, [SNEAKERS], CREDIT)),
        ("modify_user_address", user_address_args(OMAR)),
    ]
    for name, args in failing:
        assert not runner.call(ctx, name, args).ok
    assert audit_log(store) == []
    call("cancel_pending_order", cancel_args(PENDING_GIFT))
    assert len(audit_log(store)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET after = NULL WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
    ],
)
def test_audit_log_is_append_only(call, store, statement: str) -> None:
    call("cancel_pending_order", cancel_args(PENDING_GIFT))
    before = audit_keys(store)
    assert len(before) == 1
    with pytest.raises(DatabaseError, match="append-only"), store.engine.begin() as connection:
        connection.execute(text(statement))
    assert audit_keys(store) == before
