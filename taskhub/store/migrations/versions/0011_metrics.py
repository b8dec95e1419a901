"""What ``/metrics`` reads: a partial index on ``tasks (finished_at, id)``, finished rows only
(the tasks finished since its last scrape, in that order, a page at a time: wait and run time
histograms, retries; retention reads the oldest by it too), and
``sweep_counts``, what the recovery sweep (in beat's process) recovered, by kind, since the
database was made (so the API process reports it).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_finished_at",
        "tasks",
        ["finished_at", "id"],
        postgresql_where=sa.text("finished_at IS NOT NULL"),
        sqlite_where=sa.text("finished_at IS NOT NULL"),
    )
    op.create_table(
        "sweep_counts",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sweep_counts")
    op.drop_index("ix_tasks_finished_at", table_name="tasks")
