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
from dataclasses import replace
from datetime import datetime
from typing import Any

from taskhub.domain.clock import now as real_now
from taskhub.domain.errors import ConflictError, TaskhubError, ValidationError
from taskhub.domain.plans import Feature, require
from taskhub.domain.records import TaskRecord, Workspace
from taskhub.domain.registry import lookup
from taskhub.domain.schedule_policies import (
    FiringDecision,
    append_trail,
)
from taskhub.domain.schedule_records import (
    CHANGEABLE,
    CodeSchedule,
    Schedule,
    ScheduleSpec,
    Source,
    TickReport,
    check_name,
    later_than,
    missed_policy,
    overlap_policy,
    schedule_options,
)
from taskhub.domain.schedules import check_timezone, next_fire, parse_cron
from taskhub.domain.settings import Settings
from taskhub.domain.submissions import check_input
from taskhub.services.firing import TICK_BUDGET_S, Firing
from taskhub.services.tasks import Tasks
from taskhub.store.schedules import ScheduleStore

log = logging.getLogger(__name__)
MAX_PAGE = 1000
CAS_TRIES = 5


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
        self._firing = Firing(schedules, tasks, clock=clock, batch=batch)

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
        record = self._firing.submit(schedule, at)
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
            new = replace(change(current), updated_at=later_than(current.updated_at))
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

    def tick(self, now: datetime | None = None, *, budget_s: float = TICK_BUDGET_S) -> TickReport:
        """Fire what is due (:meth:`taskhub.services.firing.Firing.tick`)."""
        return self._firing.tick(now, budget_s=budget_s)

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
