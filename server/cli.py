"""The `shopagent` command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights ship in packages; never reach for a model hub

import typer
from rich.console import Console
from rich.table import Table

from agent.escalation.cli import app as escalation_app
from agent.feedback.cli import app as feedback_app
from agent.privacy import install_log_masking
from agent.privacy.cli import app as privacy_app
from agent.reader.cli import app as reader_app
from evals.cli import eval_command
from finetune.cli import finetune_command
from server.config import Settings, get_settings
from server.services import StoreNotReadyError, open_retriever, open_store
from server.startup import StartupSteps, quiet_third_party, ready_lines
from tools.logistics.cli import app as logistics_app
from tools.store import Store

if TYPE_CHECKING:
    from server.dev_mail import DevOutbox

app = typer.Typer(help="shopagent: a conversational shopping agent for online stores.", no_args_is_help=True)
store_app = typer.Typer(help="Load, import and inspect the store database.", no_args_is_help=True)
app.add_typer(store_app, name="store")
app.add_typer(logistics_app, name="logistics")
app.add_typer(escalation_app, name="escalation")
app.add_typer(reader_app, name="reader")
app.add_typer(privacy_app, name="privacy")
app.add_typer(feedback_app, name="feedback")
app.command("eval")(eval_command)
app.command("finetune")(finetune_command)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one line per error: greppable


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def loaded_store() -> Store:
    try:
        return open_store()
    except StoreNotReadyError as error:
        raise fail(str(error)) from None


@store_app.command("load")
def store_load(
    source: Annotated[Path | None, typer.Option(help="A store file in the tau2 retail JSON shape.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace the data already in the database.")] = False,
) -> None:
    """Load the bundled demo store (or another tau2-shaped store file) into the database."""
    from tools.retail.loader import DEMO_STORE_JSON, StoreNotEmptyError, load_store

    source = source or DEMO_STORE_JSON
    if not source.is_file():
        raise fail(f"no such file: {source}")
    store = open_store(create=True)
    try:
        counts = load_store(store, source, replace=replace)
    except StoreNotEmptyError as error:
        raise fail(str(error)) from None
    except (KeyError, ValueError) as error:
        raise fail(f"{source} is not a store file in the tau2 retail shape ({error})") from None
    console.print(f"Loaded {counts['products']} products, {counts['users']} customers and "
                  f"{counts['orders']} orders into {store.url}")


@store_app.command("import-catalog")
def store_import_catalog(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL catalogue, one row per item.")],
    column: Annotated[
        list[str] | None, typer.Option("--map", help="FIELD=COLUMN, e.g. name=product_name (repeatable).")
    ] = None,
    file_format: Annotated[str, typer.Option("--format", help="auto, csv or jsonl.")] = "auto",
) -> None:
    """Import (insert or update) a store's own catalogue; all rows or none."""
    from tools.catalog_import import CatalogImportError, import_catalog

    column_map = {}
    for pair in column or []:
        target, sep, source = pair.partition("=")
        if not sep or not target or not source:
            raise fail(f"--map takes FIELD=COLUMN, got {pair!r}")
        column_map[target.strip()] = source.strip()
    try:
        report = import_catalog(open_store(create=True), file, column_map=column_map, file_format=file_format)
    except CatalogImportError as error:
        raise fail(str(error)) from None
    console.print(
        f"Imported {report.rows} rows: {report.products_added} products added, {report.products_updated} "
        f"updated; {report.items_added} items added, {report.items_updated} updated."
    )
    if report.ignored_columns:
        console.print(f"Ignored columns: {', '.join(report.ignored_columns)}")


