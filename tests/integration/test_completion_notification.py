"""A worker's completion writes its notification in one prepared statement (on Postgres); the
state machine's transitions write theirs with a Core insert. Both come from one builder,
:func:`taskhub.store.notifications.notification_row`: the rows they write must be the very row
it makes of the completed record."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import select

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.records import NewNotification
from taskhub.domain.states import Outcome, Status
from taskhub.store import execution, notifications
from taskhub.store import tables as m

from ..conftest import own_queue

NOTE = NewNotification(Outcome.COMPLETED, "Daily Sales Report – US Region", "done, 3 rows")


def _completed_by(hub: TaskHub, complete: Any) -> None:
    record = hub.submit("tests.echo", {"value": 1})
    claimed = hub.lifecycle.claim(record.id, "host-a", os.getpid())
    assert claimed is not None
    assert complete(hub.store, claimed, now(), NOTE, None)

    done = hub.get(record.id)
    assert done.status is Status.COMPLETED and done.finished_at is not None
    expected = notifications.notification_row(
        done, notifications.note_values(NOTE), done.finished_at
    )
    N = m.notifications
    with hub.store.read() as c:
        [row] = [r._mapping for r in c.execute(select(N).where(N.c.task_id == record.id))]
    assert {name: row[name] for name in expected} == expected
    assert set(row) - set(expected) == notifications.LEFT_OUT and row["read_at"] is None


def test_the_prepared_completion_writes_the_row_the_notification_builder_makes(
    settings: Settings,
) -> None:
    hub, _ = own_queue(settings)
    try:
        _completed_by(hub, execution.complete)  # the prepared statement, on Postgres
        _completed_by(hub, execution._complete_portably)  # Store.transition's Core insert
    finally:
        hub.close()
