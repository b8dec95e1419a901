"""Indexes for the dashboard's overview and ops pages (:mod:`taskhub.store.stats`).

``ix_tasks_finished`` (workspace, status, finished_at; finished rows only) bounds throughput,
run-time percentiles and failure groups by their time window; ``ix_tasks_waiting`` (workspace,
queue, dispatched_at; pending rows only) finds each queue's oldest waiting task. Both are
partial, so a running task's heartbeats and progress do not write to them.

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

FINISHED = sa.text("finished_at IS NOT NULL")
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_tasks_finished",
        "tasks",
        ["workspace_id", "status", "finished_at"],
        postgresql_where=FINISHED,
        sqlite_where=FINISHED,
    )
    op.create_index(
        "ix_tasks_waiting",
        "tasks",
        ["workspace_id", "queue", "dispatched_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_waiting", table_name="tasks")
    op.drop_index("ix_tasks_finished", table_name="tasks")
