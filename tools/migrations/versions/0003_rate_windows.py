"""The servers' shared rate limits: one row per limited client, so that a limit holds across every server process
and replica sharing the database (server/rate_limits.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "rate_windows",
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_rate_windows_expires_at", "rate_windows", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_windows_expires_at", table_name="rate_windows")
    op.drop_table("rate_windows")
