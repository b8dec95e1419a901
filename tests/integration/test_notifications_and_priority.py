"""Notifications reach callbacks once per outcome; priorities decide what runs next."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from taskhub import Settings, Status, TaskHub

from ..conftest import make_settings
from ..support import Worker, running_worker, wait_for, wait_for_status


def test_callbacks_hear_each_outcome_exactly_once(
    hub: TaskHub, worker: Worker, scratch: Path
) -> None:
    log = scratch / "notified.log"
    ok = hub.submit("tests.notified", {"notify_log": str(log)}, name="Good job")
    bad = hub.submit("tests.notified", {"notify_log": str(log), "fail": True}, name="Bad job")
    wait_for_status(hub, ok.id, Status.COMPLETED)
    wait_for_status(hub, bad.id, Status.FAILED)

    lines = wait_for(
        lambda: (
            log.exists()
            and len(log.read_text().splitlines()) >= 2
            and sorted(log.read_text().splitlines())
        ),
        what="two callbacks",
    )
    assert lines == ["completed: Completed: Good job", "failed: Failed: Bad job"]
    notes = {n.task_id: n for n in hub.notifications()}
    assert notes[bad.id].description.startswith("RuntimeError: disk full")
    assert len(hub.notifications()) == 2


@pytest.mark.redis
def test_a_high_priority_task_runs_before_queued_low_ones(
    settings: Settings, scratch: Path
) -> None:
    queue = make_settings(
        settings.home,
        database_url=settings.database_url,
        default_queue=f"prio-{uuid.uuid4().hex[:8]}",
    )
    hub = TaskHub(queue, workspace=f"test-{uuid.uuid4().hex[:8]}")
    log, gate, started = scratch / "order.log", scratch / "gate", scratch / "started"

    with running_worker(queue, concurrency=1, name="prio"):
        busy = hub.submit("tests.block", {"gate": str(gate), "started": str(started)})
        wait_for(started.exists, what="the one worker slot to be busy")
        for n in range(10):
            hub.submit("tests.log", {"path": str(log), "label": f"low-{n}"}, priority=0)
        hub.submit("tests.log", {"path": str(log), "label": "high"}, priority=9)
        gate.touch()
        wait_for_status(hub, busy.id, Status.COMPLETED)
        wait_for(
            lambda: log.exists() and len(log.read_text().split()) == 11, what="all eleven tasks"
        )

    order = log.read_text().split()
    assert order[0] == "high"
    assert order[1:] == [f"low-{n}" for n in range(10)]
