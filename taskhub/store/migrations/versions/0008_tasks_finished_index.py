"""An index on ``tasks.finished_at``: ``/metrics`` reads the tasks finished since its last
scrape (wait and run time histograms, retries) in that order, a page at a time.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_finished", "tasks", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_finished", table_name="tasks")
