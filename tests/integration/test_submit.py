"""Bad input gets a precise error, and nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskhub import TaskHub, UnknownTaskError, ValidationError
from taskhub.domain.errors import InputError


@pytest.mark.parametrize(
    ("task", "task_input", "options", "field", "message"),
    [
        ("no.such.task", {}, {}, "task", "no task is registered under the name 'no.such.task'"),
        ("tests.echo", {"value": object()}, {}, "input", "is not JSON-serialisable"),
        ("tests.echo", {"value": float("nan")}, {}, "input", "is not JSON-serialisable"),
        ("tests.echo", ["not", "an", "object"], {}, "input", "must be a JSON object, got list"),
        ("tests.echo", {}, {"priority": 10}, "priority", "between 0 and 9, got 10"),
        ("tests.echo", {}, {"priority": -1}, "priority", "between 0 and 9, got -1"),
        ("tests.echo", {}, {"priority": "high"}, "priority", "must be an integer"),
        ("tests.echo", {}, {"timeout": 0}, "timeout", "must be at least"),
        ("tests.echo", {}, {"retries": -2}, "retries", "whole number >= 0"),
        ("tests.echo", {}, {"retry_delay": "soon"}, "retry_delay", "number of seconds"),
        ("tests.echo", {}, {"name": "  "}, "name", "non-empty"),
        ("tests.echo", {}, {"name": "x" * 501}, "name", "longer than 500"),
        ("tests.echo", {}, {"idempotency_key": ""}, "idempotency_key", "1-200 characters"),
        (
            "tests.echo",
            {},
            {"deadline": datetime.now(UTC) - timedelta(seconds=1)},
            "deadline",
            "is in the past",
        ),
        (
            "tests.echo",
            {},
            {"deadline": datetime(2099, 1, 1)},  # noqa: DTZ001 - on purpose
            "deadline",
            "timezone-aware",
        ),
    ],
)
def test_bad_input_raises_a_precise_error_and_writes_nothing(
    hub: TaskHub,
    task: str,
    task_input: object,
    options: dict[str, object],
    field: str,
    message: str,
) -> None:
    with pytest.raises(ValidationError) as raised:
        hub.submit(task, task_input, **options)  # type: ignore[arg-type]

    assert raised.value.field == field
    assert message in str(raised.value)
    assert hub.list().total == 0


def test_an_unknown_task_is_its_own_error_type(hub: TaskHub) -> None:
    with pytest.raises(UnknownTaskError):
        hub.submit("reports.no_such_report")


def test_submit_many_validates_every_input_before_writing_any(hub: TaskHub) -> None:
    with pytest.raises(ValidationError, match="input"):
        hub.submit_many("tests.echo", [{"value": 1}, {"value": {1, 2}}])
    assert hub.list().total == 0


def test_submission_options_override_the_task_defaults(hub: TaskHub) -> None:
    deadline = datetime.now(UTC) + timedelta(hours=1)
    record = hub.submit(
        "tests.flaky",
        {"fail_times": 0},
        priority=9,
        timeout=12.5,
        retries=7,
        retry_delay=timedelta(seconds=3),
        deadline=deadline,
    )

    o = record.options
    assert (o.priority, o.timeout_s, o.max_retries, o.retry_delay_s) == (9, 12.5, 7, 3.0)
    assert o.deadline == deadline
    defaults = hub.submit("tests.flaky", {"fail_times": 0}).options
    assert (defaults.priority, defaults.max_retries, defaults.retry_delay_s) == (5, 3, 0.05)


def test_submit_many_names_each_bad_input_by_its_place_and_writes_nothing(hub: TaskHub) -> None:
    """As the batch API and the remote client do: ``items.<index>.input.<field>``."""
    with pytest.raises(InputError) as raised:
        hub.submit_many("tests.big_output", [{"size": 1}, {"size": "abc"}, {}])
    assert [field for field, _ in raised.value.errors] == [
        "items.1.input.size",
        "items.2.input.size",
    ]
    assert hub.list(limit=1).total == 0
    with pytest.raises(ValidationError) as bad:  # an option all share: named as it is
        hub.submit_many("tests.noop", [{}], priority=12)
    assert bad.value.field == "priority"
