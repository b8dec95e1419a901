"""Cron schedules over HTTP: create, list, read, change, pause, resume, run now, delete.

Each route calls one method of :class:`~taskhub.services.schedules.Schedules`; the service
checks every field (a bad cron or time zone is a 422 naming ``cron`` or ``timezone``) and the
plan (Starter: 403). Scoped to the API key's workspace: another workspace's schedule is 404.
The list holds both kinds: made here (``source: api``) and in ``beat_schedule.py`` (``code``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from taskhub.api.deps import HubDep, WorkspaceDep
from taskhub.api.pages import BAD_BODY, BAD_QUERY, NEEDS_KEY, Limit, Page, Skip
from taskhub.api.problems import problems
from taskhub.api.schemas import TaskDetail
from taskhub.domain.errors import ValidationError
from taskhub.domain.registry import PRIORITY_MAX, PRIORITY_MIN
from taskhub.domain.schedule_policies import FiringDecision, MissedPolicy, OverlapPolicy
from taskhub.domain.schedule_records import MAX_NAME_CHARS, Schedule, ScheduleSpec
from taskhub.domain.schedules import describe
from taskhub.domain.serialize import record_to_dict

router = APIRouter(tags=["schedules"], responses=problems(NEEDS_KEY))

MAX_OFFSET_S = 10 * 366 * 24 * 3600  # ten years: a run's deadline stays a real date
NOT_FOUND = {404: "No such schedule in this workspace (or it was deleted)."}
PLAN = {403: "The workspace's plan does not include scheduled tasks (Starter)."}
CHANGING = {409: "The schedule kept changing meanwhile (beat fired it, say); try again."}
NAME_TAKEN = {409: "A schedule of this name exists in the workspace."}
NULLABLE = frozenset({"input", "options"})  # null resets them; other fields may not be null


class OptionsIn(BaseModel):
    """What each run is submitted with; a field left out takes the task's default."""

    model_config = ConfigDict(extra="forbid")

    priority: int | None = Field(None, strict=True, ge=PRIORITY_MIN, le=PRIORITY_MAX)
    timeout_s: float | None = Field(
        None, strict=True, gt=0, allow_inf_nan=False, description="Seconds."
    )
    retries: int | None = Field(None, strict=True, ge=0, le=1000)
    deadline_offset_s: float | None = Field(
        None,
        strict=True,
        gt=0,
        le=MAX_OFFSET_S,
        allow_inf_nan=False,
        description="Each run's deadline: this many seconds after its fire time.",
    )


CRON_DOC = (
    'Five fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * *") or an alias '
    "(@hourly, @daily, @weekly, @monthly, @yearly)."
)
TZ_DOC = 'An IANA time zone (e.g. "Europe/Berlin"): the cron reads its wall clock.'


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=MAX_NAME_CHARS, description="Unique in the workspace."
    )
    task: str = Field(min_length=1, max_length=200, description="A registered task name.")
    cron: str = Field(max_length=200, description=CRON_DOC)
    timezone: str = Field("UTC", max_length=64, description=TZ_DOC)
    input: dict[str, Any] | None = Field(None, description="Each run's input, a JSON object.")
    options: OptionsIn | None = None
    missed_policy: MissedPolicy = Field(
        MissedPolicy.RUN_ONCE, description="Fire times missed while beat was away."
    )
    overlap_policy: OverlapPolicy = Field(
        OverlapPolicy.ALLOW, description="A fire time while an earlier run is not finished."
    )
    enabled: bool = Field(True, strict=True)

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            name=self.name,
            task=self.task,
            cron=self.cron,
            timezone=self.timezone,
            input=self.input,
            options=self.options.model_dump() if self.options is not None else None,
            missed_policy=self.missed_policy,
            overlap_policy=self.overlap_policy,
            enabled=self.enabled,
        )


