"""Retention: which finished tasks are old enough to delete, and what a prune removed.

The rule (one place; :mod:`taskhub.store.retention` turns it into SQL). A task is *prunable*
when it is final (completed, failed, cancelled) and its ``finished_at`` is before the cutoff,
and nothing still needs it:

- a parent (``depends_on``) stays while one of its children is not prunable itself: a blocked
  or running child may still read it (``ctx.parent_output``), and a recently finished child
  may be retried, which reruns it after its parents;
- a pipeline's nodes go together: none is pruned until every node of the pipeline is
  prunable, then the pipeline's record goes with its last nodes.

Retention is global (the operator's setting, the same for every workspace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SECONDS_PER_DAY = 86_400
MAX_BATCH_SIZE = 10_000  # ids per IN (...): well under SQLite's 32,766 variables
# the rows a prune removes, by table, in the order a report lists them
TABLES = (
    "tasks",
    "task_steps",
    "task_attempts",
    "task_outputs",
    "notifications",
    "webhook_deliveries",
    "task_edges",
    "pipelines",
)


def cutoff(at: datetime, days: float) -> datetime:
    """Tasks that finished before this are past ``days`` of retention at ``at``."""
    return at - timedelta(seconds=days * SECONDS_PER_DAY)


@dataclass(frozen=True)
class Cursor:
    """Where the next batch starts: after this task in (``finished_at``, ``id``) order."""

    finished_at: datetime
    task_id: str


@dataclass(frozen=True)
class PrunedBatch:
    """One batch, one transaction: the rows it deleted by table, and where it stopped."""

    rows: Mapping[str, int]
    last: Cursor | None  # None: it found nothing

    @property
    def tasks(self) -> int:
        return self.rows.get("tasks", 0)


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (``dry_run``: would remove), in how many batches and how long."""

    cutoff: datetime
    rows: Mapping[str, int] = field(default_factory=dict)
    batches: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def tasks(self) -> int:
        return self.rows.get("tasks", 0)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def plus(self, batch: PrunedBatch) -> PruneReport:
        rows = {name: self.rows.get(name, 0) + batch.rows.get(name, 0) for name in TABLES}
        return PruneReport(self.cutoff, rows, self.batches + 1, self.seconds, self.dry_run)
