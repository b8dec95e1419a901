"""A batch item's options over the batch's, and its errors named by its place (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from taskhub.domain.batches import all_refused, merged, refused
from taskhub.domain.errors import InputError, PlanError, ValidationError
from taskhub.domain.submissions import Submission

AT = datetime(2030, 1, 1, tzinfo=UTC)


def test_an_items_own_options_replace_the_shared_ones_and_the_rest_stay() -> None:
    shared = Submission(name="All", priority=3, retries=2, countdown=60)
    own = Submission(priority=8, scheduled_for=AT)

    ask = merged(shared, own)

    assert (ask.name, ask.priority, ask.retries) == ("All", 8, 2)
    assert (ask.scheduled_for, ask.countdown) == (AT, None)  # run_at replaces the countdown
    assert merged(shared, None) is shared
    assert merged(shared, Submission()) == shared


def test_an_items_errors_are_named_by_its_place() -> None:
    item = refused(3, InputError([("input.region", "field required"), ("input.x", "unexpected")]))
    assert isinstance(item.error, InputError)
    assert item.error.field == "items.3.input.region"
    assert [f for f, _ in item.error.errors] == ["items.3.input.region", "items.3.input.x"]
    other = refused(0, ValidationError("run_at", "is in the past"))
    assert (other.error.field, other.error.message) == ("items.0.run_at", "is in the past")


def test_a_batch_refused_whole_lists_every_items_fault() -> None:
    plan = PlanError("deadlines", "starter", "growth")
    faults = [refused(1, InputError([("input.a", "bad")])), refused(4, plan)]

    error = all_refused(faults)

    assert isinstance(error, ValidationError)
    assert [f for f, _ in error.errors] == ["items.1.input.a", "items.4"]
    assert all_refused([refused(2, plan)]) is plan