class ScheduleChangesIn(BaseModel):
    """Any of a schedule's fields; those left out stay. ``options`` replaces all the options.
    A new cron or time zone (or enabling it) fires from the next fire time after now."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=MAX_NAME_CHARS)
    task: str | None = Field(None, min_length=1, max_length=200)
    cron: str | None = Field(None, max_length=200, description=CRON_DOC)
    timezone: str | None = Field(None, max_length=64, description=TZ_DOC)
    input: dict[str, Any] | None = Field(None, description="null: no input.")
    options: OptionsIn | None = Field(None, description="null: the task's defaults.")
    missed_policy: MissedPolicy | None = None
    overlap_policy: OverlapPolicy | None = None
    enabled: bool | None = Field(None, strict=True)

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(exclude_unset=True)
        for field, value in given.items():
            if value is None and field not in NULLABLE:
                raise ValidationError(field, "may not be null (leave it out to keep it)")
        return given


class OptionsOut(BaseModel):
    priority: int | None
    timeout_s: float | None
    retries: int | None
    deadline_offset_s: float | None


class FiringOut(BaseModel):
    """One decision about one fire time: fired (with its task) or skipped (with why)."""

    fire_time: datetime
    decided_at: datetime
    outcome: Literal["fired", "skipped"]
    reason: str | None
    task_id: str | None

    @classmethod
    def of(cls, d: FiringDecision) -> FiringOut:
        return cls.model_validate(d, from_attributes=True)


class ScheduleOut(BaseModel):
    id: str
    name: str
    task: str
    input: dict[str, Any]
    cron: str = Field(description="Normalized: five fields.")
    cron_description: str = Field(description='In words, e.g. "At 02:00 AM".')
    timezone: str
    enabled: bool
    options: OptionsOut
    missed_policy: MissedPolicy
    overlap_policy: OverlapPolicy
    next_run_at: datetime = Field(description="The next fire time not yet decided.")
    queued_fire_at: datetime | None = Field(
        description="queue_one: a fire time waiting for the previous run to end."
    )
    last_run_at: datetime | None = Field(description="The fire time of the last run.")
    last_task_id: str | None
    source: Literal["api", "code"] = Field(description="Made over the API, or beat_schedule.py.")
    trail: list[FiringOut] = Field(description="The recent firing decisions, oldest first.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: Schedule) -> ScheduleOut:
        return cls(
            id=s.id,
            name=s.name,
            task=s.task_name,
            input=s.input,
            cron=s.cron,
            cron_description=describe(s.cron),
            timezone=s.timezone,
            enabled=s.enabled,
            options=OptionsOut(**s.options.to_dict()),
            missed_policy=s.missed_policy,
            overlap_policy=s.overlap_policy,
            next_run_at=s.next_run_at,
            queued_fire_at=s.queued_fire_at,
            last_run_at=s.last_run_at,
            last_task_id=s.last_task_id,
            source=s.source,
            trail=[FiringOut.of(entry) for entry in s.trail],
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


@router.get("/schedules", responses=problems(BAD_QUERY))
def list_schedules(
    hub: HubDep, workspace: WorkspaceDep, limit: Limit = 25, skip: Skip = 0
) -> Page[ScheduleOut]:
    """The workspace's schedules, both kinds (`source` api and code), oldest first."""
    items, total = hub.schedules.page(workspace.id, limit=limit, skip=skip)
    return Page(items=[ScheduleOut.of(s) for s in items], total=total, limit=limit, skip=skip)


@router.post("/schedules", status_code=201, responses=problems(BAD_BODY, PLAN, NAME_TAKEN))
def create_schedule(
    body: ScheduleIn, hub: HubDep, workspace: WorkspaceDep, response: Response
) -> ScheduleOut:
    """Create a schedule; it fires from its next fire time after now (when enabled)."""
    schedule = hub.schedules.create(workspace, body.spec())
    response.headers["Location"] = f"/api/v1/schedules/{schedule.id}"
    return ScheduleOut.of(schedule)


@router.get("/schedules/{schedule_id}", responses=problems(NOT_FOUND))
def get_schedule(schedule_id: str, hub: HubDep, workspace: WorkspaceDep) -> ScheduleOut:
    """One schedule, with its recent firing decisions (`trail`)."""
    return ScheduleOut.of(hub.schedules.get(workspace.id, schedule_id))


@router.patch(
    "/schedules/{schedule_id}",
    responses=problems(BAD_BODY, PLAN, NOT_FOUND, {409: f"{NAME_TAKEN[409]} {CHANGING[409]}"}),
)
def update_schedule(
    schedule_id: str, body: ScheduleChangesIn, hub: HubDep, workspace: WorkspaceDep
) -> ScheduleOut:
    """Change any of the fields given; the others stay."""
    return ScheduleOut.of(hub.schedules.update(workspace, schedule_id, body.changes()))


@router.delete(
    "/schedules/{schedule_id}",
    status_code=204,
    response_class=Response,
    responses=problems(NOT_FOUND),
)
def delete_schedule(schedule_id: str, hub: HubDep, workspace: WorkspaceDep) -> Response:
    """Delete a schedule: it fires no more. Its runs so far are kept."""
    hub.schedules.delete(workspace.id, schedule_id)
    return Response(status_code=204)


@router.post("/schedules/{schedule_id}/pause", responses=problems(NOT_FOUND, CHANGING))
def pause_schedule(schedule_id: str, hub: HubDep, workspace: WorkspaceDep) -> ScheduleOut:
    """Fire nothing until resumed (a queued run waiting its turn is dropped). Any plan."""
    return ScheduleOut.of(hub.schedules.pause(workspace.id, schedule_id))


@router.post("/schedules/{schedule_id}/resume", responses=problems(PLAN, NOT_FOUND, CHANGING))
def resume_schedule(schedule_id: str, hub: HubDep, workspace: WorkspaceDep) -> ScheduleOut:
    """Fire again from the next fire time after now: none of those missed while paused."""
    return ScheduleOut.of(hub.schedules.resume(workspace, schedule_id))


@router.post(
    "/schedules/{schedule_id}/run-now",
    status_code=202,
    response_model=TaskDetail,
    responses=problems(PLAN, NOT_FOUND, CHANGING),
)
def run_schedule_now(
    schedule_id: str, hub: HubDep, workspace: WorkspaceDep, response: Response
) -> dict[str, Any]:
    """Submit one run now, whatever the overlap policy: 202 and the new task's record (a
    `scheduled` task whose `origin` is `schedule:<id>`). Noted in the schedule's trail."""
    record = hub.schedules.run_now(workspace, schedule_id)
    response.headers["Location"] = f"/api/v1/tasks/{record.id}"
    return record_to_dict(record)
