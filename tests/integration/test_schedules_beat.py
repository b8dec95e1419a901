"""Real ``celery beat`` processes with the DatabaseScheduler, and a real worker: schedules
fire from the database, changes apply without a restart, two beats never fire twice."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from taskhub import Settings, Status, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.schedule_records import ScheduleSpec
from taskhub.domain.states import TaskType

from ..conftest import own_queue
from ..support import running_worker, wait_for
from .faults.support import Beat
from .schedule_support import due_at, minute, runs, workspace


def _spec(name: str, **changes: object) -> ScheduleSpec:
    values: dict[str, object] = {"name": name, "task": "tests.echo", "cron": "* * * * *"}
    values.update(changes)
    return ScheduleSpec(**values)  # type: ignore[arg-type]


def test_beat_fires_a_due_schedule_once_and_a_worker_runs_it(
    settings: Settings, tmp_path: Path
) -> None:
    hub, queue = own_queue(settings)
    beat = Beat(queue, tmp_path)
    try:
        with running_worker(queue, name="sched"), workspace(hub) as ws:
            s = hub.schedules.create(ws, _spec("Every minute", input={"value": "hi"}))
            due_at(hub, s, minute(now()))
            fired = wait_for(lambda: runs(hub, s), timeout_s=20, what="the schedule to fire")
            record = hub.tasks.wait(ws.id, fired[0].id, timeout_s=20)
            assert record.status is Status.COMPLETED
            assert (record.type, record.origin, record.name) == (
                TaskType.SCHEDULED,
                f"schedule:{s.id}",
                "Every minute",
            )
            entry = next(e for e in hub.schedules.get(ws.id, s.id).trail if e.outcome == "fired")
            assert record.scheduled_for == entry.fire_time
            assert record.scheduled_for is not None and record.scheduled_for.second == 0
            assert hub.tasks.output(ws.id, record.id, "result").content == "hi"
    finally:
        beat.stop()
        hub.close()


def test_two_beats_at_once_never_fire_a_schedule_twice(settings: Settings, tmp_path: Path) -> None:
    hub, queue = own_queue(settings)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    beats = [Beat(queue, tmp_path / "a"), Beat(queue, tmp_path / "b")]
    try:
        with workspace(hub) as ws:
            made = [
                hub.schedules.create(ws, _spec(f"s{n}", missed_policy="run_all")) for n in range(5)
            ]
            start = minute(now()) - timedelta(minutes=3)  # 4 fire times each, both beats
            for s in made:
                due_at(hub, s, start)

            def all_fired() -> bool:
                return all(len(runs(hub, s)) >= 4 for s in made)

            wait_for(all_fired, timeout_s=30, what="every fire time to fire")
            time.sleep(3)  # a few more ticks of both beats
            for s in made:
                fires = [r.scheduled_for for r in runs(hub, s)]
                assert len(fires) == len(set(fires)), f"{s.name} fired twice: {fires}"
                trail = [e.fire_time for e in hub.schedules.get(ws.id, s.id).trail]
                assert len(trail) == len(set(trail)), f"{s.name} decided twice: {trail}"
                assert set(fires) == {e for e in trail}
    finally:
        for beat in beats:
            beat.stop()
        hub.close()


def test_created_paused_and_deleted_schedules_apply_without_a_restart(
    settings: Settings, tmp_path: Path, hub: TaskHub
) -> None:
    other, queue = own_queue(settings)
    beat = Beat(queue, tmp_path)
    try:
        with workspace(other) as ws:
            time.sleep(1.5)  # beat is ticking: everything below is made after it started
            paused = other.schedules.create(ws, _spec("paused"))
            deleted = other.schedules.create(ws, _spec("deleted"))
            other.schedules.pause(ws.id, paused.id)
            due_at(other, other.schedules.get(ws.id, paused.id), minute(now()))
            due_at(other, deleted, minute(now()))
            other.schedules.delete(ws.id, deleted.id)
            witness = other.schedules.create(ws, _spec("witness"))
            due_at(other, witness, minute(now()))
            wait_for(lambda: runs(other, witness), timeout_s=20, what="the new schedule to fire")
            time.sleep(1.5)  # one more tick
            assert runs(other, paused) == []
            assert runs(other, deleted) == []
            other.schedules.resume(ws, paused.id)
            due_at(other, other.schedules.get(ws.id, paused.id), minute(now()))
            wait_for(lambda: runs(other, paused), timeout_s=20, what="the resumed one to fire")
    finally:
        beat.stop()
        other.close()
