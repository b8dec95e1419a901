"""Pure logic: the state machine, backoff, settings. No services needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskhub.domain.errors import StoreError
from taskhub.domain.records import ErrorInfo, Progress, TaskOptions
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.retries import backoff_s, plan_retry
from taskhub.domain.settings import Settings, display_url
from taskhub.domain.states import FINAL_STATUSES, TRANSITIONS, Status, allowed
from taskhub.domain.submissions import Submission, build
from taskhub.worker import completions
from taskhub.worker.app import create_celery


def test_no_worker_action_moves_a_final_record() -> None:
    worker_actions = {
        "start",
        "take_over",
        "complete",
        "schedule_retry",
        "fail",
        "expire",
        "refuse",
        "stop_cancelled",
        "stop_paused",
    }
    for action in worker_actions:
        assert not TRANSITIONS[action].sources & FINAL_STATUSES, action


def test_only_a_person_retry_leaves_a_final_status() -> None:
    leaving = {a for a, t in TRANSITIONS.items() if t.sources & FINAL_STATUSES}
    assert leaving == {"retry"}
    assert not allowed("retry", Status.COMPLETED)


def test_backoff_grows_exponentially_within_jitter_and_is_capped() -> None:
    low = [backoff_s(n, 1.0, 2.0, 100.0, uniform=lambda a, b: a) for n in (1, 2, 3, 4)]
    high = [backoff_s(n, 1.0, 2.0, 100.0, uniform=lambda a, b: b) for n in (1, 2, 3, 4)]
    assert low == [0.75, 1.5, 3.0, 6.0]
    assert high == [1.25, 2.5, 5.0, 10.0]
    assert backoff_s(30, 1.0, 2.0, 60.0) == 60.0


def _record(attempt: int, retries: int, deadline: datetime | None = None) -> object:
    definition = TaskDefinition(name="x", fn=lambda ctx: None, retries=retries)
    new = build(
        definition,
        {},
        Submission(deadline=deadline),
        settings=Settings(),
        workspace_id="w",
        now=datetime.now(UTC),
    )
    from dataclasses import replace

    return replace(new.as_record(), attempt=attempt)


def test_plan_retry_stops_when_retries_run_out_or_the_deadline_is_near() -> None:
    at = datetime.now(UTC)
    kw = {"dont_retry": (KeyError,), "now": at, "cap_s": 60.0, "uniform": lambda a, b: 1.0}
    assert plan_retry(_record(1, 2), ValueError(), **kw) == 1.0  # type: ignore[arg-type]
    assert plan_retry(_record(3, 2), ValueError(), **kw) is None  # type: ignore[arg-type]
    assert plan_retry(_record(1, 2), KeyError(), **kw) is None  # type: ignore[arg-type]
    soon = at + timedelta(seconds=0.5)
    assert plan_retry(_record(1, 2, soon), ValueError(), **kw) is None  # type: ignore[arg-type]


def test_progress_label_reads_step_n_of_m() -> None:
    assert Progress(2, 5, 20.0, None).label == "Step 2 of 5"
    assert Progress(None, None, 50.0, "half way").label == "half way"
    assert str(ErrorInfo("ValueError", "bad")) == "ValueError: bad"
    assert TaskOptions(5, "q", 1, 0, 1, 2).deadline is None


def test_workers_start_with_task_events_off_and_submitters_send_sent_events() -> None:
    """As in Celery: Flower turns worker events on while it watches; queued tasks it can only
    see from the submitter's task-sent event, so that one is on by default."""
    conf = create_celery(Settings(broker_url="redis://127.0.0.1:1/0")).conf
    assert (conf.worker_send_task_events, conf.task_send_sent_event) == (False, True)
    forced = Settings(broker_url="redis://127.0.0.1:1/0", task_events=True, sent_events=False)
    conf = create_celery(forced).conf
    assert (conf.worker_send_task_events, conf.task_send_sent_event) == (True, False)


def test_an_outcome_whose_write_fails_is_written_again_before_flush_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(completions, "RETRY_DELAYS_S", (0.01, 0.01, 0.01))
    calls: list[str] = []

    class FlakyLifecycle:
        def complete(self, task_id: str, result: object, claimed: object) -> None:
            calls.append(task_id)
            if len(calls) < 3:
                raise StoreError("database error: connection refused")

    writer = completions.CompletionWriter(FlakyLifecycle().complete)
    writer.submit("t1", None, None)
    assert writer.flush(timeout_s=5)
    assert calls == ["t1", "t1", "t1"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg2://app:s3cret@db:5432/tasks",
            "postgresql+psycopg2://app:***@db:5432/tasks",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("sqlite:////tmp/taskhub.db", "sqlite:////tmp/taskhub.db"),
    ],
)
def test_a_url_shown_to_people_hides_its_password(url: str, shown: str) -> None:
    assert display_url(url) == shown
