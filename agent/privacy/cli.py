"""`shopagent privacy …`: purge old conversations, export or delete one customer's, export masked transcripts."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Privacy: retention purge, one customer's conversations exported or deleted, masked "
                       "transcripts.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)

DeleteFlag = Annotated[bool | None, typer.Option("--delete/--anonymise",
                                                 help="Delete the conversations, or mask them and forget the "
                                                      "customer (default: the retention_action setting).")]


def actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def print_report(report, title: str) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=title, show_header=False)
    for key, value in report.to_json().items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)


def _store():  # type: ignore[no-untyped-def]
    from server.services import open_store

    return open_store(create=True)


@app.command("purge")
def purge_command(
    older_than: Annotated[int | None, typer.Option("--older-than", min=0, metavar="DAYS",
                                                   help="Idle for more than DAYS (default: retention_days).")] = None,
    delete: DeleteFlag = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
) -> None:
    """Delete or anonymise the conversations idle for longer than the retention period (audited, idempotent)."""
    from agent.privacy.records import purge
    from server.config import get_settings

    settings = get_settings()
    days = settings.retention_days if older_than is None else older_than
    if days == 0:
        console.print("Retention is 0 days (keep conversations): nothing purged.")
        return
    mode = settings.retention_action if delete is None else ("delete" if delete else "anonymise")
    report = purge(_store(), days, mode=mode, dry_run=dry_run, actor=actor())
    verb = "would be" if dry_run else ("deleted" if mode == "delete" else "anonymised")
    print_report(report, f"Conversations idle for more than {days} days: {report.sessions} {verb}")


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="The JSON file to write (owner-only permissions).")],
    customer: Annotated[str | None, typer.Option("--customer", help="The customer's id.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Or their email.")] = None,
) -> None:
    """Write one customer's conversations as JSON, in clear, for that customer (audited)."""
    from agent.privacy.records import export_customer

    store = _store()
    customer_id = _customer(store, customer, email)
    data = export_customer(store, customer_id, actor=actor())
    _write_private(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    console.print(f"Wrote {len(data['conversations'])} conversations of {customer_id} to {out}. It holds their "
                  "personal data in clear: send it to them only.")


@app.command("delete")
def delete_command(
    customer: Annotated[str | None, typer.Option("--customer", help="The customer's id.")] = None,
    email: Annotated[str | None, typer.Option("--email", help="Or their email.")] = None,
    anonymise: Annotated[bool, typer.Option("--anonymise", help="Mask them instead of deleting them.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; change nothing.")] = False,
) -> None:
    """Delete one customer's conversations on their request (audited). Their account, orders and the audit log
    stay: they are the store's business records."""
    from agent.privacy.records import delete_customer

    store = _store()
    customer_id = _customer(store, customer, email)
    report = delete_customer(store, customer_id, mode="anonymise" if anonymise else "delete", dry_run=dry_run,
                             actor=actor())
    verb = "would be" if dry_run else ("anonymised" if anonymise else "deleted")
    print_report(report, f"Conversations of {customer_id}: {report.sessions} {verb}")
    if not dry_run:
        console.print("The customer's account and orders are kept (store records); so is the audit log.")


@app.command("transcripts")
def transcripts_command(
    out: Annotated[Path, typer.Option("--out", help="The JSONL file to write, one conversation a line.")],
    since: Annotated[int | None, typer.Option("--since", min=1, metavar="DAYS",
                                              help="Only conversations active in the last DAYS days.")] = None,
) -> None:
    """Export conversations with personal data masked (emails, phones, addresses, payment ids, the customer's
    name and id), for review or as training data."""
    from agent.privacy.records import export_transcripts

    count = export_transcripts(_store(), out, since_days=since, actor=actor())
    console.print(f"Wrote {count} masked conversations to {out}")


def _customer(store, customer: str | None, email: str | None) -> str:  # type: ignore[no-untyped-def]
    from agent.privacy.records import customer_by_email

    if bool(customer) == bool(email):
        raise fail("give one of --customer ID or --email EMAIL")
    if customer:
        return customer
    found = customer_by_email(store, email or "")
    if found is None:
        raise fail("no customer with that email")  # the email itself is not echoed: terminals are logged too
    return found


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(text)
