"""Replay the ground-truth actions of every tau2 retail task against a fresh demo store.

Every call must succeed, except lookups of entities that do not exist in db.json (the ground truth has a few
wrong guesses before the right one), which must fail with "not found". The store after the replay must equal
db.json with exactly the changes the write actions imply, computed here from the actions' arguments and
db.json with tau2's semantics (an independent model, not the tool code).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evals.tasks.replay import FIND_USER, LOOKUPS, WRITES, replay
from tools.runner import ToolRunner
from tools.store import Store

# Collection needs the task ids before any fixture runs: same lookup as conftest's data_dir fixture.
_DATA_DIR = Path(
    os.environ.get("SHOPAGENT_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
_TASKS_FILE = _DATA_DIR / "tau2-retail" / "tasks.json"
TASK_IDS = [task["id"] for task in json.loads(_TASKS_FILE.read_text())] if _TASKS_FILE.is_file() else []

ADDRESS_KEYS = ("address1", "address2", "city", "state", "country", "zip")


@pytest.fixture(scope="module")
def tasks(data_dir: Path) -> dict[str, dict[str, Any]]:
    path = data_dir / "tau2-retail" / "tasks.json"
    if not path.is_file():
        pytest.skip(f"{path} not found: the tau2 retail tasks are needed to replay them")
    return {task["id"]: task for task in json.loads(path.read_text())}


def actions_of(task: dict[str, Any]) -> list[dict[str, Any]]:
    return task["evaluation_criteria"]["actions"] or []


# --- what db.json says ----------------------------------------------------------------------------


def lookup_target_exists(db: dict[str, Any], name: str, args: dict[str, Any]) -> bool:
    """Whether the entity a lookup names is in db.json (computed from db.json alone)."""
    if name == "get_product_details":
        return args["product_id"] in db["products"]
    if name == "get_item_details":
        return any(args["item_id"] in p["variants"] for p in db["products"].values())
    if name == "get_order_details":
        return args["order_id"] in db["orders"]
    if name == "get_user_details":
        return args["user_id"] in db["users"]
    if name == "find_user_id_by_email":
        return any(u["email"].lower() == args["email"].lower() for u in db["users"].values())
    if name == "find_user_id_by_name_zip":
        wanted = (args["first_name"].lower(), args["last_name"].lower(), args["zip"])
        return any(
            (u["name"]["first_name"].lower(), u["name"]["last_name"].lower(), u["address"]["zip"]) == wanted
            for u in db["users"].values()
        )
    raise AssertionError(f"not a lookup: {name}")


def owner(db: dict[str, Any], actions: list[dict[str, Any]]) -> str | None:
    """The one customer whose orders / account the actions reference (None if they reference none)."""
    users = set()
    for action in actions:
        args = action["arguments"]
        if "user_id" in args and args["user_id"] in db["users"]:
            users.add(args["user_id"])
        if "order_id" in args and args["order_id"] in db["orders"]:
            users.add(db["orders"][args["order_id"]]["user_id"])
    assert len(users) <= 1, f"actions reference several customers: {users}"
    return users.pop() if users else None


def touched(db: dict[str, Any], actions: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The orders and users that the task's write actions may change."""
    orders, users = set(), set()
    for action in actions:
        if action["name"] not in WRITES:
            continue
        args = action["arguments"]
        if "order_id" in args:
            orders.add(args["order_id"])
            users.add(db["orders"][args["order_id"]]["user_id"])  # gift card balances
        if "user_id" in args:
            users.add(args["user_id"])
    return orders, users


# --- the expected state: tau2's semantics applied to db.json --------------------------------------


def money(*amounts: Any) -> float:
    return float(sum((Decimal(str(a)) for a in amounts), Decimal(0)))


def variant_of(db: dict[str, Any], product_id: str, item_id: str) -> dict[str, Any]:
    return db["products"][product_id]["variants"][item_id]


def line_swaps(db: dict[str, Any], order: dict[str, Any], item_ids: list[str], new_item_ids: list[str]):
    """The order lines the (item, new item) pairs name, each line once, with their new variants."""
    used: set[int] = set()
    swaps = []
    for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
        index = next(
            i for i, line in enumerate(order["items"]) if line["item_id"] == item_id and i not in used
        )
        used.add(index)
        line = order["items"][index]
        swaps.append((line, variant_of(db, line["product_id"], new_item_id)))
    return swaps


