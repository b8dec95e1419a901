"""Schedules at the service level, on the real database, with a clock the test moves: what is
checked at create, plan gating, missed-run and overlap policies, the trail, code sync."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from taskhub import Settings, TaskHub
from taskhub.domain.clock import now
from taskhub.domain.code_schedules import parse_beat_schedule
from taskhub.domain.errors import ConflictError, NotFoundError, PlanError, ValidationError
from taskhub.domain.schedule_policies import NOT_ON_TIME, ONLY_LATEST
from taskhub.domain.schedule_records import ScheduleSpec
from taskhub.domain.states import Status, TaskType
from taskhub.services.firing import NOT_IN_PLAN
from taskhub.services.schedules import Schedules
from taskhub.store import tables
from taskhub.store.schedules import ScheduleStore

from .schedule_support import minute, on_clock, runs, set_status, workspace

EVERY_MINUTE = "* * * * *"


@pytest.fixture
def idle_hub(idle_settings: Settings) -> Iterator[TaskHub]:
    """Runs go to a queue no worker consumes: they stay pending (waiting)."""
    hub = TaskHub(idle_settings, workspace=f"test-{uuid.uuid4().hex[:12]}")
    yield hub
    hub.close()


def _spec(**changes: object) -> ScheduleSpec:
    values: dict[str, object] = {"name": "Nightly echo", "task": "tests.echo", "cron": EVERY_MINUTE}
    values.update(changes)
    return ScheduleSpec(**values)  # type: ignore[arg-type]


def test_a_due_schedule_fires_once_as_a_scheduled_record_of_its_fire_time(
    idle_hub: TaskHub,
) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    clock = [t0]
    service = on_clock(idle_hub, clock)
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(input={"value": 7}, options={"priority": 8, "retries": 1}))
        assert s.next_run_at == t0 + timedelta(minutes=1)
        fire = s.next_run_at
        report = service.tick(fire + timedelta(seconds=5))
        assert (report.fired, report.lost) == (1, 0)
        assert service.tick(fire + timedelta(seconds=6)).fired == 0  # nothing due any more
        (run,) = runs(idle_hub, s)
        assert run.type is TaskType.SCHEDULED
        assert (run.origin, run.name, run.input) == (
            f"schedule:{s.id}",
            "Nightly echo",
            {"value": 7},
        )
        assert run.scheduled_for == fire
        assert run.idempotency_key == f"schedule:{s.id}:{fire.isoformat()}"
        assert (run.priority, run.options.max_retries) == (8, 1)
        after = service.get(ws.id, s.id)
        assert (after.last_run_at, after.last_task_id) == (fire, run.id)
        assert after.next_run_at == fire + timedelta(minutes=1)
        assert [(e.outcome, e.task_id) for e in after.trail] == [("fired", run.id)]


def test_create_checks_every_field_and_names_it(idle_hub: TaskHub) -> None:
    with workspace(idle_hub) as ws:
        for changes, field in [
            ({"cron": "61 * * * *"}, "cron"),
            ({"timezone": "Mars/Olympus"}, "timezone"),
            ({"task": "tests.nope"}, "task"),
            ({"options": {"priority": 12}}, "options.priority"),
            ({"options": {"colour": 1}}, "options.colour"),
            ({"missed_policy": "sometimes"}, "missed_policy"),
            ({"overlap_policy": "maybe"}, "overlap_policy"),
            ({"input": {"nope": 1}}, "input.nope"),
            ({"name": " "}, "name"),
        ]:
            with pytest.raises(ValidationError) as raised:
                idle_hub.schedules.create(ws, _spec(**changes))
            assert raised.value.field == field, changes
        idle_hub.schedules.create(ws, _spec(cron="@daily"))
        with pytest.raises(ConflictError):
            idle_hub.schedules.create(ws, _spec())
        assert idle_hub.schedules.page(ws.id)[0][0].cron == "0 0 * * *"  # normalized


def test_a_starter_workspace_is_refused(idle_hub: TaskHub) -> None:
    with workspace(idle_hub, plan="growth") as growth, workspace(idle_hub, "starter") as starter:
        with pytest.raises(PlanError):
            idle_hub.schedules.create(starter, _spec())
        s = idle_hub.schedules.create(growth, _spec())
        downgraded = type(starter)(growth.id, growth.name, "starter", growth.created_at)
        for refused in (
            lambda: idle_hub.schedules.update(downgraded, s.id, {"cron": "0 * * * *"}),
            lambda: idle_hub.schedules.resume(downgraded, s.id),
            lambda: idle_hub.schedules.run_now(downgraded, s.id),
        ):
            with pytest.raises(PlanError):
                refused()


def test_one_tick_fires_batch_after_batch_until_nothing_is_due(idle_hub: TaskHub) -> None:
    """Beat's tick does not stop at one batch (it would leave the rest late, and run_once
    would then drop their fire times): with batches of 2, five due schedules fire at once."""
    t0 = minute(now()) - timedelta(minutes=30)
    service = Schedules(
        idle_hub.settings, ScheduleStore(idle_hub.store), idle_hub.tasks, clock=lambda: t0, batch=2
    )
    with workspace(idle_hub) as ws:
        made = [service.create(ws, _spec(name=f"Batch {n}")) for n in range(5)]
        report = service.tick(t0 + timedelta(minutes=1, seconds=5))
        assert (report.fired, report.lost, report.errors) == (5, 0, [])
        assert [len(runs(idle_hub, s)) for s in made] == [1] * 5


def test_a_schedule_of_a_workspace_downgraded_to_starter_skips_its_firings(
    idle_hub: TaskHub,
) -> None:
    """Plans gate the scheduled type when it fires, too (the plan may change after creation;
    a code-defined schedule is never created through a plan check)."""
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec())
        with idle_hub.store.engine.begin() as c:
            c.execute(
                update(tables.workspaces)
                .where(tables.workspaces.c.id == ws.id)
                .values(plan="starter")
            )
        report = service.tick(s.next_run_at + timedelta(seconds=5))
        assert (report.fired, report.skipped) == (0, 1)
        assert runs(idle_hub, s) == []
        (entry,) = service.get(ws.id, s.id).trail
        assert (entry.outcome, entry.reason) == ("skipped", NOT_IN_PLAN)
        assert service.get(ws.id, s.id).next_run_at == s.next_run_at + timedelta(minutes=1)


def test_pause_resume_update_run_now_and_delete(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    clock = [t0]
    service = on_clock(idle_hub, clock)
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec())
        assert not service.pause(ws.id, s.id).enabled
        assert service.tick(t0 + timedelta(minutes=5)).fired == 0
        clock[0] = t0 + timedelta(minutes=5, seconds=10)
        resumed = service.resume(ws, s.id)  # none of the times missed while paused
        assert resumed.enabled and resumed.next_run_at == t0 + timedelta(minutes=6)
        changed = service.update(ws, s.id, {"cron": "0 3 * * *", "name": "Three"})
        assert (changed.cron, changed.name) == ("0 3 * * *", "Three")
        assert changed.next_run_at.hour == 3 and changed.next_run_at > clock[0]
        with pytest.raises(ValidationError) as raised:
            service.update(ws, s.id, {"colour": "red"})
        assert raised.value.field == "colour"
        record = service.run_now(ws, s.id)
        assert (record.type, record.origin, record.name) == (TaskType.SCHEDULED, s.origin, "Three")
        assert service.get(ws.id, s.id).trail[-1].reason == "run now"
        service.delete(ws.id, s.id)
        with pytest.raises(NotFoundError):
            service.get(ws.id, s.id)


def test_missed_runs_run_once_fires_only_the_latest(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(missed_policy="run_once"))
        report = service.tick(t0 + timedelta(minutes=5, seconds=5))
        assert (report.fired, report.skipped) == (1, 4)
        (run,) = runs(idle_hub, s)
        assert run.scheduled_for == t0 + timedelta(minutes=5)
        trail = service.get(ws.id, s.id).trail
        assert [e.reason for e in trail if e.outcome == "skipped"] == [ONLY_LATEST] * 4


def test_missed_runs_skip_fires_nothing_late(idle_hub: TaskHub) -> None:
    t0 = minute(now()).replace(minute=0) - timedelta(hours=3)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(cron="0 * * * *", missed_policy="skip"))
        report = service.tick(t0 + timedelta(hours=1, minutes=10))
        assert (report.fired, report.skipped) == (0, 1)
        assert runs(idle_hub, s) == []
        after = service.get(ws.id, s.id)
        assert after.trail[-1].reason == NOT_ON_TIME
        assert after.next_run_at == t0 + timedelta(hours=2)


def test_missed_runs_run_all_fires_each_oldest_first(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(missed_policy="run_all"))
        assert service.tick(t0 + timedelta(minutes=4, seconds=5)).fired == 4
        fires = [r.scheduled_for for r in runs(idle_hub, s)]
        assert fires == [t0 + timedelta(minutes=n) for n in (1, 2, 3, 4)]


def test_overlap_allow_fires_while_a_run_waits(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(overlap_policy="allow"))
        service.tick(t0 + timedelta(minutes=1, seconds=5))
        service.tick(t0 + timedelta(minutes=2, seconds=5))
        assert len(runs(idle_hub, s)) == 2


def test_overlap_skip_skips_while_the_previous_run_waits_or_runs(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(overlap_policy="skip"))
        service.tick(t0 + timedelta(minutes=1, seconds=5))
        assert service.tick(t0 + timedelta(minutes=2, seconds=5)).skipped == 1
        (first,) = runs(idle_hub, s)
        set_status(idle_hub, first.id, Status.IN_PROGRESS)
        assert service.tick(t0 + timedelta(minutes=3, seconds=5)).skipped == 1
        reasons = [e.reason for e in service.get(ws.id, s.id).trail if e.outcome == "skipped"]
        assert reasons == ["previous run still waiting to start", "previous run still active"]
        set_status(idle_hub, first.id, Status.COMPLETED)
        assert service.tick(t0 + timedelta(minutes=4, seconds=5)).fired == 1


def test_overlap_cancel_previous_cancels_the_earlier_run(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(overlap_policy="cancel_previous"))
        service.tick(t0 + timedelta(minutes=1, seconds=5))
        service.tick(t0 + timedelta(minutes=2, seconds=5))
        first, second = runs(idle_hub, s)
        assert (first.status, second.status) == (Status.CANCELLED, Status.PENDING)


def test_overlap_queue_one_holds_one_run_until_the_active_one_ends(idle_hub: TaskHub) -> None:
    t0 = minute(now()) - timedelta(minutes=30)
    service = on_clock(idle_hub, [t0])
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec(overlap_policy="queue_one"))
        service.tick(t0 + timedelta(minutes=1, seconds=5))
        (first,) = runs(idle_hub, s)
        set_status(idle_hub, first.id, Status.IN_PROGRESS)
        service.tick(t0 + timedelta(minutes=2, seconds=5))  # queued: waits for the active one
        assert service.get(ws.id, s.id).queued_fire_at == t0 + timedelta(minutes=2)
        assert service.tick(t0 + timedelta(minutes=3, seconds=5)).skipped == 1  # one waits
        assert len(runs(idle_hub, s)) == 1
        set_status(idle_hub, first.id, Status.COMPLETED)
        assert service.tick(t0 + timedelta(minutes=3, seconds=10)).fired == 1
        _, released = runs(idle_hub, s)
        assert released.scheduled_for == t0 + timedelta(minutes=2)
        assert service.get(ws.id, s.id).queued_fire_at is None


def test_two_ticks_deciding_the_same_fire_time_record_it_once(idle_hub: TaskHub) -> None:
    """Two beats read the same due schedule; both submit (one record: the key), one wins."""
    t0 = minute(now()) - timedelta(minutes=30)
    clock = [t0]
    service = on_clock(idle_hub, clock)
    with workspace(idle_hub) as ws:
        s = service.create(ws, _spec())
        store = service._store  # a second beat, reading before the first one writes
        seen = store.due(t0 + timedelta(minutes=1, seconds=5))
        mine = [x for x in seen if x.id == s.id]
        assert service.tick(t0 + timedelta(minutes=1, seconds=5)).fired == 1
        _, _, won = service._firing._fire(mine[0], t0 + timedelta(minutes=1, seconds=5))
        assert not won
        assert len(runs(idle_hub, s)) == 1
        assert len(service.get(ws.id, s.id).trail) == 1


def test_code_schedules_sync_once_update_in_place_and_are_disabled_when_removed(
    idle_hub: TaskHub,
) -> None:
    name = f"code-{uuid.uuid4().hex[:8]}"
    raw = {"hourly": {"task": "tests.echo", "schedule": "0 * * * *", "kwargs": {"value": 1}}}
    service = idle_hub.schedules
    assert service.sync_code(parse_beat_schedule(raw, name))["created"] == 1
    assert service.sync_code(parse_beat_schedule(raw, name))["unchanged"] == 1
    ws = idle_hub.accounts.workspace_named(name)
    (s,) = service.page(ws.id)[0]
    assert (s.source, s.code_key, s.name, s.enabled) == ("code", "hourly", "hourly", True)
    raw["hourly"]["schedule"] = "30 * * * *"
    assert service.sync_code(parse_beat_schedule(raw, name))["updated"] == 1
    (again,) = service.page(ws.id)[0]
    assert (again.id, again.cron) == (s.id, "30 * * * *")
    api = service.create(type(ws)(ws.id, ws.name, "growth", ws.created_at), _spec())
    assert {x.source for x in service.page(ws.id)[0]} == {"api", "code"}  # one list, both
    service.sync_code([])
    listed = {x.id: x.enabled for x in service.page(ws.id)[0]}
    assert listed == {s.id: False, api.id: True}
    service.delete(ws.id, s.id)
    service.delete(ws.id, api.id)


def test_the_hub_syncs_beat_schedule_py_into_its_workspace_once(idle_hub: TaskHub) -> None:
    idle_hub.sync_code_schedules()
    idle_hub.sync_code_schedules()
    items, total = idle_hub.schedules.page(idle_hub.workspace_id)
    assert total == 1
    (s,) = items
    assert (s.code_key, s.task_name, s.name) == (
        "daily-sales-us",
        "reports.daily_sales",
        "Daily Sales Report – US Region",
    )
    idle_hub.schedules.delete(idle_hub.workspace_id, s.id)
