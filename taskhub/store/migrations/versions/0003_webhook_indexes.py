"""Indexes for webhook triggers and subscriptions, looked up by workspace.

The subscription index keeps the check "does this workspace have subscriptions?", made after
each task outcome, one indexed lookup.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_triggers_workspace_created", "triggers", ["workspace_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_webhook_subscriptions_workspace",
        "webhook_subscriptions",
        ["workspace_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_subscriptions_workspace", table_name="webhook_subscriptions")
    op.drop_index("ix_triggers_workspace_created", table_name="triggers")
