"""`shopagent logistics ...`: train the delivery models, backfill the demo history, estimate one order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Delivery-time estimates and late-delivery risk.", no_args_is_help=True)
console = Console()


def _store():  # type: ignore[no-untyped-def]
    from server.services import StoreNotReadyError, open_store

    try:
        return open_store()
    except StoreNotReadyError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None


@app.command("backfill")
def backfill_command(seed: Annotated[int, typer.Option(help="Seed of the simulated history.")] = 7) -> None:
    """Give the demo store's orders their simulated history if the database was loaded without it."""
    from tools.logistics.backfill import backfill_history

    added = backfill_history(_store(), seed=seed)
    console.print(f"Added a simulated history to {added} orders." if added else "Every demo order has a history.")


@app.command("train")
def train_command(
    seed: Annotated[int, typer.Option(help="Seed for the folds and the trees.")] = 13,
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds for the reported metrics.")] = 5,
    out: Annotated[Path | None, typer.Option(help="Artifact folder (default: the committed one).")] = None,
) -> None:
    """Train the delivery-duration quantile model and the late-risk classifier on the store's order history."""
    from tools.logistics.artifact import ARTIFACT_DIR, save
    from tools.logistics.backfill import backfill_history
    from tools.logistics.predictor import forget_loaded
    from tools.logistics.training import NotEnoughHistory, TrainingConfig, train_from_store

    store = _store()
    backfill_history(store)
    with console.status("training the delivery models (cross-validated metrics, then the final fit)…"):
        try:
            models = train_from_store(store, TrainingConfig(seed=seed, cv_folds=folds))
        except NotEnoughHistory as error:
            Console(stderr=True).print(f"[bold red]error:[/] {error}")
            raise typer.Exit(2) from None
    folder = save(models, out or ARTIFACT_DIR)
    forget_loaded()
    table = Table(title=f"{models.metadata['rows']} delivered orders, {folds}-fold CV ({models.metadata['source']})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in models.metadata["metrics"].items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"Saved to {folder}")


@app.command("predict")
def predict_command(order_id: Annotated[str, typer.Argument(help="An order id, such as '#W2611340'.")]) -> None:
    """Estimate one order's delivery (staff view: no customer check)."""
    from tools.context import Role, StoreContext
    from tools.logistics.backfill import backfill_history
    from tools.logistics.tools import predict_delivery
    from tools.runner import ToolRunner

    store = _store()
    backfill_history(store)  # a database loaded before order histories existed
    result = ToolRunner([predict_delivery]).call(StoreContext(store, role=Role.SYSTEM), "predict_delivery",
                                                 {"order_id": order_id})
    if not result.ok:
        Console(stderr=True).print(f"[bold red]error:[/] {result.error}")
        raise typer.Exit(1)
    console.print_json(json.dumps(result.output))
