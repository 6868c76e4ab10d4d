"""The store database: loading the demo store, the transaction boundary, and durability across restarts."""

from __future__ import annotations

import copy
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tools.context import StoreContext
from tools.retail.data_model import AuditEntry, Item, Order, PaymentMethod, PaymentTransaction, Product, User
from tools.retail.loader import DEMO_STORE_JSON, StoreNotEmptyError, load_store
from tools.runner import ToolRunner
from tools.store import Store, sqlite_url

PENDING_GIFT = (
    "#W3657213"  # olivia_ito_3591's pending order, paid 3570.34 by gift_card_7794233 (balance 56.00)
)
OLIVIA = "olivia_ito_3591"
GIFT = "gift_card_7794233"


def counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Product, Item, User, PaymentMethod, Order, PaymentTransaction, AuditEntry)
        }


def test_load_then_export_round_trips_db_json(empty_database_url: str, snapshot, demo_db: dict[str, Any]) -> None:
    store = Store(empty_database_url)
    try:
        assert store.is_empty()
        assert load_store(store) == {"products": 50, "users": 500, "orders": 1000}
        assert not store.is_empty()
        exported = snapshot(store)
        assert exported == demo_db
        # Byte-for-byte the same JSON, key order aside: nothing is lost or reformatted (ids, floats, lists).
        assert json.dumps(exported, sort_keys=True) == json.dumps(demo_db, sort_keys=True)
        assert counts(store)["items"] == 591
    finally:
        store.dispose()


def test_copied_template_is_the_demo_store(store: Store, snapshot, demo_db) -> None:
    assert snapshot(store) == demo_db
    assert counts(store)["audit_log"] == 0


def test_money_is_exact(store: Store) -> None:
    with store.session() as session:
        card = session.get(PaymentMethod, GIFT)
        assert card.balance == Decimal("56.00")
        amounts = session.scalars(
            select(PaymentTransaction.amount).where(PaymentTransaction.order_id == PENDING_GIFT)
        )
        assert list(amounts) == [Decimal("3570.34")]


def test_load_refuses_a_non_empty_store(store: Store, db_rows) -> None:
    before = db_rows(store)
    with pytest.raises(StoreNotEmptyError, match="already has data"):
        load_store(store)
    assert db_rows(store) == before


def test_replace_reloads_but_keeps_the_audit_log(
    store: Store, runner: ToolRunner, snapshot, demo_db, tmp_path: Path
) -> None:
    ctx = StoreContext(store, customer_id=OLIVIA, require_confirmation=False)
    assert runner.call(
        ctx, "cancel_pending_order", {"order_id": PENDING_GIFT, "reason": "no longer needed"}
    ).ok
    assert snapshot(store) != demo_db

    # Reload from a smaller store file first: replace really replaces, it does not merge.
    small = copy.deepcopy(demo_db)
    kept_user = OLIVIA
    small["users"] = {kept_user: small["users"][kept_user]}
    small["orders"] = {o: small["orders"][o] for o in small["users"][kept_user]["orders"]}
    small_path = tmp_path / "small.json"
    small_path.write_text(json.dumps(small))
    assert load_store(store, small_path, replace=True) == {"products": 50, "users": 1, "orders": 5}
    assert snapshot(store) == small

    assert load_store(store, DEMO_STORE_JSON, replace=True)["orders"] == 1000
    assert snapshot(store) == demo_db
    with store.session() as session:
        [entry] = session.scalars(select(AuditEntry))
        assert (entry.action, entry.target_id) == ("cancel_pending_order", PENDING_GIFT)
        assert entry.after["status"] == "cancelled"


def test_failed_transaction_leaves_no_partial_state(store: Store, db_rows, snapshot, demo_db) -> None:
    before = db_rows(store)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), store.transaction() as session:
        session.add(Product(product_id="0000000001", name="Half-written product"))
        session.get(User, OLIVIA).city = "Nowhere"
        card = session.get(PaymentMethod, GIFT)
        card.balance = card.balance + 1000
        order = session.get(Order, PENDING_GIFT)
        order.status = "cancelled"
        session.add(AuditEntry(actor="test", action="x", target_type="order", target_id=PENDING_GIFT))
        session.flush()  # the rows reach the database inside the transaction...
        assert session.get(Product, "0000000001") is not None
        raise Boom  # ...and are rolled back with it

    assert db_rows(store) == before
    assert snapshot(store) == demo_db
    with store.session() as session:
        assert session.get(Product, "0000000001") is None


