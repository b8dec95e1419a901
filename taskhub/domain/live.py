"""Following changes as they happen (pure, no I/O): which polled items are new to a follower.

Readers poll :meth:`taskhub.store.queries.TaskQueries.changed_since` (task changes, by
``updated_at``) and :meth:`taskhub.store.notifications.NotificationStore.created_since`
(notifications, by ``created_at``). Both times are set before their transaction commits, so an
item can become visible with a timestamp a little older than one already seen (serial ids are
no better: they are drawn before commit too). Each poll therefore looks back :data:`OVERLAP`
and drops what it sent.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from taskhub.domain.records import Notification, TaskChange

OVERLAP = timedelta(seconds=2)
BATCH = 1000  # items read per poll

Item = TypeVar("Item")
Stamp = Callable[[Item], tuple[Hashable, datetime]]  # an item's key and its time


class Feed(Generic[Item]):
    """Items after ``since`` (exclusive), each ``(key, time)`` once."""

    def __init__(self, since: datetime, stamp: Stamp[Item]) -> None:
        self.floor = since  # nothing at or before this is ever sent
        self.since = since  # the newest item seen
        self.stamp = stamp
        self.sent: dict[Hashable, datetime] = {}
        self.catching_up = False

    def query_from(self) -> datetime:
        """Where the next poll starts: a little back, unless a full batch is still draining."""
        return self.since if self.catching_up else max(self.floor, self.since - OVERLAP)

    def fresh(self, batch: list[Item]) -> list[Item]:
        """The items of ``batch`` (oldest first, as polled) not sent before."""
        new = []
        for item in batch:
            key, at = self.stamp(item)
            if at > self.floor and self.sent.get(key) != at:
                self.sent[key] = at
                new.append(item)
        if batch:
            self.since = max(self.since, self.stamp(batch[-1])[1])
        self.catching_up = len(batch) >= BATCH
        horizon = self.since - OVERLAP
        self.sent = {key: at for key, at in self.sent.items() if at >= horizon}
        return new


class ChangeFeed(Feed[TaskChange]):
    """Task changes after ``since``, each ``(task, updated_at)`` once."""

    def __init__(self, since: datetime) -> None:
        super().__init__(since, lambda change: (change.id, change.updated_at))


class NotificationFeed(Feed[Notification]):
    """Notifications created after ``since``, each once."""

    def __init__(self, since: datetime) -> None:
        super().__init__(since, lambda note: (note.id, note.created_at))
