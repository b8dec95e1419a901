"""When each pending webhook delivery is due, so the sweep can queue a lost one again.

A delivery's message can be lost (the broker was down when it was queued, the worker died with
a retry held back). ``next_attempt_at`` says when the next attempt should happen; a pending
delivery overdue by more than ``TASKHUB_WEBHOOK_RECOVER_AFTER_S`` is queued again. Pending rows
from before this migration are due from their creation.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE webhook_deliveries SET next_attempt_at = created_at WHERE status = 'pending'"
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("next_attempt_at")
