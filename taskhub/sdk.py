"""The SDK both ways of reaching taskhub offer: :class:`~taskhub.hub.TaskHub` in-process and
:class:`~taskhub.client.TaskHubClient` over HTTP. Code typed to :class:`TaskhubSDK` runs with
either; mypy checks (at the bottom) that both implement it.

Each may take more than the protocol says, with defaults: the local ``submit`` also takes
``type``, ``origin`` and a ``session`` to submit within (the API sets the first two itself and
has no session to share); the remote ``wait`` also takes ``poll_s`` (it polls over HTTP where
the local one reads the database).

Pipelines are on both but not in the protocol: ``TaskHub.submit_pipeline / pipeline /
cancel_pipeline`` return a :class:`~taskhub.services.pipelines.Pipeline` (its nodes full task
records, and it also takes a canvas or a graph built in code); the client's return the API's
JSON as a dict (its nodes are summaries: status, times, error message), and it posts the JSON
form only. One type for both would be a third shape neither has.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from taskhub.domain.paging import Page
from taskhub.domain.records import Notification, Output, TaskRecord
from taskhub.domain.registry import TaskDefinition
from taskhub.domain.states import Status
from taskhub.domain.submissions import Seconds


class TaskhubSDK(Protocol):
    """Submit, read and steer the tasks of one workspace."""

    def submit(
        self,
        task: str | TaskDefinition,
        input: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        idempotency_key: str | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
        depends_on: Sequence[str] | None = None,
    ) -> TaskRecord:
        """Record a task and queue it; what is left out takes the task's default. A record
        whose ``dispatch_error`` is set was kept but not yet published: the sweep publishes
        it. With ``run_at`` (or ``countdown`` seconds) it waits ``pending`` until then, its due
        time in ``scheduled_for``. With ``depends_on`` (task ids) it waits, ``blocked``,
        until they completed; if one fails or is cancelled, so does it."""
        ...

    def submit_many(
        self,
        task: str | TaskDefinition,
        inputs: Iterable[dict[str, Any]],
        *,
        name: str | None = None,
        priority: int | None = None,
        timeout: Seconds | None = None,
        retries: int | None = None,
        retry_delay: Seconds | None = None,
        deadline: datetime | None = None,
        run_at: datetime | None = None,
        countdown: Seconds | None = None,
    ) -> builtins.list[TaskRecord]:
        """Record and queue one task per input, with the same options (no idempotency key);
        every input is checked before any is written (remotely: before any of its batch of
        1,000, one request each, is). Returns their records, in input order, as
        :meth:`submit` does. A bad input raises as :meth:`submit` would, naming the input's
        field (locally ``input.region``, remotely with its place: ``items.3.input.region``)."""
        ...

    def get(self, task_id: str) -> TaskRecord:
        """The task with its steps, failed attempts and output names."""
        ...

    def list(
        self,
        *,
        status: Status | str | None = None,
        task: str | None = None,
        limit: int = 25,
        skip: int = 0,
        after: str | None = None,
    ) -> Page:
        """A page of tasks, newest first: ``items``, ``total`` (how many match in all),
        ``limit``, ``skip`` and ``next_cursor`` (pass it as ``after`` for the next page; ``None``
        at the end)."""
        ...

    def output(self, task_id: str, name: str = "result") -> Output:
        """One saved output of the task (``result`` is what its body returned)."""
        ...

    def wait(self, task_id: str, *, timeout_s: float = 60.0) -> TaskRecord:
        """The task once its status is final; :class:`~taskhub.domain.errors.TaskTimeoutError` if it
        is not within ``timeout_s``."""
        ...

    def cancel(self, task_id: str) -> TaskRecord:
        """Waiting or paused: cancelled now. Running: asked to stop at its next checkpoint."""
        ...

    def pause(self, task_id: str) -> TaskRecord:
        """Waiting: paused now. Running: paused at its next step boundary; refused
        (:class:`~taskhub.domain.errors.TransitionError`) if it has none."""
        ...

    def resume(self, task_id: str) -> TaskRecord:
        """Paused: queued again, continuing after its last completed step."""
        ...

    def retry(self, task_id: str) -> TaskRecord:
        """Failed or cancelled: run again as a new run, with its whole retry budget."""
        ...

    def notifications(self, limit: int = 50) -> builtins.list[Notification]:
        """The workspace's newest notifications, newest first."""
        ...

    def close(self) -> None:
        """Release the database engine or the HTTP connection."""
        ...


# mypy --strict checks that both implement the protocol (functions rather than ``type[...]``
# assignments, so that its error names the member at fault).
if TYPE_CHECKING:
    from taskhub.client import TaskHubClient
    from taskhub.hub import TaskHub

    def _local(hub: TaskHub) -> TaskhubSDK:
        return hub

    def _remote(client: TaskHubClient) -> TaskhubSDK:
        return client
