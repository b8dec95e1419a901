"""Tasks that wait for others: released when their parents' records allow it, once; ended
when a parent fails or is cancelled (or run anyway, as each edge says).

:meth:`Dependencies.settle` is called after a final outcome of a task others wait for (the
outcome hook, :class:`taskhub.services.notifications.Notifier`): in the worker right after the
completion signal's write, or wherever a person cancelled it. Each child is decided from its
parents' records (:func:`taskhub.domain.dependencies.verdict`), never from a message: a release
is a compare-and-set on the child's ``blocked``, so two parents finishing at once release it
once, and a child ended by a parent's failure announces its own outcome, which decides its
children in turn. The sweep (:meth:`recover`) decides again what a process that died in
between left undecided.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from taskhub.domain.clock import now
from taskhub.domain.dependencies import verdict
from taskhub.domain.errors import ValidationError
from taskhub.domain.notifications import Announce, describe
from taskhub.domain.pipelines import Edge, OnFailure
from taskhub.domain.records import ErrorInfo, NewTask, TaskRecord
from taskhub.domain.states import Outcome
from taskhub.store.edges import EdgeStore
from taskhub.store.tasks import Store
from taskhub.worker.publisher import Dispatcher

log = logging.getLogger(__name__)
MAX_PARENTS = 1000  # tasks one submission may depend on
SETTLE_GRACE_S = 5.0  # the sweep leaves a child this long to the process deciding it
UPSTREAM = ("UpstreamFailed", "UpstreamCancelled")  # the error of a task its parents ended


class Dependencies:
    def __init__(self, store: Store, edges: EdgeStore, publisher: Dispatcher) -> None:
        self._store = store
        self._edges = self.edges = edges
        self._publisher = publisher
        self._announce: Announce = lambda record, outcome, note: None

    def announce_with(self, announce: Announce) -> None:
        """The outcome hook a child ended by its parents announces through (it calls back
        :meth:`settle` for the child's own children); set once, by the composition root."""
        self._announce = announce

    def wait_for(self, child: NewTask, parent_ids: Sequence[str]) -> TaskRecord:
        """Record ``child`` waiting for ``parent_ids`` (tasks of its workspace), then decide it
        at once: its parents may have ended already. Returns it as it is then."""
        ids = list(dict.fromkeys(parent_ids))
        if not 1 <= len(ids) <= MAX_PARENTS:
            raise ValidationError("depends_on", f"must name 1-{MAX_PARENTS} tasks, got {len(ids)}")
        if child.idempotency_key is not None:
            raise ValidationError("idempotency_key", "cannot be combined with depends_on")
        waiting = replace(child, blocked=True)
        self._edges.add_task(waiting, [(parent_id, OnFailure.FAIL.value) for parent_id in ids])
        self.decide(waiting.id)
        return self._store.get(waiting.id, waiting.workspace_id)

    def rerun(self, task_id: str, workspace_id: str) -> TaskRecord:
        """A person's retry of a failed or cancelled task, and of every task that ended
        because of it (upstream failed or cancelled), each waiting for its parents again. The
        retried task is returned; unless it waits for parents itself, the caller publishes it."""
        has_parents = bool(self._edges.parents(task_id))
        record = self._store.rerun(task_id, workspace_id, blocked=has_parents)
        for descendant in self._edges.descendants(task_id):
            ended = self._store.get(descendant, workspace_id)
            if ended.error is not None and ended.error.type in UPSTREAM:
                self._store.rerun(descendant, workspace_id, blocked=True)
        if has_parents:
            self.decide(task_id)
            return self._store.get(task_id, workspace_id)
        return record

    def settle(self, parent: TaskRecord) -> None:
        """``parent`` reached a final status: decide each task waiting for it. Never raises
        (what it could not decide, the sweep decides)."""
        try:
            for child_id in self._edges.children(parent.id):
                self.decide(child_id)
        except Exception:
            log.exception("could not decide the tasks waiting for %s; the sweep will", parent.id)

    def decide(self, child_id: str) -> None:
        """Release, end or leave waiting one blocked task, from its parents' records."""
        if self._edges.surely_waits(child_id):  # the verdict's rule 4, without reading them
            return
        parents = self._edges.parents(child_id)
        ruling = verdict(
            [(Edge(p.name, OnFailure(p.on_failure)), p.status.value, p.name) for p in parents]
        )
        if ruling.action == "wait":
            return
        if ruling.action == "release":
            record = self._edges.unblock(child_id)
            if record is not None and not record.held(now()):
                self._publisher.publish_quietly([record])
            return
        failed = ruling.action == "fail"
        outcome = Outcome.FAILED if failed else Outcome.CANCELLED
        error = ErrorInfo(UPSTREAM[0] if failed else UPSTREAM[1], ruling.reason or "")
        record = self._store.transition(
            child_id,
            "fail_upstream" if failed else "cancel_upstream",
            _ended(error, now()),
            notify=describe(outcome),
        )
        if record is not None:
            self._announce(record, outcome, None)

    def recover(self, at: datetime | None = None) -> int:
        """Decide again the blocked tasks one of whose parents is final (the sweep); how many."""
        before = (at or now()) - timedelta(seconds=SETTLE_GRACE_S)
        stuck = self._edges.stuck(before)
        for child_id in stuck:
            self.decide(child_id)
        return len(stuck)


def _ended(error: ErrorInfo, at: datetime) -> dict[str, object]:
    return {
        "finished_at": at,
        "blocked": False,
        "error_type": error.type,
        "error_message": error.message,
        "error_traceback": None,
    }
