"""Reading a workspace's tasks: one record, a page of them, what changed, their outputs, and
waiting for one to finish. :class:`~taskhub.services.tasks.Tasks` is these plus submitting and
people's actions; every caller reads through it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from taskhub.domain import task_ids
from taskhub.domain.errors import TaskTimeoutError, ValidationError
from taskhub.domain.paging import Page, TaskFilter, decode_cursor, encode_cursor
from taskhub.domain.records import Output, TaskChange, TaskRecord
from taskhub.domain.registry import TaskDefinition
from taskhub.store.queries import TaskQueries
from taskhub.store.runs import RunStore
from taskhub.store.tasks import Store

MAX_LIST_LIMIT = 1000


class TaskReads:
    """The reads of the workspace's tasks, each scoped to the workspace it names."""

    def __init__(
        self,
        store: Store,
        queries: TaskQueries,
        runs: RunStore,
        definitions: Mapping[str, TaskDefinition],
    ) -> None:
        self._store = store
        self._queries = queries
        self._runs = runs
        self._definitions = definitions

    def get(self, workspace_id: str, task_id: str) -> TaskRecord:
        return self._store.get(task_id, workspace_id, detail=True)

    def resolve_id(self, workspace_id: str, ref: str) -> str:
        """The id of the workspace's one task whose id starts with ``ref`` (a whole id is
        returned as it is); too short or ambiguous is a ``ValidationError`` (listing them),
        none a ``NotFoundError`` (:mod:`taskhub.domain.task_ids`)."""
        prefix = task_ids.prefix_of(ref)
        if prefix is None:
            return ref
        limit = task_ids.MAX_CANDIDATES + 1
        return task_ids.the_one(
            ref, self._queries.ids_starting_with(workspace_id, prefix, limit=limit)
        )

    def list_tasks(
        self,
        where: TaskFilter,
        *,
        limit: int = 25,
        skip: int = 0,
        after: str | None = None,
        count_up_to: int | None = None,
    ) -> Page:
        """Tasks of ``where.workspace_id`` matching ``where``, newest first: by ``skip`` or by the
        cursor ``after`` (a ``next_cursor``; then ``skip`` must be 0). ``total`` counts every
        match; with ``count_up_to`` (a page's cheap count) it stops counting past that many,
        and then the page's ``total`` is ``count_up_to`` and ``total_exact`` false."""
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValidationError("limit", f"must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
        if skip < 0:
            raise ValidationError("skip", f"must be 0 or more, got {skip}")
        if count_up_to is not None and count_up_to < 1:
            raise ValidationError("count_up_to", f"must be 1 or more, got {count_up_to}")
        position = decode_cursor(after) if after is not None else None
        if position is not None and skip:
            raise ValidationError("skip", "must be 0 when paging with a cursor (after)")
        items, total, more = self._queries.list_tasks(
            where, limit=limit, skip=skip, after=position, count_up_to=count_up_to
        )
        next_cursor = encode_cursor(items[-1]) if more and items else None
        if count_up_to is not None and total > count_up_to:
            return Page(items, count_up_to, limit, skip, next_cursor, total_exact=False)
        return Page(items, total, limit, skip, next_cursor)

    def changes(
        self,
        workspace_id: str,
        since: datetime | None,
        task_id: str | None = None,
        *,
        limit: int = 1000,
    ) -> list[TaskChange]:
        """What changed on the workspace's tasks (or on one) after ``since``, oldest first."""
        return self._queries.changed_since(workspace_id, since, task_id, limit=limit)

    def recent_changes(self, workspace_id: str, *, limit: int = 100) -> list[TaskChange]:
        """The workspace's ``limit`` most recently changed tasks, newest change first."""
        if not 1 <= limit <= MAX_LIST_LIMIT:
            raise ValidationError("limit", f"must be between 1 and {MAX_LIST_LIMIT}, got {limit}")
        return self._queries.recently_changed(workspace_id, limit=limit)

    def definitions(self) -> list[TaskDefinition]:
        """The registered tasks, by name."""
        return sorted(self._definitions.values(), key=lambda d: d.name)

    def definition(self, task_name: str) -> TaskDefinition | None:
        """The registered task of that name, if this process knows it."""
        return self._definitions.get(task_name)

    def output(self, workspace_id: str, task_id: str, name: str) -> Output:
        self._store.get(task_id, workspace_id)  # scope: another workspace's task is not found
        return self._runs.get_output(task_id, name)

    def wait(
        self, workspace_id: str, task_id: str, *, timeout_s: float = 60.0, poll_s: float = 0.1
    ) -> TaskRecord:
        """Poll until the task reaches a final status; ``TaskTimeoutError`` past ``timeout_s``."""
        give_up = time.monotonic() + timeout_s
        while True:
            record = self._store.get(task_id, workspace_id)
            if record.status.is_final:
                return self._store.get(task_id, workspace_id, detail=True)
            if time.monotonic() >= give_up:
                raise TaskTimeoutError(task_id, record.status.value, timeout_s)
            time.sleep(poll_s)
