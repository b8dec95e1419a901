"""The service layer: what the SDK, CLI, REST API and the dashboard all call.

Every function is scoped to one workspace. No query is built here: the store owns SQL, the
state machine owns transitions, the dispatcher owns publishing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from taskhub.domain.batches import ItemRefused, all_refused, refused
from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError, TransitionError, ValidationError
from taskhub.domain.notifications import Announce, describe
from taskhub.domain.paging import TaskFilter
from taskhub.domain.policy import check_submission
from taskhub.domain.records import NewTask, TaskRecord, Workspace
from taskhub.domain.registry import TaskDefinition, lookup
from taskhub.domain.settings import Settings
from taskhub.domain.states import Outcome, Status
from taskhub.domain.submissions import Submission, check_options
from taskhub.domain.submissions import build as build_new
from taskhub.services.dependencies import Dependencies
from taskhub.services.task_reads import TaskReads
from taskhub.store.queries import TaskQueries
from taskhub.store.runs import RunStore
from taskhub.store.sessions import Session, after_commit
from taskhub.store.tasks import Store
from taskhub.worker import tracing
from taskhub.worker.publisher import Dispatcher

SUBMIT_BATCH = 1000
PENDING_KEY = "taskhub.pending_publish"
BULK_MAX = 10_000  # the most tasks one bulk action touches
NO_STEPS = (
    "it has no steps: a running task pauses only at a step boundary; "
    "declare steps=(...) on @task or cancel it"
)


class Tasks(TaskReads):
    """The tasks of a workspace: submit, read (:class:`TaskReads`), and what people do to them."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        queries: TaskQueries,
        runs: RunStore,
        publisher: Dispatcher,
        definitions: Mapping[str, TaskDefinition],
        announce: Announce,
        dependencies: Dependencies,
    ) -> None:
        super().__init__(store, queries, runs, definitions)
        self._settings = settings
        self._publisher = publisher
        self._announce = announce
        self._dependencies = dependencies
        self._actions: dict[str, Callable[[str, str], TaskRecord]] = {
            "cancel": self.cancel,
            "pause": self.pause,
            "resume": self.resume,
            "retry": self.retry,
        }

    def submit(
        self,
        workspace_id: str,
        task_name: str,
        task_input: object = None,
        ask: Submission | None = None,
        *,
        session: Session | None = None,
        depends_on: Sequence[str] | None = None,
    ) -> TaskRecord:
        """Write the record, commit, then publish; returns it dispatched, or (the broker failed)
        with no ``dispatched_at`` and the reason in ``dispatch_error``: the sweep publishes it.
        Inside ``session``: published after its commit (the record returned is not yet). With
        ``depends_on`` (task ids) it waits, ``blocked``, until those tasks allow it to run."""
        new = self.build(workspace_id, task_name, task_input, ask or Submission())
        if depends_on:
            if session is not None:
                raise ValidationError("session", "cannot be combined with depends_on")
            return self._dependencies.wait_for(new, depends_on)
        if session is not None:
            record = self._store.insert_idempotent(new, conn=session.connection())
            if record.id == new.id:
                self._publish_after_commit(session, record)
            return record
        return self._insert_and_publish(new)[0]

    def submit_checked(
        self,
        workspace: Workspace,
        task_name: str,
        task_input: object = None,
        ask: Submission | None = None,
        *,
        depends_on: Sequence[str] | None = None,
    ) -> tuple[TaskRecord, bool]:
        """Submit on behalf of ``workspace`` within what its plan allows (``domain.policy``).

        Returns the record (as :func:`submit` does) and whether it is new (``False``: its
        idempotency key was used before).
        """
        ask = ask or Submission()
        check_submission(workspace, ask, depends_on)
        new = self.build(workspace.id, task_name, task_input, ask)
        if depends_on:
            return self._dependencies.wait_for(new, depends_on), True
        return self._insert_and_publish(new)

    def write(
        self, workspace_id: str, task_name: str, task_input: object, ask: Submission
    ) -> tuple[TaskRecord, bool]:
        """Record a task without publishing it (the caller publishes a batch with
        :meth:`publish`; the sweep publishes what it never did). Returns the record, and
        whether it is new (``False``: its idempotency key was used before)."""
        new = self.build(workspace_id, task_name, task_input, ask)
        record = self._store.insert_idempotent(new)
        return record, record.id == new.id

    def publish(self, records: Sequence[TaskRecord]) -> list[TaskRecord]:
        """Publish what was recorded and is due (those held for later stay held: for their
        parents or their run_at); a broker failure leaves them to the sweep. Returns the
        records, in order, as they are after it."""
        at = now()
        due = [record for record in records if not record.held(at)]
        if not due:
            return list(records)
        sent = {r.id: r for r in self._publisher.publish_quietly(due, interactive=True)}
        return [sent.get(record.id, record) for record in records]

    def _insert_and_publish(self, new: NewTask) -> tuple[TaskRecord, bool]:
        """One write: the record is inserted already stamped dispatched (unless held for its
        parents or its due time), then its message goes out; a caller waits on the answer."""
        with tracing.span("taskhub.submit", task_name=new.task_name) as span:
            record = self._store.insert_idempotent(new, dispatched_at=now())
            span.set(task_id=record.id, workspace_id=record.workspace_id)
            created = record.id == new.id
            if created and record.dispatched:
                record = self._publisher.send_stamped([record])[0]
            return record, created

    def _publish(self, record: TaskRecord) -> TaskRecord:
        """Publish for a caller waiting on the answer: the record dispatched, or why not. A
        record held for its due time is not published: beat's tick releases it then."""
        if record.held(now()):
            return record
        return self._publisher.publish_quietly([record], interactive=True)[0]

    def release_due(self, at: datetime | None = None, *, limit: int = 1000) -> int:
        """Publish the held records whose due time came (``run_at``); beat calls this every
        tick. Each is claimed once (its ``dispatched_at`` set where it was unset), so two beat
        processes never both publish it; a claimed record whose publish then fails is sent
        again by the sweep (a message lost)."""
        records = self._store.claim_due(at or now(), limit=limit)
        if records:
            self._publisher.publish_quietly(records)
        return len(records)

    def submit_many(
        self,
        workspace_id: str,
        task_name: str,
        inputs: Iterable[object],
        ask: Submission | None = None,
    ) -> list[str]:
        """:meth:`submit_batch`, returning only the new ids, in input order."""
        return [record.id for record in self.submit_batch(workspace_id, task_name, inputs, ask)]

    def submit_batch(
        self,
        workspace_id: str,
        task_name: str,
        inputs: Iterable[object],
        ask: Submission | None = None,
    ) -> list[TaskRecord]:
        """Check every input, then insert and publish in batches; returns the records in input
        order, as :meth:`submit` does (a broker failure: ``dispatch_error`` set). Bad inputs:
        nothing is written, and the error names each one's place (``items.3.input.region``),
        as ``POST /api/v1/tasks/batch`` and the remote client do."""
        ask = ask or Submission()
        if ask.idempotency_key is not None:
            raise ValidationError("idempotency_key", "is not supported by submit_many")
        check_options(lookup(task_name), ask, settings=self._settings, now=now())
        news: list[NewTask] = []
        faults: list[ItemRefused] = []
        for index, item in enumerate(inputs):
            try:
                news.append(self.build(workspace_id, task_name, item, ask))
            except ValidationError as exc:
                faults.append(refused(index, exc))
        if faults:  # as the batch API names them: items.3.input.region
            raise all_refused(faults)
        return self.insert_batch(news)

    def insert_batch(self, news: Sequence[NewTask]) -> list[TaskRecord]:
        """Insert and publish checked tasks in batches; their records, in order (a broker
        failure: ``dispatch_error`` set, the sweep publishes them)."""
        records: list[TaskRecord] = []
        for start in range(0, len(news), SUBMIT_BATCH):
            batch = news[start : start + SUBMIT_BATCH]
            traced: dict[str, str | int] = {"task_name": batch[0].task_name, "count": len(batch)}
            with tracing.span("taskhub.submit_many", **traced):
                inserted = self._store.insert_tasks(batch, dispatched_at=now())
                due = self._publisher.send_stamped([r for r in inserted if r.dispatched])
            sent = {record.id: record for record in due}
            records += [sent.get(record.id, record) for record in inserted]
        return records

    def build(
        self, workspace_id: str, task_name: str, task_input: object, ask: Submission
    ) -> NewTask:
        definition = lookup(task_name)
        return build_new(
            definition,
            task_input,
            ask,
            settings=self._settings,
            workspace_id=workspace_id,
            now=now(),
        )

    def _publish_after_commit(self, session: Session, record: TaskRecord) -> None:
        after_commit(session, PENDING_KEY, record, self.publish)

    def cancel(self, workspace_id: str, task_id: str) -> TaskRecord:
        """Waiting or paused: cancelled now. Running: asked to stop at its next checkpoint."""
        at = now()
        record = self._store.transition(
            task_id,
            "cancel",
            {"finished_at": at},
            workspace_id=workspace_id,
            notify=describe(Outcome.CANCELLED),
        )
        if record is not None:
            self._announce(record, Outcome.CANCELLED, None)
            return record
        return self._request(workspace_id, task_id, "cancel", {"cancel_requested_at": at})

    def pause(self, workspace_id: str, task_id: str) -> TaskRecord:
        """Waiting: paused now. Running: paused at its next step boundary; refused if it has none
        (no declared steps, none begun), since it could only finish with the pause unheeded."""
        record = self._store.transition(task_id, "pause", {}, workspace_id=workspace_id)
        if record is not None:
            return record
        current = self._store.get(task_id, workspace_id)
        if current.status is Status.IN_PROGRESS and not self._has_steps(current):
            raise TransitionError(task_id, "pause", current.status.value, NO_STEPS)
        return self._request(workspace_id, task_id, "pause", {"pause_requested_at": now()})

    def _has_steps(self, record: TaskRecord) -> bool:
        """Whether a running task has a step boundary to pause at: declared steps, or step rows."""
        definition = self.definition(record.task_name)
        return bool(definition is not None and definition.steps) or bool(
            self._runs.steps(record.id)
        )

    def resume(self, workspace_id: str, task_id: str) -> TaskRecord:
        """Paused: queued again, continuing after its last completed step."""
        values = {"dispatched_at": None, "pause_requested_at": None}
        record = self._store.transition(task_id, "resume", values, workspace_id=workspace_id)
        if record is None:
            current = self._store.get(task_id, workspace_id)
            if current.status is Status.IN_PROGRESS and current.pause_requested_at is not None:
                return self._request(workspace_id, task_id, "resume", {"pause_requested_at": None})
            raise TransitionError(task_id, "resume", current.status.value)
        return self._publish(record)

    def retry(self, workspace_id: str, task_id: str) -> TaskRecord:
        """Failed or cancelled: run again as a new run, with its whole retry budget (its attempts
        count from 1 again; completed steps are kept). The tasks that ended because it did
        (upstream failed) run again after it."""
        return self._publish(self._dependencies.rerun(task_id, workspace_id))

    def _request(
        self, workspace_id: str, task_id: str, action: str, values: dict[str, Any]
    ) -> TaskRecord:
        record = self._store.request_running(task_id, workspace_id, values)
        if record is None:
            current = self._store.get(task_id, workspace_id)
            raise TransitionError(task_id, action, current.status.value)
        return record

    def _action(self, action: str) -> Callable[[str, str], TaskRecord]:
        try:
            return self._actions[action]
        except KeyError:
            choices = ", ".join(self._actions)
            raise ValidationError("action", f"must be one of {choices}") from None

    def act(self, workspace_id: str, action: str, task_id: str) -> TaskRecord:
        """Apply a person's ``action``; returns the record after it, with its detail."""
        self._action(action)(workspace_id, task_id)
        return self.get(workspace_id, task_id)

    def bulk(
        self, workspace_id: str, action: str, target: Sequence[str] | TaskFilter
    ) -> BulkResult:
        """Apply ``action`` to the tasks ``target`` names (ids, or a filter) within the workspace;
        a task that does not allow it (or is not found) is skipped with the reason."""
        act_on = self._action(action)
        if isinstance(target, TaskFilter):
            scoped = replace(target, workspace_id=workspace_id)
            ids, matched = self._queries.task_ids(scoped, limit=BULK_MAX)
        else:
            ids = list(dict.fromkeys(target))
            matched = len(ids)
            if matched > BULK_MAX:
                raise ValidationError("ids", f"at most {BULK_MAX} tasks at a time, got {matched}")
        changed, skipped = 0, []
        for task_id in ids:
            try:
                act_on(workspace_id, task_id)
                changed += 1
            except NotFoundError:
                skipped.append((task_id, "not found"))
            except TransitionError as exc:
                skipped.append((task_id, exc.reason))
        return BulkResult(action, changed, skipped, matched, matched > len(ids))


@dataclass(frozen=True)
class BulkResult:
    """``matched``: tasks selected; ``capped``: more matched than :data:`BULK_MAX` (the newest
    were acted on)."""

    action: str
    changed: int
    skipped: list[tuple[str, str]]  # (task id, reason)
    matched: int
    capped: bool
