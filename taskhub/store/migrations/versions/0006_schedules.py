"""Database-backed schedules: the ``schedules`` table, and ``tasks.scheduled_for``.

A schedule fires a task on a cron expression in a time zone; beat's ``DatabaseScheduler``
reads the due ones every second. ``source`` says who made it: ``api`` (the service) or
``code`` (``beat_schedule.py``, synced when beat starts, keyed by ``code_key``). A scheduled
run's record carries the fire time it belongs to in ``tasks.scheduled_for``.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("workspace_id", sa.String(36), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("task_name", sa.String(200), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("missed_policy", sa.String(20), nullable=False),
        sa.Column("overlap_policy", sa.String(20), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_fire_at", sa.DateTime(timezone=True)),
        sa.Column("last_run_at", sa.DateTime(timezone=True)),
        sa.Column("last_task_id", sa.String(36)),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("code_key", sa.String(200)),
        sa.Column("trail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('api', 'code')", name="ck_schedules_source"),
        sa.UniqueConstraint("workspace_id", "name", name="uq_schedules_name"),
    )
    op.create_index("ix_schedules_due", "schedules", ["enabled", "next_run_at"])
    op.create_index("ix_schedules_workspace_created", "schedules", ["workspace_id", "created_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("scheduled_for")
    op.drop_index("ix_schedules_workspace_created", table_name="schedules")
    op.drop_index("ix_schedules_due", table_name="schedules")
    op.drop_table("schedules")
