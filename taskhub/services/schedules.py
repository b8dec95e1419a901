"""Schedules: cron schedules a workspace keeps in the database, and the tick that fires them.

Beat's :class:`~taskhub.worker.beat.DatabaseScheduler` calls :meth:`Schedules.tick` every
second; it reads the due schedules each time, so a schedule created, paused or deleted here
is seen within a second without a restart. Each firing is submitted through :class:`Tasks`
as a ``scheduled`` task keyed by ``(schedule, fire time)``: two beat processes firing the same
time get one record. Which beat records the decision is a compare-and-set on the schedule's
row (:meth:`ScheduleStore.save` with ``seen``); the other's write matches nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from taskhub.domain.clock import now as real_now
from taskhub.domain.errors import ConflictError, TaskhubError, TransitionError, ValidationError
from taskhub.domain.plans import Feature, Plan, allows, require
from taskhub.domain.records import TaskRecord, Workspace
from taskhub.domain.registry import lookup
from taskhub.domain.schedule_policies import (
    FiringDecision,
    OverlapAction,
    OverlapPolicy,
    append_trail,
    due_firings,
    on_overlap,
)
from taskhub.domain.schedule_records import (
    CHANGEABLE,
    CodeSchedule,
    Schedule,
    ScheduleSpec,
    Source,
    TickReport,
    check_name,
    missed_policy,
    overlap_policy,
    schedule_options,
)
from taskhub.domain.schedules import check_timezone, next_fire, parse_cron
from taskhub.domain.settings import Settings
from taskhub.domain.states import TaskType
from taskhub.domain.submissions import Submission, check_input
from taskhub.services.tasks import Tasks
from taskhub.store.schedules import ACTIVE, WAITING, ScheduleStore

log = logging.getLogger(__name__)
MAX_PAGE = 1000
CAS_TRIES = 5
RELEASED = "queue_one: the previous run ended"
NOT_IN_PLAN = "refused: the workspace's plan does not include scheduled tasks (Growth, Enterprise)"


class Schedules:
    """A workspace's schedules (create, read, change) and :meth:`tick`, which fires them."""

    def __init__(
        self,
        settings: Settings,
        schedules: ScheduleStore,
        tasks: Tasks,
        *,
        clock: Callable[[], datetime] = real_now,
        batch: int = 100,
    ) -> None:
        self._settings = settings
        self._store = schedules
        self._tasks = tasks
        self._clock = clock
        self._batch = batch

    # -- people's side ---------------------------------------------------------------------

    def create(self, workspace: Workspace, spec: ScheduleSpec) -> Schedule:
        require(workspace, Feature.SCHEDULED)
        schedule = self._build(workspace.id, spec, source="api")
        self._store.insert(schedule)
        return schedule

    def get(self, workspace_id: str, schedule_id: str) -> Schedule:
        return self._store.get(workspace_id, schedule_id)

    def page(self, workspace_id: str, limit: int = 25, skip: int = 0) -> tuple[list[Schedule], int]:
        """Both kinds (made here and in ``beat_schedule.py``), oldest first, and the total."""
        if not 1 <= limit <= MAX_PAGE:
            raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
        if skip < 0:
            raise ValidationError("skip", f"must be 0 or more, got {skip}")
        return self._store.page(workspace_id, limit=limit, skip=skip)

    def update(
        self, workspace: Workspace, schedule_id: str, changes: Mapping[str, Any]
    ) -> Schedule:
        """Change any of :class:`ScheduleSpec`'s fields; a new cron or time zone (or turning
        it on) starts from the next fire time after now."""
        require(workspace, Feature.SCHEDULED)
        unknown = sorted(set(changes) - CHANGEABLE)
        if unknown:
            raise ValidationError(unknown[0], "is not a field of a schedule")

        def change(current: Schedule) -> Schedule:
            spec = replace(_spec_of(current), **changes)
            built = self._build(current.workspace_id, spec, source=current.source)
            restart = (built.cron, built.timezone) != (current.cron, current.timezone) or (
                built.enabled and not current.enabled
            )
            return replace(
                built,
                id=current.id,
                code_key=current.code_key,
                next_run_at=built.next_run_at if restart else current.next_run_at,
                queued_fire_at=current.queued_fire_at if built.enabled else None,
                last_run_at=current.last_run_at,
                last_task_id=current.last_task_id,
                trail=current.trail,
                created_at=current.created_at,
            )

        return self._change(workspace.id, schedule_id, change)

    def pause(self, workspace_id: str, schedule_id: str) -> Schedule:
        """Fires nothing until resumed (a queued run waiting its turn is dropped)."""
        return self._change(
            workspace_id, schedule_id, lambda s: replace(s, enabled=False, queued_fire_at=None)
        )

    def resume(self, workspace: Workspace, schedule_id: str) -> Schedule:
        """Fires again from the next fire time after now: none missed while paused."""
        require(workspace, Feature.SCHEDULED)

        def resumed(s: Schedule) -> Schedule:
            if s.enabled:
                return s
            upcoming = next_fire(s.cron, s.timezone, self._clock())
            return replace(s, enabled=True, next_run_at=upcoming)

        return self._change(workspace.id, schedule_id, resumed)

    def run_now(self, workspace: Workspace, schedule_id: str) -> TaskRecord:
        """One run now, as if it were a fire time (whatever the overlap policy)."""
        require(workspace, Feature.SCHEDULED)
        schedule = self._store.get(workspace.id, schedule_id)
        at = self._clock()
        record = self._submit(schedule, at)
        entry = FiringDecision(at, at, "fired", "run now", record.id)

        def noted(s: Schedule) -> Schedule:
            trail = append_trail(s.trail, entry)
            return replace(s, trail=trail, last_run_at=at, last_task_id=record.id)

        self._change(workspace.id, schedule_id, noted)
        return record

    def delete(self, workspace_id: str, schedule_id: str) -> None:
        """Gone at once; its runs so far are kept (their ``origin`` still names it)."""
        self._store.delete(workspace_id, schedule_id)

    def _change(
        self, workspace_id: str, schedule_id: str, change: Callable[[Schedule], Schedule]
    ) -> Schedule:
        """Read, change, write back if nobody wrote meanwhile (a tick, say); else again."""
        for _ in range(CAS_TRIES):
            current = self._store.get(workspace_id, schedule_id)
            new = replace(change(current), updated_at=_after(current.updated_at))
            if new == replace(current, updated_at=new.updated_at):
                return current
            if self._store.save(new, seen=current.updated_at):
                return new
        raise ConflictError(f"schedule {schedule_id!r} keeps changing; try again")

    def _build(
        self, workspace_id: str, spec: ScheduleSpec, *, source: Source, key: str | None = None
    ) -> Schedule:
        """A new schedule from ``spec``, every field checked (``ValidationError`` naming it)."""
        name = check_name(spec.name)
        definition = lookup(spec.task)
        task_input = check_input(spec.input, definition)
        cron = parse_cron(spec.cron)
        zone = check_timezone(spec.timezone)
        if not isinstance(spec.enabled, bool):
            raise ValidationError("enabled", f"must be true or false, got {spec.enabled!r}")
        at = self._clock()
        return Schedule(
            id=str(uuid.uuid4()),
            workspace_id=workspace_id,
            name=name,
            task_name=definition.name,
            input=task_input,
            cron=cron,
            timezone=zone.key,
            enabled=spec.enabled,
            options=schedule_options(spec.options),
            missed_policy=missed_policy(spec.missed_policy),
            overlap_policy=overlap_policy(spec.overlap_policy),
            next_run_at=next_fire(cron, zone, at),
            queued_fire_at=None,
            last_run_at=None,
            last_task_id=None,
            source=source,
            code_key=key,
            trail=(),
            created_at=at,
            updated_at=at,
        )

    # -- beat's side -----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> TickReport:
        """Fire what is due at ``now`` (default: the clock): missed-run and overlap policies
        applied, each run submitted once, each decision kept in the schedule's trail."""
        at = now or self._clock()
        report = TickReport()
        due = self._store.due(at, self._batch)
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
            updated_at=_after(s.updated_at),
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
            record = self._submit(s, fire)
        except ValidationError as exc:
            return FiringDecision(fire, decided, "skipped", f"refused: {exc}")
        return FiringDecision(fire, decided, "fired", why, record.id)

    def _submit(self, s: Schedule, fire: datetime) -> TaskRecord:
        options = s.options
        ask = Submission(
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
        return self._tasks.submit(s.workspace_id, s.task_name, s.input, ask)

    def _cancel_runs(self, s: Schedule, besides: str) -> None:
        for task_id in self._store.runs(s, (*ACTIVE, *WAITING), besides=besides):
            with suppress(TransitionError):  # it finished meanwhile
                self._tasks.cancel(s.workspace_id, task_id)

    # -- beat_schedule.py ------------------------------------------------------------------

    def sync_code(self, entries: Sequence[CodeSchedule]) -> dict[str, int]:
        """Make the ``source="code"`` schedules what ``beat_schedule.py`` says: each entry
        created or updated (never twice: keyed by workspace and entry key), and those no
        longer in it disabled. Returns how many were created, updated and disabled."""
        counts = {"created": 0, "updated": 0, "unchanged": 0, "disabled": 0, "refused": 0}
        kept: set[tuple[str, str]] = set()
        existing = {(s.workspace_id, s.code_key): s for s in self._store.code_schedules()}
        for entry in entries:
            try:
                workspace_id = self._store.ensure_workspace(entry.workspace, self._clock())
                kept.add((workspace_id, entry.key))
                current = existing.get((workspace_id, entry.key))
                counts[self._sync_one(workspace_id, entry, current)] += 1
            except TaskhubError as exc:
                log.error("beat_schedule.py entry %r not synced: %s", entry.key, exc)
                counts["refused"] += 1
        for (workspace_id, key), s in existing.items():
            if (workspace_id, key or "") not in kept and s.enabled:
                self._change(workspace_id, s.id, lambda s: replace(s, enabled=False))
                counts["disabled"] += 1
        return counts

    def _sync_one(self, workspace_id: str, entry: CodeSchedule, current: Schedule | None) -> str:
        wanted = self._build(workspace_id, entry.spec, source="code", key=entry.key)
        if current is None:
            if self._store.insert_once(wanted):
                return "created"
            current = self._store.by_name(workspace_id, wanted.name)
            if current is None or current.source != "code" or current.code_key != entry.key:
                raise ConflictError(f"the name {wanted.name!r} is taken in {entry.workspace!r}")
        if _spec_of(current) == _spec_of(wanted):
            return "unchanged"
        self._change(workspace_id, current.id, lambda s: _synced(s, wanted))
        return "updated"


def _synced(current: Schedule, wanted: Schedule) -> Schedule:
    """``current`` as ``wanted`` says; from the next fire time if its timing changed."""
    restart = (wanted.cron, wanted.timezone) != (current.cron, current.timezone)
    return replace(
        current,
        name=wanted.name,
        task_name=wanted.task_name,
        input=wanted.input,
        cron=wanted.cron,
        timezone=wanted.timezone,
        enabled=wanted.enabled,
        options=wanted.options,
        missed_policy=wanted.missed_policy,
        overlap_policy=wanted.overlap_policy,
        next_run_at=wanted.next_run_at if restart or not current.enabled else current.next_run_at,
    )


def _spec_of(s: Schedule) -> ScheduleSpec:
    return ScheduleSpec(
        name=s.name,
        task=s.task_name,
        cron=s.cron,
        timezone=s.timezone,
        input=s.input,
        options=s.options,
        missed_policy=s.missed_policy,
        overlap_policy=s.overlap_policy,
        enabled=s.enabled,
    )


def _after(previous: datetime) -> datetime:
    """Now, but always later than ``previous``: ``updated_at`` is the compare-and-set's token."""
    return max(real_now(), previous + timedelta(microseconds=1))
