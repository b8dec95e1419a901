"""Firing schedules: what beat's tick does with the due ones (:class:`Firing`).

Missed-run and overlap policies applied (:mod:`taskhub.domain.schedule_policies`), each run
submitted once per fire time (its idempotency key), each decision kept in the schedule's
trail, and the schedule's row saved by compare-and-set, so two beats never decide one fire
time twice. A workspace whose plan lacks scheduled tasks has its firings skipped, with why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime

from taskhub.domain.clock import now as real_now
from taskhub.domain.errors import TransitionError, ValidationError
from taskhub.domain.plans import Feature, Plan, allows
from taskhub.domain.records import TaskRecord
from taskhub.domain.schedule_policies import (
    FiringDecision,
    OverlapAction,
    OverlapPolicy,
    append_trail,
    due_firings,
    on_overlap,
)
from taskhub.domain.schedule_records import Schedule, TickReport, later_than
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission
from taskhub.services.tasks import Tasks
from taskhub.store.schedules import ACTIVE, WAITING, ScheduleStore

log = logging.getLogger(__name__)
RELEASED = "queue_one: the previous run ended"
TICK_BUDGET_S = 5.0  # one tick fires batch after batch for at most this long
NOT_IN_PLAN = "refused: the workspace's plan does not include scheduled tasks (Growth, Enterprise)"


class Firing:
    """Fires the due schedules of every workspace (beat's side of :mod:`schedules`)."""

    def __init__(
        self,
        store: ScheduleStore,
        tasks: Tasks,
        *,
        clock: Callable[[], datetime] = real_now,
        batch: int = 100,
    ) -> None:
        self._store = store
        self._tasks = tasks
        self._clock = clock
        self._batch = batch
        self._made: list[TaskRecord] = []  # runs this batch recorded, not yet published

    def tick(self, now: datetime | None = None, *, budget_s: float = TICK_BUDGET_S) -> TickReport:
        """Fire what is due at ``now`` (default: the clock): missed-run and overlap policies
        applied, each run submitted once, each decision kept in the schedule's trail. Batch
        after batch while full ones come back, for up to ``budget_s`` (the rest is still due
        at the next tick); it stops early when a batch failed or another beat took it all."""
        at = now or self._clock()
        report = TickReport()
        give_up = time.monotonic() + budget_s
        while True:
            due = self._store.due(at, self._batch)
            batch = self._fire_batch(due, at)
            report = TickReport(
                report.fired + batch.fired,
                report.skipped + batch.skipped,
                report.lost + batch.lost,
                report.errors + batch.errors,
            )
            drained = len(due) < self._batch or batch.errors or batch.lost == len(due)
            if drained or time.monotonic() >= give_up:
                return report

    def _fire_batch(self, due: Sequence[Schedule], at: datetime) -> TickReport:
        """Decide each schedule of ``due``; the runs recorded are published together at the
        end (one producer for the batch)."""
        try:
            return self._decide_batch(due, at)
        finally:
            made, self._made = self._made, []
            self._tasks.publish(made)

    def _decide_batch(self, due: Sequence[Schedule], at: datetime) -> TickReport:
        report = TickReport()
        plans = self._store.plans([s.workspace_id for s in due]) if due else {}
        for schedule in due:
            try:
                allowed = allows(Plan(plans[schedule.workspace_id]), Feature.SCHEDULED)
                fired, skipped, won = self._fire(schedule, at, allowed)
            except Exception as exc:  # one schedule's failure never stops the others
                log.exception("schedule %s (%s) failed to fire", schedule.id, schedule.name)
                report.errors.append(f"{schedule.id}: {exc}")
                continue
            if won:
                report = replace(
                    report, fired=report.fired + fired, skipped=report.skipped + skipped
                )
            else:
                report = replace(report, lost=report.lost + 1)
        return report

    def _fire(self, s: Schedule, at: datetime, allowed: bool = True) -> tuple[int, int, bool]:
        """Decide ``s``'s due fire times; ``allowed``: its workspace's plan includes scheduled
        tasks (when it does not, each is skipped, with why)."""
        entries: list[FiringDecision] = []
        queued, last_run, last_task = s.queued_fire_at, s.last_run_at, s.last_task_id
        decided = self._clock()
        if queued is not None:
            active, waiting = self._store.counts(
                replace(s, queued_fire_at=None), besides=s.idempotency_key(queued)
            )
            if active + waiting == 0:
                entry = self._run(s, queued, decided, RELEASED, allowed)
                entries.append(entry)
                if entry.task_id:
                    last_run, last_task = queued, entry.task_id
                queued = None
        next_run_at = s.next_run_at
        if s.next_run_at <= at:
            decision = due_firings(s.cron, s.timezone, s.next_run_at, at, s.missed_policy)
            entries += [
                FiringDecision(k.fire_time, decided, "skipped", k.reason) for k in decision.skipped
            ]
            for fire in decision.fire:
                key = s.idempotency_key(fire)
                active, waiting = (  # allow fires whatever runs there are: no need to count
                    (0, 0)
                    if s.overlap_policy is OverlapPolicy.ALLOW
                    else self._store.counts(replace(s, queued_fire_at=queued), besides=key)
                )
                verdict = on_overlap(s.overlap_policy, active=active, waiting=waiting)
                if verdict.action is OverlapAction.SKIP:
                    entries.append(FiringDecision(fire, decided, "skipped", verdict.reason))
                    continue
                if verdict.action is OverlapAction.QUEUE:
                    queued = fire  # fired by a later tick, once the active run ended
                    continue
                if verdict.action is OverlapAction.CANCEL_THEN_FIRE:
                    self._cancel_runs(s, key)
                    queued = None
                entry = self._run(s, fire, decided, verdict.reason, allowed)
                entries.append(entry)
                if entry.task_id:
                    last_run, last_task = fire, entry.task_id
            next_run_at = decision.next_run_at
        new = replace(
            s,
            next_run_at=next_run_at,
            queued_fire_at=queued,
            last_run_at=last_run,
            last_task_id=last_task,
            trail=append_trail(s.trail, *entries),
            updated_at=later_than(s.updated_at),
        )
        won = self._store.save(new, seen=s.updated_at)
        fired = sum(e.outcome == "fired" for e in entries)
        return fired, len(entries) - fired, won

    def _run(
        self, s: Schedule, fire: datetime, decided: datetime, why: str | None, allowed: bool
    ) -> FiringDecision:
        """Submit the run for ``fire``; a run its task now refuses is a skip, with the reason."""
        if not allowed:
            return FiringDecision(fire, decided, "skipped", NOT_IN_PLAN)
        try:
            record, created = self._tasks.write(s.workspace_id, s.task_name, s.input, _ask(s, fire))
        except ValidationError as exc:
            return FiringDecision(fire, decided, "skipped", f"refused: {exc}")
        if created:  # else another beat recorded it first, and publishes it
            self._made.append(record)
        return FiringDecision(fire, decided, "fired", why, record.id)

    def submit(self, s: Schedule, fire: datetime) -> TaskRecord:
        """One run of ``s`` for ``fire``, recorded and published now (run now)."""
        return self._tasks.submit(s.workspace_id, s.task_name, s.input, _ask(s, fire))

    def _cancel_runs(self, s: Schedule, besides: str) -> None:
        for task_id in self._store.runs(s, (*ACTIVE, *WAITING), besides=besides):
            with suppress(TransitionError):  # it finished meanwhile
                self._tasks.cancel(s.workspace_id, task_id)


def _ask(s: Schedule, fire: datetime) -> Submission:
    """What one run of ``s`` for the fire time ``fire`` is submitted with."""
    options = s.options
    return Submission(
        name=s.name,
        priority=options.priority,
        timeout=options.timeout_s,
        retries=options.retries,
        deadline=options.deadline(fire),
        idempotency_key=s.idempotency_key(fire),
        type=TaskType.SCHEDULED,
        origin=s.origin,
        scheduled_for=fire,
    )