def gift_card(db: dict[str, Any], order: dict[str, Any], method_id: str) -> dict[str, Any] | None:
    method = db["users"][order["user_id"]]["payment_methods"][method_id]
    return method if method["source"] == "gift_card" else None


def expected_refusal(db: dict[str, Any], name: str, args: dict[str, Any]) -> str | None:
    """Why tau2 would refuse this ground-truth write in state db, if it would: a gift card that cannot pay.

    Task 105's ground truth exchanges two tea kettles for 21.10 more, to be paid by a gift card holding 17.00:
    tau2's own tool raises "Insufficient gift card balance" there too: its gold state leaves the order as is.
    """
    if name not in (
        "modify_pending_order_items",
        "exchange_delivered_order_items",
        "modify_pending_order_payment",
    ):
        return None
    order = db["orders"][args["order_id"]]
    card = gift_card(db, order, args["payment_method_id"])
    if card is None:
        return None
    if name == "modify_pending_order_payment":
        owed = order["payment_history"][0]["amount"]
    else:
        swaps = line_swaps(db, order, args["item_ids"], args["new_item_ids"])
        owed = money(*(money(new["price"], -line["price"]) for line, new in swaps))
    return "not enough" if Decimal(str(card["balance"])) < Decimal(str(owed)) else None


def apply_expected(db: dict[str, Any], name: str, args: dict[str, Any]) -> None:
    """Change db (db.json's shape) as the write action `name` must change the store."""
    if name in ("modify_user_address",):
        db["users"][args["user_id"]]["address"] = {key: args[key] for key in ADDRESS_KEYS}
        return
    order = db["orders"][args["order_id"]]
    if name == "cancel_pending_order":
        for payment in list(order["payment_history"]):
            order["payment_history"].append({**payment, "transaction_type": "refund"})
            card = gift_card(db, order, payment["payment_method_id"])
            if card:
                card["balance"] = money(card["balance"], payment["amount"])
        order["status"] = "cancelled"
        order["cancel_reason"] = args["reason"]
    elif name == "modify_pending_order_address":
        order["address"] = {key: args[key] for key in ADDRESS_KEYS}
    elif name == "modify_pending_order_items":
        swaps = line_swaps(db, order, args["item_ids"], args["new_item_ids"])
        difference = money(*(money(new["price"], -line["price"]) for line, new in swaps))
        kind = "payment" if difference > 0 else "refund"
        method = args["payment_method_id"]
        order["payment_history"].append(
            {"transaction_type": kind, "amount": abs(difference), "payment_method_id": method}
        )
        card = gift_card(db, order, method)
        if card:
            card["balance"] = money(card["balance"], -difference)
        for line, new in swaps:
            line.update(item_id=new["item_id"], price=new["price"], options=new["options"])
        order["status"] = "pending (item modified)"
    elif name == "modify_pending_order_payment":
        [payment] = order["payment_history"]
        amount, original, method = payment["amount"], payment["payment_method_id"], args["payment_method_id"]
        order["payment_history"] += [
            {"transaction_type": "payment", "amount": amount, "payment_method_id": method},
            {"transaction_type": "refund", "amount": amount, "payment_method_id": original},
        ]
        if card := gift_card(db, order, method):
            card["balance"] = money(card["balance"], -amount)
        if card := gift_card(db, order, original):
            card["balance"] = money(card["balance"], amount)
    elif name == "return_delivered_order_items":
        order["status"] = "return requested"
        order["return_items"] = sorted(args["item_ids"])
        order["return_payment_method_id"] = args["payment_method_id"]
    elif name == "exchange_delivered_order_items":
        swaps = line_swaps(db, order, args["item_ids"], args["new_item_ids"])
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(args["item_ids"])
        order["exchange_new_items"] = sorted(args["new_item_ids"])
        order["exchange_payment_method_id"] = args["payment_method_id"]
        order["exchange_price_difference"] = money(
            *(money(new["price"], -line["price"]) for line, new in swaps)
        )
    else:
        raise AssertionError(f"not a write action: {name}")


