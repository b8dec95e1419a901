"""Attempts count within a run: ``task_attempts`` gains ``run``, keyed by (task_id, run, attempt).

A person's retry of a failed or cancelled task starts a new run with a fresh attempt budget
(``tasks.attempt`` goes back to 0), so attempt numbers repeat across runs. Rows from before
this migration belong to run 1 and keep their numbers (then counted across runs).

Downgrading numbers each task's attempts 1, 2, ... again across its runs, in (run, attempt)
order, as the old key needs.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PK = "task_attempts_pkey"  # Postgres's name for the key 0001 created; SQLite has none


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("task_attempts", recreate="always" if sqlite else "auto") as batch:
        # on SQLite the table is copied: its key columns must be the new key's, flagged
        run = sa.Column("run", sa.Integer(), server_default="1", nullable=False, primary_key=sqlite)
        batch.add_column(run)
        if not sqlite:
            batch.drop_constraint(PK, type_="primary")
        batch.create_primary_key(PK, ["task_id", "run", "attempt"])


def downgrade() -> None:
    _renumber_across_runs()
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("task_attempts", recreate="always" if sqlite else "auto") as batch:
        if not sqlite:
            batch.drop_constraint(PK, type_="primary")
        batch.drop_column("run")
        batch.create_primary_key(PK, ["task_id", "attempt"])


def _renumber_across_runs() -> None:
    """Attempts 1, 2, ... per task over all its runs: set negated first (no clash with numbers
    still in place, whatever order rows are updated in), then made positive."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT task_id, run, attempt FROM task_attempts ORDER BY task_id, run, attempt")
    ).all()
    numbers: dict[str, int] = {}
    changes = []
    for task_id, run, attempt in rows:
        numbers[task_id] = numbers.get(task_id, 0) + 1
        changes.append({"task_id": task_id, "run": run, "attempt": attempt, "n": numbers[task_id]})
    if changes:
        bind.execute(
            sa.text(
                "UPDATE task_attempts SET attempt = -:n"
                " WHERE task_id = :task_id AND run = :run AND attempt = :attempt"
            ),
            changes,
        )
    bind.execute(sa.text("UPDATE task_attempts SET attempt = -attempt WHERE attempt < 0"))
