"""Dependencies and pipelines: ``pipelines``, ``task_edges``, and on ``tasks`` the pipeline a
record is a node of, whether it waits for its parents (``blocked``) and whether others wait
for it (``has_dependents``); an index for beat's release of runs held until their due time.

A child's edge to each parent carries what the child does when that parent fails or is
cancelled (``fail``, ``skip``, ``continue``). ``has_dependents`` is set on a parent in the
transaction that adds the edge, so the statement that completes the parent returns it fresh.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("workspace_id", sa.String(36), sa.ForeignKey("workspaces.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pipelines_workspace_created", "pipelines", ["workspace_id", "created_at"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("pipeline_id", sa.String(36)))
        batch.add_column(sa.Column("node", sa.String(100)))
        batch.add_column(
            sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("has_dependents", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key("fk_tasks_pipeline", "pipelines", ["pipeline_id"], ["id"])
    op.create_index("ix_tasks_pipeline", "tasks", ["pipeline_id"])
    op.create_index("ix_tasks_due", "tasks", ["status", "scheduled_for"])
    op.create_table(
        "task_edges",
        sa.Column(
            "child_id",
            sa.String(36),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "parent_id",
            sa.String(36),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("on_failure", sa.String(10), nullable=False),
        sa.CheckConstraint(
            "on_failure IN ('fail', 'skip', 'continue')", name="ck_task_edges_on_failure"
        ),
    )
    op.create_index("ix_task_edges_parent", "task_edges", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_task_edges_parent", table_name="task_edges")
    op.drop_table("task_edges")
    op.drop_index("ix_tasks_due", table_name="tasks")
    op.drop_index("ix_tasks_pipeline", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_constraint("fk_tasks_pipeline", type_="foreignkey")
        batch.drop_column("has_dependents")
        batch.drop_column("blocked")
        batch.drop_column("node")
        batch.drop_column("pipeline_id")
    op.drop_index("ix_pipelines_workspace_created", table_name="pipelines")
    op.drop_table("pipelines")
