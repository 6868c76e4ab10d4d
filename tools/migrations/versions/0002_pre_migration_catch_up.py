"""What a database made before migrations may lack: the base's tables and columns added over the years.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

tools/schema.py stamps such a database at 0001 after checking that every column it lacks is nullable or has a
server default (staff_users.role: its staff become agents, least privilege; staff_users.avatar_url,
products.product_url, products.image_url: empty). This revision adds those tables and columns, and the
append-only triggers to an audit log made without them. A database the base revision made has them all: nothing
to do. (This replaces the start-up code that used to patch tables in place.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import CreateIndex, CreateTable

from tools.schema import base_revision, missing_columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if op.get_context().as_sql:
        return  # a script from nothing to head: the base made everything
    bind = op.get_bind()
    base = base_revision().base_schema()
    present = set(sa.inspect(bind).get_table_names())
    for table in base.sorted_tables:
        if table.name not in present:
            op.execute(CreateTable(table))
            for index in table.indexes:
                op.execute(CreateIndex(index))
    for table_name, column_name in missing_columns(bind, base):
        column = base.tables[table_name].c[column_name]
        default = column.server_default.arg if column.server_default is not None else None  # type: ignore[attr-defined]
        op.add_column(table_name, sa.Column(column.name, column.type, nullable=column.nullable, server_default=default))
    base_revision().make_audit_log_append_only(bind.dialect.name)


def downgrade() -> None:
    pass  # what it added belongs to the base schema
