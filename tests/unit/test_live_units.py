"""The change feed behind ``/events`` and the list cursors: pure logic, no services."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from taskhub import ValidationError
from taskhub.domain import live as live_module
from taskhub.domain.live import OVERLAP, ChangeFeed, NotificationFeed
from taskhub.domain.paging import decode_cursor, encode_cursor
from taskhub.domain.records import NewTask, Notification, Progress, TaskChange, TaskOptions
from taskhub.domain.states import Outcome, Status, TaskType

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def change(ident: str, seconds: float, status: Status = Status.PENDING) -> TaskChange:
    at = T0 + timedelta(seconds=seconds)
    return TaskChange(ident, ident, "tests.noop", status, Progress(), None, at)


def test_the_feed_sends_each_change_once_and_nothing_from_before_it_started() -> None:
    feed = ChangeFeed(T0 + timedelta(seconds=10))
    assert feed.query_from() == T0 + timedelta(seconds=10)  # never before its start
    first = [change("old", 9), change("a", 11), change("b", 12)]
    assert [c.id for c in feed.fresh(first)] == ["a", "b"]
    assert feed.query_from() == T0 + timedelta(seconds=12) - OVERLAP
    # the next poll looks back: "a" again (already sent), "late" committed after "b" was read
    again = [change("a", 11), change("late", 11.5), change("b", 12), change("c", 13)]
    assert [c.id for c in feed.fresh(again)] == ["late", "c"]
    moved = replace(change("a", 14), status=Status.CANCELLED)
    assert feed.fresh([moved]) == [moved]  # a new change to a task already sent


def test_a_full_batch_is_drained_before_looking_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_module, "BATCH", 2)
    feed = ChangeFeed(T0)
    feed.fresh([change("a", 1), change("b", 2)])
    assert feed.catching_up and feed.query_from() == T0 + timedelta(seconds=2)
    feed.fresh([change("c", 3)])
    assert not feed.catching_up and feed.query_from() == max(
        T0, T0 + timedelta(seconds=3) - OVERLAP
    )


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    options = TaskOptions(5, "q", 1.0, 0, 1.0, 2.0)
    record = NewTask(
        "id-1", "w", "t", "n", TaskType.MANUAL, None, {}, options, None, T0
    ).as_record()
    position = decode_cursor(encode_cursor(record))
    assert (position.created_at, position.id) == (T0, "id-1")
    for bad in (
        "",
        "!!!",
        "e30",
        "W10",
        "eyJjIjoiMjAzMC0wMS0wMVQwMDowMDowMCIsImkiOiJ4In0",
        "x" * 300,
    ):
        with pytest.raises(ValidationError) as caught:
            decode_cursor(bad)
        assert caught.value.field == "after"


def test_the_notification_feed_sends_each_notification_once_even_when_it_commits_late() -> None:
    def note(ident: int, seconds: float) -> Notification:
        at = T0 + timedelta(seconds=seconds)
        return Notification(ident, "w", "t", Outcome.FAILED, "error", "x", "y", at, None)

    feed = NotificationFeed(T0 + timedelta(seconds=10))
    assert [n.id for n in feed.fresh([note(1, 9), note(3, 12)])] == [3]
    # id 2 was drawn before id 3 but committed after it was read: the look-back finds it
    assert [n.id for n in feed.fresh([note(2, 11.5), note(3, 12)])] == [2]
