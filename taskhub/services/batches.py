"""Submitting many tasks of one kind for a workspace, each item answered on its own (what
``POST /api/v1/tasks/batch`` calls).

Every item is checked as a single submission would be (its input against the task's
signature, its options, the workspace's plan: ``domain.policy``); the valid ones are then
written and published in one go through :meth:`Tasks.insert_batch`. What the whole batch
shares (the task name, the shared options) is checked first: a fault there refuses the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from taskhub.domain.batches import (
    MAX_BATCH_ITEMS,
    BatchItem,
    ItemRefused,
    all_refused,
    merged,
    refused,
)
from taskhub.domain.clock import now
from taskhub.domain.errors import PlanError, ValidationError
from taskhub.domain.policy import check_submission
from taskhub.domain.records import NewTask, TaskRecord, Workspace
from taskhub.domain.registry import TaskDefinition, lookup
from taskhub.domain.settings import Settings
from taskhub.domain.submissions import Submission, build, check_options
from taskhub.services.tasks import Tasks

Outcome = TaskRecord | ItemRefused


class Batches:
    """Many tasks at once for a workspace, within its plan; each item's outcome reported."""

    def __init__(self, settings: Settings, tasks: Tasks) -> None:
        self._settings = settings
        self._tasks = tasks

    def submit(
        self,
        workspace: Workspace,
        task_name: str,
        items: Sequence[BatchItem],
        shared: Submission | None = None,
        *,
        all_or_nothing: bool = False,
    ) -> list[Outcome]:
        """Submit one task per item; in item order, each one's record (as ``submit`` returns
        it) or :class:`ItemRefused` (its error naming ``items.<index>.<field>``).

        By default the valid items go in and the others are refused alone (as Sidekiq's
        ``push_bulk`` and Oban's ``insert_all`` users expect); with ``all_or_nothing`` a
        refused item refuses the batch: nothing is written and the error raised lists every
        item's fault. The task name or a shared option at fault refuses the batch either way.
        """
        shared = shared or Submission()
        definition = self._check_shared(workspace, task_name, items, shared)
        outcomes = [
            self._build(workspace, definition, index, item, shared)
            for index, item in enumerate(items)
        ]
        faults = [outcome for outcome in outcomes if isinstance(outcome, ItemRefused)]
        if faults and all_or_nothing:
            raise all_refused(faults)
        written = iter(self._tasks.insert_batch([o for o in outcomes if isinstance(o, NewTask)]))
        return [o if isinstance(o, ItemRefused) else next(written) for o in outcomes]

    def _check_shared(
        self, workspace: Workspace, task_name: str, items: Sequence[BatchItem], shared: Submission
    ) -> TaskDefinition:
        """The task's definition, once what every item shares is checked (else raise)."""
        if not items:
            raise ValidationError("items", "give at least one item")
        if len(items) > MAX_BATCH_ITEMS:
            raise ValidationError(
                "items", f"at most {MAX_BATCH_ITEMS} items at a time, got {len(items)}"
            )
        keyed = shared.idempotency_key is not None or any(
            item.ask is not None and item.ask.idempotency_key is not None for item in items
        )
        if keyed:
            raise ValidationError("idempotency_key", "is not supported in a batch")
        definition = lookup(task_name)
        check_submission(workspace, shared)
        check_options(definition, shared, settings=self._settings, now=now())
        return definition

    def _build(
        self,
        workspace: Workspace,
        definition: TaskDefinition,
        index: int,
        item: BatchItem,
        shared: Submission,
    ) -> NewTask | ItemRefused:
        ask = merged(shared, item.ask)
        try:
            check_submission(workspace, ask)
            return build(
                definition,
                item.input,
                ask,
                settings=self._settings,
                workspace_id=workspace.id,
                now=now(),
            )
        except (ValidationError, PlanError) as exc:
            return refused(index, exc)
