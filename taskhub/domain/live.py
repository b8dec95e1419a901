"""Following changes as they happen (pure, no I/O): which polled changes are new to a follower.

Readers poll :meth:`taskhub.store.queries.TaskQueries.changed_since`. A record's ``updated_at``
is set before its transaction commits, so a change can become visible with a timestamp a little
older than one already seen. Each poll therefore looks back :data:`OVERLAP` and drops what it
sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from taskhub.domain.records import TaskChange

OVERLAP = timedelta(seconds=2)
BATCH = 1000  # changes read per poll


class ChangeFeed:
    """Changes after ``since`` (exclusive), each ``(task, updated_at)`` once."""

    def __init__(self, since: datetime) -> None:
        self.floor = since  # nothing at or before this is ever sent
        self.since = since  # the newest change seen
        self.sent: dict[str, datetime] = {}
        self.catching_up = False

    def query_from(self) -> datetime:
        """Where the next poll starts: a little back, unless a full batch is still draining."""
        return self.since if self.catching_up else max(self.floor, self.since - OVERLAP)

    def fresh(self, batch: list[TaskChange]) -> list[TaskChange]:
        """The changes of ``batch`` (oldest first, as polled) not sent before."""
        new = [
            change
            for change in batch
            if change.updated_at > self.floor and self.sent.get(change.id) != change.updated_at
        ]
        for change in new:
            self.sent[change.id] = change.updated_at
        if batch:
            self.since = max(self.since, batch[-1].updated_at)
        self.catching_up = len(batch) >= BATCH
        horizon = self.since - OVERLAP
        self.sent = {ident: at for ident, at in self.sent.items() if at >= horizon}
        return new
