"""`shopagent escalation …`: train the frustration classifier, add staff users, list handoff tickets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Escalation to a person: the frustration classifier, staff users, handoff tickets.",
                  no_args_is_help=True)
console = Console()


@app.command("train-sentiment")
def train_sentiment(
    data_dir: Annotated[Path | None, typer.Option(help="A folder with the layout of shared/data.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where the heads and metadata go (default: the shipped model).")]
    = None,
    seed: Annotated[int, typer.Option()] = 13,
) -> None:
    """Train the English (MiniLM + logistic regression) and Chinese (character n-grams) frustration heads."""
    from agent.escalation.sentiment import MODEL_DIR
    from agent.escalation.training import train
    from server.config import get_settings

    data_dir = data_dir or get_settings().data_dir
    if not (data_dir / "support" / "bitext_customer_support.csv").is_file():
        console.print(f"[bold red]error:[/] no support/bitext_customer_support.csv under {data_dir}")
        raise typer.Exit(2)
    metadata = train(data_dir, out or MODEL_DIR, seed=seed)
    for language in ("english", "chinese"):
        test = metadata[language]["test"]
        console.print(f"{language}: held-out accuracy {test['accuracy']:.3f}, F1 {test['f1']:.3f} "
                      f"on {test['examples']} examples (C={metadata[language]['C']})")
    console.print(f"Saved to {out or MODEL_DIR} in {metadata['training_seconds']} s")


@app.command("add-staff")
def add_staff(
    staff_id: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, '.', '_' or '-'.")],
    name: Annotated[str | None, typer.Option(help="The name customers see, e.g. 'Dana'.")] = None,
    avatar: Annotated[str | None, typer.Option(help="Their picture in the chat widget: an http(s) URL or a "
                                               "storefront path; without one the widget shows initials.")] = None,
    role: Annotated[str, typer.Option(help="agent (its own and unassigned tickets) or supervisor (all tickets, "
                                           "approves held actions).")] = "agent",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="SHOPAGENT_STAFF_PASSWORD",
                                          help="At least 10 characters (prompted when not given).")] = "",
) -> None:
    """Add a human agent who can sign in to the copilot console at /console."""
    from agent.escalation.staff import StaffDirectory, StaffError
    from server.services import open_store

    try:
        user = StaffDirectory(open_store(create=True)).add(staff_id, password, name, avatar, role)
    except StaffError as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    console.print(f"Added staff user {user.id} ({user.display_name}, {user.role}); they sign in at /console")


@app.command("set-role")
def set_role(
    staff_id: Annotated[str, typer.Argument(help="The staff user's login name.")],
    role: Annotated[str, typer.Option(help="agent or supervisor.")],
) -> None:
    """Change a staff user's role (staff from before roles existed are agents)."""
    from agent.escalation.staff import StaffDirectory, StaffError
    from server.services import open_store

    try:
        user = StaffDirectory(open_store(create=True)).set_role(staff_id, role)
    except StaffError as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    console.print(f"{user.id} is now a {user.role}")


@app.command("tickets")
def list_tickets() -> None:
    """The open handoff tickets, highest priority first."""
    from rich.table import Table

    from agent.escalation.texts import reason_words
    from agent.escalation.tickets import TicketDesk
    from server.services import open_store

    table = Table("id", "priority", "status", "reason", "customer", "waiting since", "staff")
    for row in TicketDesk(open_store(create=True)).queue():
        table.add_row(str(row["id"]), f"{row['priority']:.2f}", row["status"], reason_words(row["reason"]),
                      row["customer_id"] or "-", row["created_at"][:19], row["staff_id"] or "-")
    console.print(table)


@app.command("holds")
def list_holds() -> None:
    """Actions held by risk control, waiting for a person's approval in the console (oldest first)."""
    from rich.table import Table
    from sqlalchemy import select

    from agent.risk.tables import HELD, RiskHold
    from server.services import open_store

    store = open_store(create=True)  # migrated: the held actions' table is there
    with store.session() as session:
        holds = list(session.scalars(select(RiskHold).where(RiskHold.status == HELD).order_by(RiskHold.id)))
    table = Table("id", "held since", "customer", "action", "rules", "approved by")
    for hold in holds:
        table.add_row(str(hold.id), hold.created_at.isoformat()[:19], hold.customer_id or "-", hold.tool,
                      ", ".join(hold.rules), hold.approver)
    console.print(table)
