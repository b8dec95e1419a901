"""``taskhub schedules list|add|pause|resume|run-now|rm``: the cron schedules of the hub's
workspace (``TASKHUB_WORKSPACE``), through the same service as the REST API, plan included:
a Starter workspace may list, pause and remove schedules, not add, resume or run them."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from taskhub.cli import render as render
from taskhub.cli.common import (
    command,
    opened,
    publish_reported_here,
    warn_if_unpublished,
    workspace_of,
)
from taskhub.domain.schedule_policies import MissedPolicy, OverlapPolicy
from taskhub.domain.schedule_records import Schedule, ScheduleSpec
from taskhub.domain.schedules import describe
from taskhub.domain.serialize import record_to_dict, to_jsonable

schedules_app = typer.Typer(
    no_args_is_help=True, help="Cron schedules: list, add, pause, resume, run now, remove."
)

ScheduleId = Annotated[str, typer.Argument(help="The schedule's id.", show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Add ``taskhub schedules ...`` to the ``taskhub`` app."""
    app.add_typer(schedules_app, name="schedules")


def schedule_to_dict(s: Schedule) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(s)
    data["cron_description"] = describe(s.cron)
    return data


def _input(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint="'--input'") from None


@command(schedules_app, "list")
def list_(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 25,
    skip: Annotated[int, typer.Option(min=0)] = 0,
    as_json: AsJson = False,
) -> None:
    """List the workspace's schedules (made here, over the API or in beat_schedule.py)."""
    with opened() as hub:
        items, total = hub.schedules.page(hub.workspace_id, limit=limit, skip=skip)
    if as_json:
        page = [schedule_to_dict(s) for s in items]
        render.print_json({"items": page, "total": total, "limit": limit, "skip": skip})
    else:
        render.out().print(render.schedules_table(items, total, skip))


@command(schedules_app, "add")
def add(
    name: Annotated[str, typer.Argument(help="A name unique in the workspace.")],
    task: Annotated[str, typer.Argument(help="Registered task name, e.g. reports.daily_sales.")],
    cron: Annotated[str, typer.Argument(help='Five fields ("0 2 * * *") or @hourly, @daily, ...')],
    tz: Annotated[str, typer.Option("--tz", help="IANA time zone of the cron's clock.")] = "UTC",
    input: Annotated[str | None, typer.Option("--input", "-i", help="JSON object.")] = None,
    priority: Annotated[int | None, typer.Option(help="0-9, higher runs first.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds.")] = None,
    retries: Annotated[int | None, typer.Option(help="Retries after a failure.")] = None,
    missed: Annotated[
        MissedPolicy, typer.Option(help="Fire times missed while beat was away.")
    ] = MissedPolicy.RUN_ONCE,
    overlap: Annotated[
        OverlapPolicy, typer.Option(help="A fire time while the previous run is not finished.")
    ] = OverlapPolicy.ALLOW,
    as_json: AsJson = False,
) -> None:
    """Add a schedule; prints its id, its cron in words and its next run."""
    spec = ScheduleSpec(
        name=name,
        task=task,
        cron=cron,
        timezone=tz,
        input=_input(input),
        options={"priority": priority, "timeout_s": timeout, "retries": retries},
        missed_policy=missed,
        overlap_policy=overlap,
    )
    with opened() as hub:
        schedule = hub.schedules.create(workspace_of(hub), spec)
    _show(schedule, as_json)


@command(schedules_app, "pause")
def pause(schedule_id: ScheduleId, as_json: AsJson = False) -> None:
    """Pause a schedule: it fires nothing until resumed."""
    with opened() as hub:
        schedule = hub.schedules.pause(hub.workspace_id, schedule_id)
    _show(schedule, as_json)


@command(schedules_app, "resume")
def resume(schedule_id: ScheduleId, as_json: AsJson = False) -> None:
    """Resume a schedule from its next fire time (none missed while paused is run)."""
    with opened() as hub:
        schedule = hub.schedules.resume(workspace_of(hub), schedule_id)
    _show(schedule, as_json)


@command(schedules_app, "run-now")
def run_now(schedule_id: ScheduleId, as_json: AsJson = False) -> None:
    """Submit one run of a schedule now; prints the task."""
    with opened() as hub, publish_reported_here():
        record = hub.schedules.run_now(workspace_of(hub), schedule_id)
    warn_if_unpublished(record)
    if as_json:
        render.print_json(record_to_dict(record))
    else:
        render.out().print(render.task_line(record))


@command(schedules_app, "rm")
def rm(schedule_id: ScheduleId) -> None:
    """Remove a schedule; the tasks it ran are kept."""
    with opened() as hub:
        hub.schedules.delete(hub.workspace_id, schedule_id)
    render.out().print(f"removed schedule {schedule_id}")


def _show(schedule: Schedule, as_json: bool) -> None:
    if as_json:
        render.print_json(schedule_to_dict(schedule))
    else:
        render.out().print(render.schedule_line(schedule))
