"""Indexes for the history's filters at a million records: by origin (a schedule's or a
trigger's runs) and, on Postgres, a trigram index for the case-insensitive name search
(``ILIKE '%text%'``, which no B-tree serves). Failures by exception type use 0008's
``ix_tasks_failed_error``.

The origin index is partial (only rows that have an origin). The trigram index needs the ``pg_trgm``
extension (in Postgres' contrib, trusted since Postgres 13: the database owner may create it);
SQLite has neither, and scans its names as before. Downgrading drops the indexes, not the
extension.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_workspace_origin_created",
        "tasks",
        ["workspace_id", "origin", "created_at"],
        postgresql_where=sa.text("origin IS NOT NULL"),
        sqlite_where=sa.text("origin IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_tasks_name_trgm",
            "tasks",
            ["name"],
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_tasks_name_trgm", table_name="tasks")
    op.drop_index("ix_tasks_workspace_origin_created", table_name="tasks")