@pytest.mark.parametrize(
    "task_id", TASK_IDS or [pytest.param(None, marks=pytest.mark.skip(f"{_TASKS_FILE} not found"))]
)
def test_replay_task(
    task_id: str,
    tasks: dict[str, dict[str, Any]],
    runner: ToolRunner,
    store: Store,
    demo_db: dict[str, Any],
    snapshot: Callable[[Store], dict[str, Any]],
    db_rows,
) -> None:
    task = tasks[task_id]
    actions = actions_of(task)
    rows_before = db_rows(store)
    ctx, results = replay(store, actions, runner)
    outcomes = [(action, result.ok, result.error) for action, result in results]

    expected = copy.deepcopy(demo_db)
    for action, ok, error in outcomes:
        name, args = action["name"], action["arguments"]
        if name in LOOKUPS and not lookup_target_exists(demo_db, name, args):
            assert not ok, f"{name}{args}: the target is not in db.json, yet the call succeeded"
            assert "not found" in error.lower(), f"{name}{args}: {error}"
        elif name in WRITES and (refusal := expected_refusal(expected, name, args)):
            assert not ok, f"{name}{args}: tau2 refuses this ({refusal}), yet the call succeeded"
            assert refusal in error.lower(), f"{name}{args}: {error}"
        else:
            assert ok, f"{name}{args} failed: {error}"
            if name in WRITES:
                apply_expected(expected, name, args)

    writes_done = sum(ok for action, ok, _ in outcomes if action["name"] in WRITES)
    assert len(db_rows(store)["audit_log"]) == writes_done, "one audit entry per successful write"

    if any(a["name"] in FIND_USER for a in actions):
        assert ctx.customer_id == owner(demo_db, actions) or owner(demo_db, actions) is None
        assert ctx.customer_id is not None, "no find_user_id call identified the customer"

    if not any(a["name"] in WRITES for a in actions):
        assert db_rows(store) == rows_before, "a task without write actions changed the store"
        return
    after = snapshot(store)
    # Nothing outside the orders and users the write actions name changed.
    orders, users = touched(demo_db, actions)
    assert {o for o in demo_db["orders"] if after["orders"][o] != demo_db["orders"][o]} <= orders
    assert {u for u in demo_db["users"] if after["users"][u] != demo_db["users"][u]} <= users
    assert after["products"] == demo_db["products"]
    assert after.keys() == demo_db.keys()
    assert after["orders"].keys() == demo_db["orders"].keys()
    assert after["users"].keys() == demo_db["users"].keys()
    # And what changed, changed exactly as the actions imply.
    for order_id in sorted(orders):
        assert after["orders"][order_id] == expected["orders"][order_id], order_id
    for user_id in sorted(users):
        assert after["users"][user_id] == expected["users"][user_id], user_id
    assert after == expected


def test_all_tasks_are_replayed(tasks: dict[str, dict[str, Any]]) -> None:
    assert sorted(tasks) == sorted(TASK_IDS)
    assert len(TASK_IDS) == 74


def test_expected_failures_are_the_known_wrong_guesses(tasks: dict[str, dict[str, Any]], demo_db) -> None:
    """The ground truth's lookups of absent entities: the wrong guesses the replay expects to fail."""
    absent = {
        (a["name"], json.dumps(a["arguments"], sort_keys=True))
        for task in tasks.values()
        for a in actions_of(task)
        if a["name"] in LOOKUPS and not lookup_target_exists(demo_db, a["name"], a["arguments"])
    }
    names = {name for name, _ in absent}
    assert ("get_product_details", json.dumps({"product_id": "6086499569"})) in absent
    assert ("get_order_details", json.dumps({"order_id": "#9502126"})) in absent
    assert {"find_user_id_by_email", "find_user_id_by_name_zip"} <= names
    assert "get_user_details" not in names  # user ids are only ever looked up once found


# --- spot checks of the expected-state model on one task per kind of write ------------------------


def _replayed(task_id, tasks, runner, store, demo_db, snapshot) -> dict[str, Any]:
    _, outcomes = replay(store, actions_of(tasks[task_id]), runner)
    assert all(result.ok for action, result in outcomes if action["name"] in WRITES)
    return snapshot(store)


def test_spot_check_cancel_to_gift_card(tasks, runner, store, demo_db, snapshot) -> None:
    # Task 54 cancels two pending orders; each payment is refunded, gift cards at once.
    after = _replayed("54", tasks, runner, store, demo_db, snapshot)
    user = "amelia_silva_7726"
    refunded = Decimal(0)
    for order_id in ("#W4836353", "#W7342738"):
        before, now = demo_db["orders"][order_id], after["orders"][order_id]
        assert (before["status"], now["status"], now["cancel_reason"]) == (
            "pending",
            "cancelled",
            "no longer needed",
        )
        [payment] = before["payment_history"]
        assert now["payment_history"] == [payment, {**payment, "transaction_type": "refund"}]
        if payment["payment_method_id"].startswith("gift_card"):
            refunded += Decimal(str(payment["amount"]))
    cards = {k: v for k, v in demo_db["users"][user]["payment_methods"].items() if v["source"] == "gift_card"}
    for card_id, card in cards.items():
        gained = Decimal(str(after["users"][user]["payment_methods"][card_id]["balance"])) - Decimal(
            str(card["balance"])
        )
        assert gained == refunded
    # ...and the return in the same task is only requested.
    assert after["orders"]["#W4597054"]["status"] == "return requested"


