"""Bring an existing database's tables up to the models: optional columns added since it was created are added.

`create_all` makes missing tables but never touches existing ones, so a store created before a nullable column
existed (e.g. products.product_url) would fail on every query of that table. Only nullable columns are added,
with no default: nothing already stored changes. Anything else (a new required column) is an error to migrate
by hand, said plainly rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table, inspect
from sqlalchemy.engine import Engine


class SchemaUpgradeError(RuntimeError):
    """The database needs a change this upgrade does not make; nothing was changed."""


def add_missing_columns(engine: Engine, tables: Iterable[Table]) -> list[str]:
    """Add the nullable columns the existing tables lack, in one transaction; returns "table.column" added."""
    inspector = inspect(engine)
    missing = []
    for table in tables:
        if not inspector.has_table(table.name):
            continue  # create_all makes it whole
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [(table, column) for column in table.columns if column.name not in present]
    required = [f"{table.name}.{column.name}" for table, column in missing if not column.nullable]
    if required:
        raise SchemaUpgradeError(f"the database lacks required column(s) {', '.join(required)}: migrate it by hand")
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        for table, column in missing:
            column_type = column.type.compile(dialect=engine.dialect)
            connection.exec_driver_sql(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {column_type}")
    return [f"{table.name}.{column.name}" for table, column in missing]
