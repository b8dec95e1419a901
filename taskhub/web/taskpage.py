"""What a task's page shows, computed from its record: its steps (declared ones not begun yet
shown as queued), "Step N of M", its outputs (one shown as is, several as tabs), timings, and the
input box that runs the task again.

The page (``GET /tasks/ID``) and its live region (``GET /tasks/ID/live``, re-fetched on each
``taskhub-task`` event for the task) render the same template, ``task_live.html``, from the same
:func:`context`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from taskhub.domain.clock import now
from taskhub.domain.errors import NotFoundError
from taskhub.domain.paging import TaskFilter
from taskhub.domain.records import Output, StepRecord, TaskRecord
from taskhub.domain.states import StepStatus
from taskhub.hub import TaskHub
from taskhub.web import views
from taskhub.web.common import Viewer

MAX_TABS = 12  # outputs shown in tabs; past that, listed as links
COMPARE_CHOICES = 20  # recent runs offered by "Compare with..."
STEP_LABELS = {
    StepStatus.QUEUED: "Queued",
    StepStatus.RUNNING: "Running",
    StepStatus.COMPLETED: "Completed",
    StepStatus.FAILED: "Failed",
}


@dataclass(frozen=True)
class StepView:
    """One step as the page lists it."""

    name: str
    position: int
    status: StepStatus
    label: str
    detail: str | None
    started: str
    finished: str
    duration: str


@dataclass(frozen=True)
class OutputView:
    """One output: its text as shown (JSON pretty-printed) and where to download it."""

    name: str
    key: str  # a stable HTML id fragment
    content_type: str
    text: str
    url: str

    @property
    def download_url(self) -> str:
        return f"{self.url}?download=1"


@dataclass(frozen=True)
class State:
    """What a person opened on the page, sent back by the live region's refresh."""

    open_steps: frozenset[str] = frozenset()
    tab: str | None = None


def context(
    hub: TaskHub, viewer: Viewer, record: TaskRecord, state: State | None = None
) -> dict[str, Any]:
    """Everything ``task_live.html`` renders (the page adds its forms to it)."""
    definition = hub.tasks.definition(record.task_name)
    steps = step_views(record, definition.steps if definition else ())
    outputs = output_views(hub, viewer, record)
    state = state or State()
    names = [output.name for output in outputs]
    return {
        "viewer": viewer,
        "task": record,
        "description": definition.description if definition else "",
        "runnable": definition is not None,
        "percent": views.percent(record),
        "counter": step_counter(record, steps),
        "steps": steps,
        "outputs": outputs,
        "more_outputs": record.output_names[MAX_TABS:],
        "selected": state.tab if state.tab in names else (names[0] if names else None),
        "open_steps": state.open_steps,
        "actions": views.actions(record),
        "duration": duration(record.started_at, record.finished_at),
        "live_url": f"/tasks/{record.id}/live",
    }


def step_views(record: TaskRecord, declared: Collection[str]) -> list[StepView]:
    """The steps begun (``record.steps``), and the declared ones not begun yet as queued."""
    seen = {step.name for step in record.steps}
    waiting = [
        StepRecord(name, position, StepStatus.QUEUED, None, None, None)
        for position, name in enumerate(declared, start=1)
        if name not in seen
    ]
    steps = sorted([*record.steps, *waiting], key=lambda step: step.position)
    return [_step_view(step) for step in steps]


def _step_view(step: StepRecord) -> StepView:
    running = step.status is StepStatus.RUNNING
    return StepView(
        name=step.name,
        position=step.position,
        status=step.status,
        label=STEP_LABELS[step.status],
        detail=step.detail,
        started=views.when(step.started_at),
        finished=views.when(step.finished_at),
        duration=duration(step.started_at, step.finished_at, ongoing=running),
    )


def step_counter(record: TaskRecord, steps: list[StepView]) -> str:
    """``"Step 2 of 5"``: the step it is at (or reached) of all it has; ``""`` without steps."""
    total = max(record.progress.total_steps or 0, len(steps))
    if not total:
        return ""
    current = record.progress.current_step or max(
        (s.position for s in steps if s.status is not StepStatus.QUEUED), default=0
    )
    if not current:
        return f"Not started: {total} step{'' if total == 1 else 's'}"
    return f"Step {min(current, total)} of {total}"


def duration(start: datetime | None, end: datetime | None, *, ongoing: bool = False) -> str:
    """How long from ``start`` to ``end`` (to now when ``ongoing``), e.g. ``"1.2 s"``; ``"—"``."""
    if start is None or (end is None and not ongoing):
        return "—"
    seconds = max(0.0, ((end or now()) - start).total_seconds())
    return seconds_text(seconds)


def seconds_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def output_views(hub: TaskHub, viewer: Viewer, record: TaskRecord) -> list[OutputView]:
    """The task's first :data:`MAX_TABS` outputs, read."""
    found: list[OutputView] = []
    for index, name in enumerate(record.output_names[:MAX_TABS]):
        try:
            output = hub.tasks.output(viewer.workspace.id, record.id, name)
        except NotFoundError:  # gone between the two reads (a retry cleared it)
            continue
        found.append(output_view(record.id, output, index))
    return found


def output_view(task_id: str, output: Output, index: int) -> OutputView:
    url = f"/tasks/{task_id}/outputs/{quote(output.name, safe='')}"
    return OutputView(output.name, f"o{index}", output.content_type, shown(output), url)


def shown(output: Output) -> str:
    """The output as the page shows it: JSON pretty-printed, text as it is."""
    if output.content_type != "application/json":
        return output.content
    try:
        return json.dumps(json.loads(output.content), indent=2, ensure_ascii=False)
    except ValueError:
        return output.content


def input_text(value: object) -> str:
    """A task's input as the run box shows it."""
    return json.dumps(value if value is not None else {}, indent=2, ensure_ascii=False)


def recent_runs(hub: TaskHub, viewer: Viewer, record: TaskRecord) -> list[TaskRecord]:
    """Other recent runs of the same task in the workspace, newest first (to compare with)."""
    where = TaskFilter(viewer.workspace.id, task_name=record.task_name)
    found = hub.tasks.list_tasks(where, limit=COMPARE_CHOICES + 1).items
    return [run for run in found if run.id != record.id][:COMPARE_CHOICES]


def run_url(task_name: str) -> str:
    return f"/definitions/{quote(task_name, safe='')}/run"


def attachment(name: str, content_type: str) -> str:
    """The ``Content-Disposition`` that saves output ``name`` as a text file: a plain ASCII
    ``filename`` (with ``.json`` or ``.txt`` when it has no extension) and the exact name as
    RFC 6266's ``filename*``."""
    base = name.rsplit("/", 1)[-1] or "output"
    if "." not in base.strip("."):
        base += ".json" if content_type == "application/json" else ".txt"
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in base)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(base, safe='')}"
