"""Code-defined schedules parsed from Celery's ``beat_schedule`` style, and beat's scheduler
class wired to its hooks. Pure: no database, no broker."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from celery.schedules import crontab

from taskhub.domain.code_schedules import cron_of, parse_beat_schedule
from taskhub.domain.errors import ValidationError
from taskhub.domain.registry import REGISTRY
from taskhub.domain.schedules import parse_cron
from taskhub.domain.settings import Settings
from taskhub.domain.submissions import check_input
from taskhub.worker.app import create_celery
from taskhub.worker.beat import BeatHooks, DatabaseScheduler, register


def test_the_repos_beat_schedule_parses_and_names_known_tasks_with_fitting_input() -> None:
    import workers  # noqa: F401 - registers the example tasks

    module = importlib.import_module("beat_schedule")
    entries = parse_beat_schedule(module.beat_schedule, "default")
    assert entries, "beat_schedule.py defines at least one example"
    for entry in entries:
        assert entry.workspace == "default"
        parse_cron(entry.spec.cron)
        check_input(entry.spec.input, REGISTRY[entry.spec.task])


def test_a_crontab_and_a_string_give_the_same_cron() -> None:
    assert cron_of(crontab(hour=2, minute=0)) == "0 2 * * *"
    assert cron_of(crontab(minute="*/15", day_of_week="mon-fri")) == "*/15 * * * mon-fri"
    assert cron_of("0 2 * * *") == "0 2 * * *"


def test_an_entry_takes_its_workspace_name_options_and_policies() -> None:
    raw = {
        "nightly": {
            "task": "reports.daily_sales",
            "schedule": crontab(hour=3, minute=30),
            "kwargs": {"region": "EU"},
            "options": {"priority": 8},
            "workspace": "ops",
            "timezone": "Europe/Berlin",
            "overlap_policy": "skip",
        }
    }
    (entry,) = parse_beat_schedule(raw, "default")
    assert (entry.key, entry.workspace, entry.spec.name) == ("nightly", "ops", "nightly")
    assert (entry.spec.cron, entry.spec.timezone) == ("30 3 * * *", "Europe/Berlin")
    assert entry.spec.options == {"priority": 8}
    assert entry.spec.overlap_policy == "skip"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"schedule": "0 2 * * *"}, "nightly.task"),
        ({"task": "t"}, "nightly.schedule"),
        ({"task": "t", "schedule": "0 2 * * *", "color": "red"}, "nightly.color"),
        ({"task": "t", "schedule": "0 2 * * *", "args": [1]}, "nightly.args"),
        ({"task": "t", "schedule": 30.0}, "nightly.schedule"),
    ],
)
def test_a_bad_entry_is_refused_naming_its_field(spec: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_beat_schedule({"nightly": spec}, "default")
    assert raised.value.field == field


def _app() -> object:
    return create_celery(Settings(broker_url="redis://127.0.0.1:1/0"))


def test_the_scheduler_refuses_an_app_without_taskhubs_hooks() -> None:
    with pytest.raises(RuntimeError, match=r"taskhub\.app"):
        DatabaseScheduler(_app())


def test_the_scheduler_syncs_once_then_ticks_each_call_and_sleeps_the_interval() -> None:
    calls: list[str] = []
    app = _app()
    register(app, BeatHooks(lambda: calls.append("tick"), lambda: calls.append("start"), 0.5))
    assert app.conf.beat_scheduler == "taskhub.worker.beat:DatabaseScheduler"  # type: ignore[attr-defined]
    scheduler = DatabaseScheduler(app)
    assert calls == ["start"]
    assert scheduler.tick() == 0.5
    assert scheduler.tick() == 0.5
    assert calls == ["start", "tick", "tick"]
    assert scheduler.schedule == {}


def test_a_failing_tick_or_start_never_stops_beat() -> None:
    def boom() -> None:
        raise RuntimeError("database down")

    app = _app()
    register(app, BeatHooks(boom, boom, 1.0))
    scheduler = DatabaseScheduler(app)
    assert scheduler.tick() == 1.0


def test_a_schedules_runs_are_keyed_by_their_fire_time() -> None:
    from taskhub.domain.schedule_records import Schedule

    fire = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    key = Schedule.idempotency_key(type("S", (), {"id": "abc"})(), fire)  # type: ignore[arg-type]
    assert key == "schedule:abc:2026-01-01T02:00:00+00:00"
