"""Order logistics on the demo store: the simulated history, the delivery models, the predict_delivery tool, the
late_risk API and the agent's arrival answers (a real SQLite store, real scikit-learn models, the real Agent)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import delete, select

from agent.manager import Agent
from tools.context import IdentityPolicy, Role, StoreContext
from tools.logistics import artifact
from tools.logistics.api import late_risk
from tools.logistics.backfill import add_history, backfill_history
from tools.logistics.features import as_utc, feature_matrix
from tools.logistics.history import OrderLogistics
from tools.logistics.predictor import forget_loaded, models_for
from tools.logistics.quantile_model import conformal_offset, interval_coverage
from tools.logistics.tools import predict_delivery
from tools.logistics.training import TrainingConfig, delivered_rows, train_from_store
from tools.retail.data_model import Order, User
from tools.runner import ToolRunner
from tools.store import Store

SMALL = TrainingConfig(seed=5, cv_folds=2, max_iter=30, limit=150)  # fast: tests don't need good models
JAMES = {"id": "james_li_5688", "email": "james.li4495@example.com"}
JAMES_PROCESSED, JAMES_DELIVERED = "#W2611340", "#W4435622"
NOAH_ORDER = "#W7678072"  # another customer's order


@pytest.fixture(scope="module")
def tool_runner() -> ToolRunner:
    return ToolRunner([predict_delivery])


def histories(store: Store) -> dict[str, tuple[str, OrderLogistics]]:
    """order id -> (status, history row)."""
    with store.session() as session:
        rows = session.execute(select(Order.order_id, Order.status, OrderLogistics).join(OrderLogistics)).all()
    return {order_id: (status, row) for order_id, status, row in rows}


def order_of_status(store: Store, status: str) -> tuple[str, str]:
    """(order id, owner) of the first demo order with this status."""
    with store.session() as session:
        order = session.scalars(select(Order).where(Order.status == status).order_by(Order.order_id)).first()
        return order.order_id, order.user_id


def predict(tool_runner: ToolRunner, store: Store, order_id: str, customer: str | None):  # type: ignore[no-untyped-def]
    ctx = StoreContext(store, customer_id=customer)
    return tool_runner.call(ctx, "predict_delivery", {"order_id": order_id})


# --- the simulated history -----------------------------------------------------------------------------------


def test_every_demo_order_has_a_history_consistent_with_its_status(store: Store) -> None:
    found = histories(store)
    assert len(found) == 1000
    now = datetime.now(UTC)
    for order_id, (status, row) in found.items():
        placed, shipped = as_utc(row.placed_at), row.shipped_at and as_utc(row.shipped_at)
        delivered = row.delivered_at and as_utc(row.delivered_at)
        assert placed < now and as_utc(row.promised_at) > placed and row.distance_km > 0 and row.simulated
        if status == "delivered":
            assert placed < shipped < delivered < now, order_id
        elif status == "processed":
            assert placed < shipped <= now and delivered is None, order_id
        else:  # pending: placed only; cancelled: never shipped
            assert status in {"pending", "cancelled"} and shipped is None and delivered is None, order_id


def test_backfill_is_idempotent_and_reproduces_the_loaded_history(store: Store) -> None:
    anchor = datetime(2026, 1, 14, 12, tzinfo=UTC)
    with store.transaction() as session:
        session.execute(delete(OrderLogistics))
        assert add_history(session, ["#W2611340", "#W4435622"], anchor=anchor) == 2
    assert backfill_history(store, anchor=anchor) == 998
    first = {k: (s, r.placed_at, r.shipped_at, r.delivered_at, r.carrier) for k, (s, r) in histories(store).items()}
    assert backfill_history(store, anchor=anchor) == 0  # nothing left to add
    with store.transaction() as session:
        session.execute(delete(OrderLogistics))
    backfill_history(store, anchor=anchor)  # same seed and anchor, other generation order: the same rows
    again = {k: (s, r.placed_at, r.shipped_at, r.delivered_at, r.carrier) for k, (s, r) in histories(store).items()}
    assert again == first


# --- the models ------------------------------------------------------------------------------------------------


def test_quantiles_are_ordered_for_every_demo_order(store: Store) -> None:
    models = models_for(store)
    rows = [row for _, row in histories(store).values()]
    predicted = models.quantiles.predict(feature_matrix(rows))
    assert predicted.shape == (1000, 3)
    assert (np.diff(predicted, axis=1) >= 0).all()
    assert predicted[:, 1].min() > 0
    probability = models.risk.probability(feature_matrix(rows))
    assert ((probability >= 0) & (probability <= 1)).all()


def test_conformal_offset_widens_a_too_narrow_interval_to_the_nominal_coverage() -> None:
    target = np.arange(100, dtype=float)
    narrow = np.column_stack([target - 1, target, target + 1])
    narrow[::2] += 5  # half the targets fall outside: their scores are 4
    offset = conformal_offset(narrow, target)
    assert offset == pytest.approx(4.0)
    assert interval_coverage(narrow, target) == 0.5
    assert interval_coverage(narrow + np.array([-offset, 0, offset]), target) == 1.0


def test_training_is_deterministic_for_a_seed(store: Store) -> None:
    first, second = train_from_store(store, SMALL), train_from_store(store, SMALL)
    with store.session() as session:
        features = feature_matrix(delivered_rows(session))
    assert first.metadata["metrics"] == second.metadata["metrics"]
    assert np.array_equal(first.quantiles.predict(features), second.quantiles.predict(features))
    assert np.array_equal(first.risk.probability(features), second.risk.probability(features))
    assert first.metadata["rows"] == 150 and first.metadata["seed"] == 5


def test_committed_artifact_is_usable_and_documented() -> None:
    metadata = artifact.read_metadata()
    assert artifact.incompatibility(metadata) is None  # a fresh clone needs no training
    for key in ("seed", "rows", "features", "metrics", "sklearn_version", "trained_at", "calibration"):
        assert key in metadata
    assert metadata["metrics"]["duration_mae_hours"] < metadata["metrics"]["baseline_median_mae_hours"]


def test_missing_or_incompatible_artifact_is_retrained_and_saved(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "artifact"
    try:
        models = models_for(store, folder, SMALL)  # nothing there: trained from the store's history
        assert (folder / artifact.MODELS_FILE).is_file() and models.metadata["rows"] == 150
        metadata = json.loads((folder / artifact.METADATA_FILE).read_text())
        (folder / artifact.METADATA_FILE).write_text(json.dumps({**metadata, "sklearn_version": "0.1"}))
        forget_loaded()
        with pytest.raises(artifact.IncompatibleArtifact, match=r"scikit-learn 0\.1"):
            artifact.load(folder)
        models_for(store, folder, SMALL)
        assert artifact.incompatibility(artifact.read_metadata(folder)) is None
    finally:
        forget_loaded()


# --- the tool --------------------------------------------------------------------------------------------------


def test_in_flight_orders_get_an_ordered_window_risk_and_promise(tool_runner, store: Store) -> None:
    for status in ("pending", "processed"):
        order_id, owner = order_of_status(store, status)
        result = predict(tool_runner, store, order_id, owner)
        assert result.ok, result.error
        out = result.output
        assert out["status"] == status and out["stage"] in {"awaiting shipment", "in transit"}
        p10, p50, p90 = (datetime.fromisoformat(out["arrival"][q]) for q in ("p10", "p50", "p90"))
        assert p10 <= p50 <= p90
        assert p10 >= datetime.now(UTC) - timedelta(minutes=5)  # not delivered yet: no arrival in the past
        assert 0 <= out["late_risk"] <= 1 and out["late_risk_percent"] == round(out["late_risk"] * 100)
        assert out["promised_day"] and out["likely_day"] and out["latest_day"]
        assert (out["shipped_at"] is None) == (status == "pending")


def test_delivered_order_reports_its_delivery(tool_runner, store: Store) -> None:
    result = predict(tool_runner, store, JAMES_DELIVERED, JAMES["id"])
    assert result.ok
    _, row = histories(store)[JAMES_DELIVERED]
    assert result.output["stage"] == "delivered" and "arrival" not in result.output
    assert datetime.fromisoformat(result.output["delivered_at"]) == as_utc(row.delivered_at)
    assert result.output["on_time"] == (row.delivered_at <= row.promised_at)


def test_cancelled_order_reports_no_delivery(tool_runner, store: Store) -> None:
    order_id, owner = order_of_status(store, "cancelled")
    result = predict(tool_runner, store, order_id, owner)
    assert result.ok
    assert result.output["stage"] == "cancelled" and result.output["delivery"] is None
    assert "arrival" not in result.output and "delivered_at" not in result.output


@pytest.mark.parametrize(
    ("order_id", "message"),
    [
        ("#W0000000", "Order #W0000000 not found."),
        ("pizza", "Order pizza not found."),
        (" # ", "Please give an order id"),
    ],
)
def test_bad_order_ids_get_a_clear_error(tool_runner, store: Store, order_id: str, message: str) -> None:
    result = predict(tool_runner, store, order_id, JAMES["id"])
    assert not result.ok and result.error.startswith(message)


def test_another_customers_order_is_refused(tool_runner, store: Store) -> None:
    result = predict(tool_runner, store, NOAH_ORDER, JAMES["id"])
    assert not result.ok and result.error == f"Order {NOAH_ORDER} not found."  # as for an unknown id
    unverified = predict(tool_runner, store, NOAH_ORDER, None)
    assert not unverified.ok and "verify your identity" in unverified.error
    staff_view = tool_runner.call(StoreContext(store, role=Role.SYSTEM), "predict_delivery", {"order_id": NOAH_ORDER})
    assert staff_view.ok


def test_the_tool_changes_nothing(tool_runner, store: Store, db_rows: Callable[[Store], dict[str, Any]]) -> None:
    before = db_rows(store)
    predict(tool_runner, store, JAMES_PROCESSED, JAMES["id"])
    assert db_rows(store) == before


# --- the late-risk API for the proactive engine ----------------------------------------------------------------


def test_late_risk_api(store: Store) -> None:
    pending, _ = order_of_status(store, "pending")
    risk = late_risk(store, pending)
    assert risk is not None and 0 <= risk <= 1
    _, row = histories(store)[pending]
    assert late_risk(store, pending, now=as_utc(row.promised_at) + timedelta(hours=1)) == 1.0  # overdue: certain
    assert late_risk(store, JAMES_DELIVERED) is None
    assert late_risk(store, order_of_status(store, "cancelled")[0]) is None
    assert late_risk(store, "#W0000000") is None


# --- the agent -------------------------------------------------------------------------------------------------


@pytest.fixture
def chat(store: Store) -> Callable[[str], tuple[str, list[str], list[dict[str, Any]]]]:
    """chat(text) in one conversation with the real Agent (no model) -> (reply, tools called, tool outputs)."""
    agent = Agent(store, identity=IdentityPolicy.BENCHMARK)
    session, _ = agent.open_session()

    def say(text: str) -> tuple[str, list[str], list[dict[str, Any]]]:
        events = list(agent.turn(session.id, text))
        message = next(e.data for e in events if e.type == "message")
        assert not message["repaired"], message  # every fact in the reply is grounded in a tool result
        called = [e.data["name"] for e in events if e.type == "tool_started"]
        outputs = [json.loads(row.text) for row in agent.conversations.messages(session.id, roles=("tool",))
                   if row.payload.get("name") == "predict_delivery" and row.payload.get("ok")]
        return message["text"], called, outputs

    return say


def test_agent_answers_an_arrival_question_with_a_window(chat) -> None:
    reply, called, _ = chat(f"When will my order {JAMES_PROCESSED} arrive?")
    assert called == [] and "verify your identity" in reply
    reply, called, outputs = chat(JAMES["email"])
    assert called == ["find_user_id_by_email", "get_order_details", "predict_delivery"]
    estimate = outputs[-1]
    assert f"most likely arrive on {estimate['likely_day']}, at the latest on {estimate['latest_day']}" in reply
    assert f"{estimate['late_risk_percent']}%" in reply and estimate["promised_day"] in reply


def test_agent_says_when_a_delivered_order_arrived_and_refuses_others_orders(chat) -> None:
    chat(f"my email is {JAMES['email']}")
    reply, called, outputs = chat(f"is {JAMES_DELIVERED} going to be late?")
    assert called[-1] == "predict_delivery"
    assert f"arrived on {outputs[-1]['delivered_day']}" in reply
    reply, _, _ = chat(f"when will {NOAH_ORDER} get here?")
    assert "not found" in reply  # as for an order that does not exist: ids cannot be probed


def test_agent_says_a_cancelled_order_will_not_arrive(chat, store: Store) -> None:
    order_id, owner = order_of_status(store, "cancelled")
    with store.session() as session:
        email = session.get(User, owner).email
    reply, called, _ = chat(f"my email is {email}. When does {order_id} arrive?")
    assert called[-1] == "predict_delivery"
    assert reply == f"Order {order_id} was cancelled, so it won't be delivered."


def test_agent_asks_which_order_then_answers(chat) -> None:
    chat(f"my email is {JAMES['email']}")
    reply, called, _ = chat("when will my package arrive?")
    assert "Which order" in reply and "predict_delivery" not in called
    reply, called, outputs = chat(JAMES_PROCESSED)
    assert called[-1] == "predict_delivery" and outputs[-1]["likely_day"] in reply


# --- the command line ------------------------------------------------------------------------------------------


def test_cli_backfills_an_older_database_and_predicts(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from server.cli import app
    from server.config import get_settings

    with sqlite3.connect(store_path) as connection:  # loaded before order histories (and migrations) existed
        for newer in ("order_logistics", "rate_windows", "alembic_version"):
            connection.execute(f"DROP TABLE {newer}")
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", f"sqlite:///{store_path}")
    get_settings.cache_clear()
    try:
        predicted = CliRunner().invoke(app, ["logistics", "predict", JAMES_PROCESSED])
        assert predicted.exit_code == 0, predicted.output
        assert json.loads(predicted.output)["stage"] == "in transit"
        again = CliRunner().invoke(app, ["logistics", "backfill"])
        assert again.exit_code == 0 and "Every demo order has a history" in again.output
        missing = CliRunner().invoke(app, ["logistics", "predict", "#W0000000"])
        assert missing.exit_code == 1 and "Order #W0000000 not found." in missing.output
    finally:
        get_settings.cache_clear()
