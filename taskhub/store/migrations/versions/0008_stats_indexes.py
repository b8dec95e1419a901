"""Indexes for the dashboard's overview and ops pages (:mod:`taskhub.store.stats`), all
partial, so a running task's heartbeats and progress never write to them:

- ``ix_tasks_finished`` (workspace, status, finished_at, task_name; finished rows): throughput
  per hour, counts per task type (index-only), run-time percentiles and failure groups, each
  bounded by its time window;
- ``ix_tasks_waiting`` (workspace, queue, dispatched_at, scheduled_for; pending, published,
  unblocked rows): each queue's waiting tasks and the oldest of them;
- ``ix_tasks_failed_error`` (workspace, error_type, created_at; failed rows): how many failed
  with an exception ("retry all of these"), and the history's ``?status=failed&error_type=``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WAITING = "status = 'pending' AND dispatched_at IS NOT NULL AND blocked = {false}"


def _where(postgres: str, sqlite: str | None = None) -> dict[str, Any]:
    return {"postgresql_where": sa.text(postgres), "sqlite_where": sa.text(sqlite or postgres)}


def upgrade() -> None:
    op.create_index(
        "ix_tasks_finished",
        "tasks",
        ["workspace_id", "status", "finished_at", "task_name"],
        **_where("finished_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tasks_waiting",
        "tasks",
        ["workspace_id", "queue", "dispatched_at", "scheduled_for"],
        **_where(WAITING.format(false="false"), WAITING.format(false="0")),
    )
    op.create_index(
        "ix_tasks_failed_error",
        "tasks",
        ["workspace_id", "error_type", "created_at"],
        **_where("status = 'failed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_failed_error", table_name="tasks")
    op.drop_index("ix_tasks_waiting", table_name="tasks")
    op.drop_index("ix_tasks_finished", table_name="tasks")
