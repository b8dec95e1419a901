"""A partial index of unread notifications, ``(workspace_id, created_at) WHERE read_at IS
NULL``: the dashboard's bell counts a workspace's unread notifications on every page, which on
the index of all notifications would read every notification already read.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UNREAD = sa.text("read_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["workspace_id", "created_at"],
        postgresql_where=UNREAD,
        sqlite_where=UNREAD,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_unread", table_name="notifications")
