"""The schema under Alembic, on SQLite and PostgreSQL: a new database migrates to exactly the models' schema, a
database made before migrations is adopted with its rows, an old one gains the columns added since, one that
cannot be adopted is refused unchanged, and `shopagent store migrate` does it from the command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from agent.escalation.staff import StaffDirectory
from server.cli import app
from server.config import get_settings
from tools.retail.data_model import AuditEntry, Product
from tools.schema import SchemaError, all_tables_metadata, base_revision, current_revision, head_revision
from tools.store import Store

# A database as a version from before staff roles, pictures and product links made it: two tables of the store.
OLD_TABLES = [
    "CREATE TABLE staff_users (id VARCHAR(64) PRIMARY KEY, display_name VARCHAR(128) NOT NULL, "
    "password_hash VARCHAR(256) NOT NULL, active BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL)",
    "INSERT INTO staff_users VALUES ('old', 'Old Timer', 'x', TRUE, '2026-01-01 00:00:00')",
    "CREATE TABLE products (product_id VARCHAR(64) PRIMARY KEY, name VARCHAR(512) NOT NULL, "
    "description TEXT NOT NULL, category VARCHAR(256))",
    "INSERT INTO products VALUES ('p0', 'Old Lamp', '', NULL)",
]


@pytest.fixture
def database(empty_database_url: str) -> Iterator[Store]:
    store = Store(empty_database_url)
    yield store
    store.dispose()


def schema_differences(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), all_tables_metadata())


def revision(store: Store) -> str | None:
    with store.engine.connect() as connection:
        return current_revision(connection)


def run_sql(store: Store, *statements: str) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_a_new_database_migrates_to_exactly_the_models_schema(database: Store) -> None:
    database.migrate()
    assert revision(database) == head_revision()
    assert schema_differences(database) == []
    database.migrate()  # idempotent
    assert revision(database) == head_revision()


def test_a_database_made_before_migrations_is_adopted_with_its_rows(database: Store) -> None:
    # How every version before migrations made its schema: create_all of the tables it had (the base's).
    base_revision().base_schema().create_all(database.engine)
    with database.transaction() as session:
        session.add(Product(product_id="p1", name="Desk Lamp"))
        session.add(AuditEntry(actor="test", action="load", target_type="product", target_id="p1"))
    database.migrate()
    assert revision(database) == head_revision()
    assert schema_differences(database) == []
    with database.session() as session:
        assert session.get(Product, "p1").name == "Desk Lamp"
    # The audit log is append-only now on either database (PostgreSQL's triggers come with the migration).
    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(database, "DELETE FROM audit_log")


def test_an_old_database_without_staff_roles_upgrades_through_alembic(database: Store) -> None:
    run_sql(database, *OLD_TABLES)
    database.migrate()
    assert revision(database) == head_revision()
    staff = {column["name"] for column in inspect(database.engine).get_columns("staff_users")}
    assert {"role", "avatar_url"} <= staff
    directory = StaffDirectory(database)
    old = directory.get("old")
    assert (old.display_name, old.role, old.avatar_url) == ("Old Timer", "agent", None)  # least privilege
    assert directory.set_role("old", "supervisor").role == "supervisor"
    with database.session() as session:
        lamp = session.get(Product, "p0")
        assert (lamp.name, lamp.product_url, lamp.image_url) == ("Old Lamp", None, None)
    assert set(all_tables_metadata().tables) <= set(inspect(database.engine).get_table_names())


def test_a_database_lacking_a_required_column_is_refused_unchanged(database: Store) -> None:
    run_sql(database, "CREATE TABLE staff_users (id VARCHAR(64) PRIMARY KEY, display_name VARCHAR(128))")
    with pytest.raises(SchemaError, match=r"staff_users\.password_hash"):
        database.migrate()
    assert inspect(database.engine).get_table_names() == ["staff_users"]  # no version table, nothing else


def test_a_database_of_something_else_is_refused_unchanged(database: Store) -> None:
    run_sql(database, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(SchemaError, match="none of the store's"):
        database.migrate()
    assert inspect(database.engine).get_table_names() == ["invoices"]


def test_a_database_migrated_by_a_newer_version_is_refused_unchanged(database: Store) -> None:
    database.migrate()
    run_sql(database, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaError, match="revision 9999, which this version of shopagent does not know"):
        database.migrate()
    assert revision(database) == "9999"


def test_two_processes_migrating_at_once_both_end_at_head(database: Store) -> None:
    """Two servers starting together on a new database: one migrates, the other waits and finds it done."""
    script = f"from tools.store import Store; Store({database.url!r}).migrate()"
    processes = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    assert revision(database) == head_revision()
    assert schema_differences(database) == []


# --- the command line ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli_database(empty_database_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", empty_database_url)
    get_settings.cache_clear()
    yield empty_database_url
    get_settings.cache_clear()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_cli_store_migrate_upgrades_then_says_it_is_current(cli_database: str) -> None:
    first = invoke("store", "migrate")
    assert first.exit_code == 0, first.output
    assert f"schema at revision {head_revision()} (was none)" in first.output
    again = invoke("store", "migrate")
    assert again.exit_code == 0 and "(was" not in again.output
    store = Store(cli_database)
    try:
        assert schema_differences(store) == []
    finally:
        store.dispose()


def test_cli_store_migrate_sql_prints_the_schema_and_touches_nothing(cli_database: str) -> None:
    result = invoke("store", "migrate", "--sql")
    assert result.exit_code == 0, result.output
    assert "CREATE TABLE audit_log" in result.output and "CREATE TABLE staff_users" in result.output
    assert "audit_log_no_delete" in result.output  # the append-only triggers, on either database
    store = Store(cli_database)
    try:
        assert inspect(store.engine).get_table_names() == []
    finally:
        store.dispose()


def test_cli_store_migrate_refuses_an_unadoptable_database_clearly(cli_database: str) -> None:
    store = Store(cli_database)
    try:
        run_sql(store, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        result = invoke("store", "migrate")
        assert result.exit_code == 2
        assert "none of the store's" in result.output and "Traceback" not in result.output
        assert inspect(store.engine).get_table_names() == ["invoices"]
    finally:
        store.dispose()


def test_cli_store_migrate_names_an_unreachable_database_without_its_password(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPAGENT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHOPAGENT_DATABASE_URL", "postgresql+psycopg://shop:s3cret@127.0.0.1:1/shop")
    get_settings.cache_clear()
    try:
        result = invoke("store", "migrate")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "cannot reach the database" in result.output and "s3cret" not in result.output