def test_failed_tool_call_rolls_back_its_earlier_changes(
    store: Store, runner: ToolRunner, db_rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error after a tool has changed rows (here: in the audit write) undoes the whole call."""
    import tools.retail.tools as retail_tools
    from tools.errors import ToolError

    def failing_audit(*_: Any, **__: Any) -> None:
        raise ToolError("audit unavailable")

    monkeypatch.setattr(retail_tools, "_audit", failing_audit)
    before = db_rows(store)
    ctx = StoreContext(store, customer_id=OLIVIA, require_confirmation=False)
    result = runner.call(
        ctx, "cancel_pending_order", {"order_id": PENDING_GIFT, "reason": "no longer needed"}
    )
    assert (result.ok, result.error) == (False, "audit unavailable")
    assert db_rows(store) == before


def test_a_new_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "fresh" / "store.db"))
    try:
        store.migrate()
        assert (tmp_path / "fresh" / "store.db").is_file()
    finally:
        store.dispose()


def test_committed_changes_survive_a_restart(store_url: str, runner: ToolRunner, snapshot, demo_db) -> None:
    store = Store(store_url)
    ctx = StoreContext(store, customer_id=OLIVIA, require_confirmation=False)
    assert runner.call(
        ctx, "cancel_pending_order", {"order_id": PENDING_GIFT, "reason": "ordered by mistake"}
    ).ok
    with store.transaction() as session:
        session.get(User, OLIVIA).address2 = "Suite 1"
    expected = snapshot(store)
    store.dispose()

    reopened = Store(store_url)
    try:
        assert snapshot(reopened) == expected
        order = expected["orders"][PENDING_GIFT]
        assert (order["status"], order["cancel_reason"]) == ("cancelled", "ordered by mistake")
        assert expected["users"][OLIVIA]["payment_methods"][GIFT]["balance"] == 3626.34
        assert expected["users"][OLIVIA]["address"]["address2"] == "Suite 1"
        assert snapshot(reopened) != demo_db
        assert counts(reopened)["audit_log"] == 1
    finally:
        reopened.dispose()


def test_changes_are_visible_to_a_second_store_handle_at_once(store: Store) -> None:
    """Two processes on one database (server and CLI): a commit by one is seen by the other without a restart."""
    other = Store(store.url)
    try:
        with store.transaction() as session:
            session.get(User, OLIVIA).city = "Boulder"
        with other.session() as session:
            assert session.get(User, OLIVIA).city == "Boulder"
    finally:
        other.dispose()


AUDIT_LOG_TRIGGERS = {
    "sqlite": ("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'",
               {"audit_log_no_update", "audit_log_no_delete"}),
    "postgresql": ("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal",
                   {"audit_log_no_update", "audit_log_no_delete", "audit_log_no_truncate"}),
}


def test_audit_log_triggers_exist_after_load(store: Store) -> None:
    query, expected = AUDIT_LOG_TRIGGERS[store.engine.dialect.name]
    with store.engine.connect() as connection:
        assert set(connection.exec_driver_sql(query).scalars()) == expected


def test_migrate_is_idempotent_and_keeps_the_data(store: Store, snapshot, demo_db) -> None:
    store.migrate()
    store.migrate()
    assert snapshot(store) == demo_db


def test_empty_database_is_empty(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        assert store.is_empty()  # no tables yet
        store.migrate()
        assert store.is_empty()  # tables, no products
    finally:
        store.dispose()


def test_a_refund_to_a_gift_card_adds_to_a_balance_changed_meanwhile(store: Store, runner: ToolRunner) -> None:
    """PostgreSQL: another transaction holds the gift card's row and tops it up while the refund runs; the refund
    waits for it and adds to the new balance instead of writing back the one it read before (a lost update)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time: no concurrent writer to wait for")
    ctx = StoreContext(store, customer_id=OLIVIA, require_confirmation=False)
    results: list[Any] = []
    with store.engine.connect() as other:
        other.begin()
        other.execute(text("SELECT balance FROM payment_methods WHERE id = :id FOR UPDATE"), {"id": GIFT})
        refund = threading.Thread(target=lambda: results.append(runner.call(
            ctx, "cancel_pending_order", {"order_id": PENDING_GIFT, "reason": "no longer needed"})))
        refund.start()
        wait_until_blocked_on_a_lock(store)
        other.execute(text("UPDATE payment_methods SET balance = balance + 10000 WHERE id = :id"), {"id": GIFT})
        other.commit()
        refund.join()
    assert results[0].ok, results[0].error
    with store.session() as session:
        assert session.get(PaymentMethod, GIFT).balance == Decimal("56.00") + 100 + Decimal("3570.34")


def wait_until_blocked_on_a_lock(store: Store) -> None:
    """Until a backend of this database waits for a lock (the refund reached the gift card's row)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    for _ in range(600):  # a deadline for a failure only: the test proceeds as soon as the refund waits
        with store.engine.connect() as connection:  # a transaction per look: the view is a snapshot within one
            if connection.execute(query).scalar():
                return
        time.sleep(0.05)
    pytest.fail("the refund never waited for the gift card's row")


def test_a_pooled_connection_the_server_dropped_is_replaced_unnoticed(store: Store) -> None:
    """PostgreSQL restarted or failed over under a running server: the next request still gets its answer."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file has no server to drop connections")
    with store.engine.connect() as pooled:
        backend = pooled.execute(text("SELECT pg_backend_pid()")).scalar()
    other = Store(store.url)
    try:
        with other.engine.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()
    finally:
        other.dispose()
    with store.session() as session:
        assert session.get(User, OLIVIA).first_name == "Olivia"
