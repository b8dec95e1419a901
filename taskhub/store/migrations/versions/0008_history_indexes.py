"""Indexes for the history's filters at a million records: by origin (a schedule's or a
trigger's runs), by exception type (failures grouped), and, on Postgres, a trigram index for
the case-insensitive name search (``ILIKE '%text%'``, which no B-tree serves).

The first two are partial (only rows that have an origin, only failures), so a task's status
updates do not touch them unless it has one. The trigram index needs the ``pg_trgm``
extension (in Postgres' contrib, trusted since Postgres 13: the database owner may create it);
SQLite has neither, and scans its names as before. Downgrading drops the indexes, not the
extension.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
    op.create_index(
        "ix_tasks_workspace_error_created",
        "tasks",
        ["workspace_id", "error_type", "created_at"],
        postgresql_where=sa.text("error_type IS NOT NULL"),
        sqlite_where=sa.text("error_type IS NOT NULL"),
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
    op.drop_index("ix_tasks_workspace_error_created", table_name="tasks")
    op.drop_index("ix_tasks_workspace_origin_created", table_name="tasks")