def test_spot_check_modify_items_with_gift_card(tasks, runner, store, demo_db, snapshot) -> None:
    # Task 44: 9190635437 (153.23) -> 5320792178 (135.24), the 17.99 difference refunded to gift_card_7245904.
    after = _replayed("44", tasks, runner, store, demo_db, snapshot)
    order = after["orders"]["#W9300146"]
    assert order["status"] == "pending (item modified)"
    assert order["payment_history"][-1] == {
        "transaction_type": "refund",
        "amount": 17.99,
        "payment_method_id": "gift_card_7245904",
    }
    new_line = next(line for line in order["items"] if line["item_id"] == "5320792178")
    assert new_line["price"] == 135.24
    user = order["user_id"]
    before_balance = demo_db["users"][user]["payment_methods"]["gift_card_7245904"]["balance"]
    after_balance = after["users"][user]["payment_methods"]["gift_card_7245904"]["balance"]
    assert money(after_balance, -before_balance) == 17.99


def test_spot_check_addresses(tasks, runner, store, demo_db, snapshot) -> None:
    # Task 22 moves the user and one order to New York, then the user back to Denver.
    after = _replayed("22", tasks, runner, store, demo_db, snapshot)
    assert after["orders"]["#W9911714"]["address"] == {
        "address1": "101 Highway",
        "address2": "",
        "city": "New York",
        "state": "NY",
        "country": "USA",
        "zip": "10001",
    }
    assert after["users"]["ethan_garcia_1261"]["address"]["city"] == "Denver"
    assert after["users"]["ethan_garcia_1261"]["address"]["address1"] == "667 Highland Drive"


def test_spot_check_return(tasks, runner, store, demo_db, snapshot) -> None:
    # Task 73: four items of #W5272531 back to the original credit card; no money moves yet.
    after = _replayed("73", tasks, runner, store, demo_db, snapshot)
    order = after["orders"]["#W5272531"]
    assert order["status"] == "return requested"
    assert order["return_items"] == sorted(["7228247242", "2698416822", "8098621301", "3320557165"])
    assert order["return_payment_method_id"] == "credit_card_6824399"
    assert order["payment_history"] == demo_db["orders"]["#W5272531"]["payment_history"]
    assert order["items"] == demo_db["orders"]["#W5272531"]["items"]


def test_spot_check_exchange_paid_by_gift_card(tasks, runner, store, demo_db, snapshot) -> None:
    # Task 58: two items of #W5838674 exchanged, the difference to be settled with gift_card_9368765.
    after = _replayed("58", tasks, runner, store, demo_db, snapshot)
    before, order = demo_db["orders"]["#W5838674"], after["orders"]["#W5838674"]
    pairs = {"7441167885": "3815173328", "3478699712": "6017636844"}
    difference = money(
        *(
            money(
                demo_db["products"][line["product_id"]]["variants"][pairs[line["item_id"]]]["price"],
                -line["price"],
            )
            for line in before["items"]
            if line["item_id"] in pairs
        )
    )
    assert order["status"] == "exchange requested"
    assert order["exchange_items"] == sorted(pairs)
    assert order["exchange_new_items"] == sorted(pairs.values())
    assert order["exchange_payment_method_id"] == "gift_card_9368765"
    assert order["exchange_price_difference"] == difference
    assert order["items"] == before["items"] and order["payment_history"] == before["payment_history"]
    assert after["users"][order["user_id"]] == demo_db["users"][order["user_id"]]  # no money moves yet


def test_task_105_exchange_the_gift_card_cannot_pay_is_refused(
    tasks, runner, store, demo_db, snapshot
) -> None:
    # Both tea kettles (94.80 each) for 101.12 + 109.58: 21.10 more, from a gift card holding 17.00.
    # tau2's tool refuses this too ("Insufficient gift card balance"), so the order stays as it is.
    _, [(_, result)] = replay(store, actions_of(tasks["105"]), runner)
    ok, error = result.ok, result.error
    assert not ok
    assert "gift_card_7245904" in error and "17.00" in error and "21.10" in error
    assert snapshot(store) == demo_db
