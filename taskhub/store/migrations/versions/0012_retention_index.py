"""Retention: the indexes pruning reads by. The oldest finished tasks, a batch at a time, come
from 0011's ``ix_tasks_finished_at (finished_at, id)``; ``trigger_deliveries (task_id)`` and
``webhook_deliveries (notification_id)`` serve the foreign keys a deleted task's rows are found
by (without them, every deleted task or notification scanned the whole table).

On Postgres the indexes are built ``CONCURRENTLY``: a large ``tasks`` table keeps taking
writes while they build.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_trigger_deliveries_task", "trigger_deliveries", ["task_id"]),
    ("ix_webhook_deliveries_notification", "webhook_deliveries", ["notification_id"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns)
        return
    with op.get_context().autocommit_block():
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns, postgresql_concurrently=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