@store_app.command("stats")
def store_stats() -> None:
    """Count what the store holds."""
    from sqlalchemy import func, select

    from tools.retail.data_model import AuditEntry, Item, Order, Product, User

    store = loaded_store()
    with store.session() as session:
        for label, model in (("products", Product), ("items", Item), ("customers", User), ("orders", Order),
                             ("audit entries", AuditEntry)):
            console.print(f"{label:>14}: {session.scalar(select(func.count()).select_from(model))}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, e.g. 'clicky rgb keyboard under 300'.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many items to show.")] = 10,
    min_price: Annotated[float | None, typer.Option(min=0)] = None,
    max_price: Annotated[float | None, typer.Option(min=0)] = None,
    in_stock: Annotated[bool, typer.Option(help="Only items available now.")] = False,
    option: Annotated[list[str] | None, typer.Option(help="NAME=VALUE option constraint (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Search the store's catalogue (hybrid: dense + BM25 + fuzzy, with filters)."""
    from retrieval import SearchFilters

    if not query.strip():
        raise fail("the query is empty")
    options = {}
    for pair in option or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise fail(f"--option takes NAME=VALUE, got {pair!r}")
        options[name.strip()] = value.strip()
    if min_price is not None and max_price is not None and min_price > max_price:
        raise fail("--min-price is above --max-price")
    filters = SearchFilters(min_price=min_price, max_price=max_price, options=options,
                            in_stock=True if in_stock else None)
    response = open_retriever(loaded_store()).search(query, k=k, filters=filters)
    rows = [
        {"product_id": h.doc.product_id, "item_id": h.doc.doc_id, "name": h.doc.title, "options": h.doc.options,
         "price": h.doc.price, "available": h.doc.available, "score": round(h.score, 4)}
        for h in response.hits
    ]
    if as_json:
        typer.echo(json.dumps({"query": query, "filters": response.filters.model_dump(exclude_none=True),
                               "results": rows}, indent=2))
        return
    _print_results(query, response.filters.model_dump(exclude_none=True), rows)


def _print_results(query: str, filters: dict, rows: list[dict]) -> None:
    if not rows:
        console.print(f"No items match '{query}'" + (f" with {filters}" if filters else "") + ".")
        return
    table = Table(title=f"'{query}'" + (f"  filters: {filters}" if filters else ""))
    for header in ("#", "product", "product id", "item id", "options", "price", "available"):
        table.add_column(header, overflow="fold")
    for rank, row in enumerate(rows, start=1):
        options = ", ".join(f"{k}: {v}" for k, v in row["options"].items())
        price = "-" if row["price"] is None else f"${row['price']:.2f}"
        table.add_row(str(rank), row["name"], row["product_id"], row["item_id"], options, price,
                      "yes" if row["available"] else "no")
    console.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default from settings).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port (PostgreSQL only: "
                                                             "they share its database).")] = 1,
) -> None:
    """Serve the chat API and the storefront widget (loads the demo store if the database is empty)."""
    quiet_third_party()
    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    if workers > 1:
        _serve_workers(settings, host, port, workers)
        return
    import uvicorn

    from server.app import create_app
    from server.services import build_agent

    console.print(f"[bold]Starting shopagent[/] on {host}:{port}")
    steps = StartupSteps(console)
    outbox = _demo_outbox(settings, steps)
    agent = build_agent(settings, steps, outbox=outbox)
    _purge_expired(settings, steps)
    application = create_app(settings, agent=agent, outbox=outbox)
    console.print(f"[bold green]shopagent is ready[/] in {steps.elapsed():.1f} s")
    for line in ready_lines(host, port, _staff_accounts(agent.store), api_docs=settings.api_docs,
                            demo=settings.demo):
        console.print(line, highlight=False, soft_wrap=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", **uvicorn_options(settings))


def _serve_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """`workers` uvicorn processes on one port: this one prepares the store and its search index once, then
    supervises; each worker builds its own agent from the same settings (server.app:create_worker_app)."""
    import uvicorn

    from server.rate_limits import create_table
    from server.services import prepare_store

    refusal = workers_refusal(settings)
    if refusal:
        raise fail(refusal)
    console.print(f"[bold]Starting shopagent[/] on {host}:{port} with {workers} worker processes")
    steps = StartupSteps(console)
    store = prepare_store(settings, steps)
    create_table(store)  # the server's own table, here once: workers creating it at the same moment would collide
    _purge_expired(settings, steps)
    console.print(f"[bold green]shopagent is prepared[/] in {steps.elapsed():.1f} s; the workers start now")
    for line in ready_lines(host, port, _staff_accounts(store), api_docs=settings.api_docs, demo=False):
        console.print(line, highlight=False, soft_wrap=True)
    uvicorn.run("server.app:create_worker_app", factory=True, workers=workers, host=host, port=port,
                log_level="warning", **uvicorn_options(settings))


def workers_refusal(settings: Settings) -> str | None:
    """Why these settings cannot run as several processes, or None when they can."""
    if not settings.store_url.startswith("postgresql"):
        return ("--workers needs PostgreSQL (SHOPAGENT_DATABASE_URL=postgresql+psycopg://...): SQLite is one "
                "server process (one writer at a time, no NOTIFY for live events); run without --workers")
    if settings.demo:
        return ("--workers does not run in demo mode: the demo's mail sink and outbox page live in one process; "
                "run the demo without --workers")
    return None


def _demo_outbox(settings: Settings, steps: StartupSteps) -> DevOutbox | None:
    """Demo mode's local SMTP sink, which catches the sign-in codes for the outbox page."""
    from server.dev_mail import DevOutbox

    if not settings.demo:
        return None
    with steps.step("Starting the demo's mail sink") as step:
        outbox = DevOutbox(sender=settings.mail_from).start()
        step.result = f"Demo mode: sign-in mails caught on {outbox.host}:{outbox.port}"
    return outbox


def _purge_expired(settings: Settings, steps: StartupSteps | None = None) -> None:
    """The retention period applied at start-up (a server that runs for weeks wants the command scheduled too)."""
    from agent.privacy.records import purge

    if settings.retention_days <= 0:
        return
    with (steps or StartupSteps()).step("Applying the retention period") as step:
        report = purge(open_store(create=True, settings=settings), settings.retention_days,
                       mode=settings.retention_action, actor="system:retention", audit_if_empty=False)
        idle = f"idle for more than {settings.retention_days} days"
        step.result = (f"Retention: {report.sessions} conversations {idle} {settings.retention_action}d"
                       if report.sessions else f"Retention: no conversation {idle}")


def _staff_accounts(store: Store) -> int:
    from agent.escalation.staff import StaffDirectory

    return StaffDirectory(store).count()


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """uvicorn must not rewrite the client address from forwarding headers (by default it believes them from
    127.0.0.1, which let anyone on the host rotate X-Forwarded-For past the rate limit): the app reads them
    itself, from the configured trusted proxies only (server/client_address.py)."""
    return {"proxy_headers": False, "forwarded_allow_ips": ""}


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Interface to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """The main job: the demo store (loaded if empty), its search index and the chat server."""
    serve(host=host, port=port)


@app.command()
def chat(
    email: Annotated[str | None, typer.Option(help="Start signed in as the customer with this email.")] = None,
) -> None:
    """Chat with the agent in the terminal (the same agent the widget talks to)."""
    from server.services import build_agent

    quiet_third_party()
    settings = get_settings()
    with console.status("Loading the store, its search index and the model..."):
        outbox = _demo_outbox(settings, StartupSteps())  # demo mode: the sign-in codes are printed here
        agent = build_agent(settings, outbox=outbox)
    customer_id = _customer_by_email(agent.store, email) if email else None
    session, greeting = agent.open_session(customer_id=customer_id, channel="terminal")
    console.print(f"[bold cyan]agent:[/] {greeting}\n[dim](session {session.id}; empty line or Ctrl+D to quit)[/]")
    while True:
        try:
            text = console.input("[bold]you:[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not text:
            break
        caught = outbox.caught if outbox is not None else 0
        events = list(agent.turn(session.id, text))
        _print_turn(events)
        if outbox is not None and any(e.data.get("name") == "send_sign_in_code" for e in events):
            _print_new_mail(outbox, caught)


def _print_new_mail(outbox: DevOutbox, caught: int) -> None:
    """Demo mode: the sign-in mail the turn sent, if any (it goes out in the background: wait for it a moment)."""
    import time

    deadline = time.monotonic() + 3
    while outbox.caught == caught and time.monotonic() < deadline:
        time.sleep(0.1)
    if outbox.caught > caught:
        mail = outbox.mails()[0]
        console.print(f"[dim](demo outbox: mail to {mail.to}: {mail.subject})[/]", highlight=False)


def _print_turn(events) -> None:  # type: ignore[no-untyped-def]
    from agent.replies import item_lines

    streamed = False
    cards: list[dict] = []  # type: ignore[type-arg]
    for event in events:
        if event.type == "tool_started":
            console.print(f"[dim]  → {event.data['name']}({json.dumps(event.data['arguments'])})[/]")
        elif event.type == "tool_finished" and not event.data["ok"]:
            console.print(f"[dim]  ✗ {event.data['error']}[/]")
        elif event.type == "products":  # the widget shows cards; the terminal lists them under the reply's text
            cards = event.data["products"]
        elif event.type == "token":
            if not streamed:
                console.print("[bold cyan]agent:[/] ", end="")
                streamed = True
            console.print(event.data["text"], end="", markup=False, highlight=False)
        elif event.type == "message":
            console.print()
            if cards:
                console.print(item_lines(cards), markup=False, highlight=False)
            if event.data.get("repaired"):
                console.print("[dim](the model's wording was replaced by the grounded reply)[/]")
        elif event.type == "error":
            console.print(f"[red]{event.data['detail']}[/]")


def _customer_by_email(store: Store, email: str) -> str:
    from sqlalchemy import func, select

    from tools.retail.data_model import User

    with store.session() as session:
        user_id = session.scalar(select(User.user_id).where(func.lower(User.email) == email.lower()))
    if user_id is None:
        raise fail(f"no customer with email {email}")
    return user_id


@app.command()
def token(
    customer_id: Annotated[str, typer.Argument(help="The customer's id, e.g. james_li_5688.")],
    ttl: Annotated[int, typer.Option(min=60, help="Seconds until the token expires.")] = 3600,
) -> None:
    """Mint a signed customer token, as a storefront does for a logged-in customer (data-token in the widget)."""
    from server.tokens import sign_customer_token

    typer.echo(sign_customer_token(get_settings().secret(), customer_id, ttl_seconds=ttl))


def main() -> None:
    install_log_masking()  # before any command logs: no email, address or payment id in clear in a log
    app()


if __name__ == "__main__":
    main()
