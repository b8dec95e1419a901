"""The remote client's ``submit_many``: one request per batch of up to 1,000 inputs, the
records in input order, and a bad input raised as locally, named by its place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from taskhub import Settings, TaskHub
from taskhub.client import TaskHubClient
from taskhub.domain.errors import InputError, PlanError, ValidationError

from ..api.api_support import new_workspace


class Counting(httpx.HTTPTransport):
    """A real transport that notes each request's method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return super().handle_request(request)


@pytest.fixture
def counted(idle_api_url: str, settings: Settings) -> Iterator[tuple[TaskHubClient, Counting]]:
    """A client into a fresh Starter workspace (its tasks stay pending), counting requests."""
    hub = TaskHub(settings)
    _, key = new_workspace(hub)
    hub.close()
    transport = Counting()
    with TaskHubClient(idle_api_url, key, transport=transport) as remote:
        yield remote, transport


def test_submit_many_sends_one_request_per_thousand_inputs_and_keeps_their_order(
    counted: tuple[TaskHubClient, Counting],
) -> None:
    remote, transport = counted
    records = remote.submit_many("tests.echo", ({"value": n} for n in range(2001)), priority=7)

    assert transport.sent == [("POST", "/api/v1/tasks/batch")] * 3
    assert [r.input for r in records] == [{"value": n} for n in range(2001)]
    assert {r.options.priority for r in records} == {7}
    assert all(r.dispatched and r.dispatch_error is None for r in records)
    assert remote.list(limit=1).total == 2001
    assert remote.get(records[1500].id).input == {"value": 1500}


def test_no_inputs_send_no_request(counted: tuple[TaskHubClient, Counting]) -> None:
    remote, transport = counted
    assert remote.submit_many("tests.echo", []) == []
    assert transport.sent == []


def test_a_bad_input_raises_naming_its_place_and_its_batch_is_not_written(
    counted: tuple[TaskHubClient, Counting],
) -> None:
    remote, _ = counted
    with pytest.raises(InputError) as raised:
        remote.submit_many("tests.big_output", [{"size": 1}, {"size": "abc"}, {}])
    assert raised.value.field == "items.1.input.size"
    fields = [field for field, _ in raised.value.errors]
    assert fields == ["items.1.input.size", "items.2.input.size"]
    assert remote.list(limit=1).total == 0


def test_a_bad_input_in_a_later_batch_is_named_among_all_inputs(
    counted: tuple[TaskHubClient, Counting],
) -> None:
    remote, transport = counted
    inputs = [{"size": 1}] * 1003 + [{"size": "abc"}]
    with pytest.raises(InputError) as raised:
        remote.submit_many("tests.big_output", inputs)
    assert raised.value.field == "items.1003.input.size"
    assert len(transport.sent) == 2
    assert remote.list(limit=1).total == 1000  # the first batch went in; documented


def test_options_the_plan_lacks_or_that_are_invalid_raise_as_locally(
    counted: tuple[TaskHubClient, Counting],
) -> None:
    remote, _ = counted
    with pytest.raises(PlanError):  # Starter: no deadlines
        remote.submit_many("tests.noop", [{}], deadline=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(ValidationError) as bad:
        remote.submit_many("tests.noop", [{}], priority=12)
    assert bad.value.field == "priority"
    assert remote.list(limit=1).total == 0
