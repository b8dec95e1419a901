"""What the pages show, computed from records: badges, actions offered, filters and paging links.

Presentation only: which button to offer is read from the state machine's table
(:func:`taskhub.domain.states.allowed`); doing the action is the service's (``hub.tasks.act``),
which refuses what it does not allow whatever the page offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from urllib.parse import quote, urlencode

from taskhub.domain.errors import ValidationError
from taskhub.domain.paging import Page, TaskFilter
from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status, TaskType, allowed
from taskhub.web.pager import MAX_PAGE_SIZE, MAX_SKIP, PAGE_SIZE, number

# The history counts its matches up to this many, then says "10,000+": an exact count reads
# every match (all the records of a big workspace, every name a search scans), ~1 s at 1M.
COUNT_UP_TO = 10_000
MAX_TEXT = 200
LABELS = {Status.IN_PROGRESS: "running"}
ACTIONS = ("cancel", "pause", "resume", "retry")
E = TypeVar("E", Status, TaskType)


def status_label(status: Status) -> str:
    return LABELS.get(status, status.value)


def badge_class(status: Status) -> str:
    """One CSS class per status (``badge-running``, ``badge-completed``...)."""
    return f"badge badge-{status_label(status)}"


def count(page: Page, noun: str) -> str:
    """``"1 task"``, ``"12,345 tasks"``, or ``"10,000+ tasks"`` when the count stopped there."""
    if page.total_exact:
        return f"{page.total:,} {noun}{'' if page.total == 1 else 's'}"
    return f"{page.total:,}+ {noun}s"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


@dataclass(frozen=True)
class Source:
    """Where a task came from, as a link: its schedule, trigger, pipeline, or task definition."""

    kind: str  # "schedule" | "trigger" | "pipeline" | "definition"
    label: str
    url: str


def source(record: TaskRecord) -> Source:
    """The page of what started ``record`` (``/schedules/ID``, ``/triggers/ID``,
    ``/pipelines/ID``, else its definition's ``/definitions/NAME``)."""
    kind, _, ident = (record.origin or "").partition(":")
    if kind in ("schedule", "trigger") and ident:
        return Source(kind, record.origin or "", f"/{kind}s/{quote(ident, safe='')}")
    if record.pipeline_id:
        return Source(
            "pipeline", f"pipeline:{record.pipeline_id}", f"/pipelines/{record.pipeline_id}"
        )
    name = record.task_name
    return Source("definition", name, f"/definitions/{quote(name, safe='')}")


def actions(record: TaskRecord) -> list[str]:
    """The actions a person may ask of the task now (a running one: at its next checkpoint)."""
    running = record.status is Status.IN_PROGRESS
    offered = {
        "cancel": allowed("cancel", record.status)
        or (running and record.cancel_requested_at is None),
        "pause": allowed("pause", record.status)
        or (running and record.pause_requested_at is None and record.cancel_requested_at is None),
        "resume": allowed("resume", record.status)
        or (running and record.pause_requested_at is not None),
        "retry": allowed("retry", record.status),
    }
    return [action for action in ACTIONS if offered[action]]


def percent(record: TaskRecord) -> float | None:
    """How far along, 0-100: the reported percent, else completed steps of the total."""
    progress = record.progress
    if progress.percent is not None:
        return max(0.0, min(100.0, progress.percent))
    if progress.total_steps and progress.current_step:
        done = progress.current_step - (0 if record.status is Status.COMPLETED else 1)
        return 100.0 * max(0, done) / progress.total_steps
    return 100.0 if record.status is Status.COMPLETED else None


@dataclass(frozen=True)
class Listing:
    """The history page's query: filters and paging, read from (and written back to) the URL."""

    status: Status | None = None
    type: TaskType | None = None
    origin: str | None = None
    q: str | None = None
    error_type: str | None = None
    limit: int = PAGE_SIZE
    skip: int = 0

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Listing:
        """From the URL query; ``ValidationError`` naming the parameter that is not valid."""
        return cls(
            status=_choice(Status, query.get("status"), "status"),
            type=_choice(TaskType, query.get("type"), "type"),
            origin=_text(query.get("origin"), "origin"),
            q=_text(query.get("q"), "q"),
            error_type=_text(query.get("error_type"), "error_type"),
            limit=number(query.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE),
            skip=number(query.get("skip"), "skip", 0, 0, MAX_SKIP),
        )

    def where(self, workspace_id: str) -> TaskFilter:
        return TaskFilter(
            workspace_id,
            status=self.status,
            type=self.type,
            origin=self.origin,
            q=self.q,
            error_type=self.error_type,
        )

    def url(self, path: str = "/", **changes: object) -> str:
        """``path?...`` for this query with ``changes`` (only the set values, in a stable order)."""
        values: dict[str, object] = {
            **dict(self.filters()),
            "limit": self.limit if self.limit != PAGE_SIZE else None,
            "skip": self.skip or None,
        }
        values.update(changes)
        query = urlencode({k: str(v) for k, v in values.items() if v not in (None, "", 0)})
        return f"{path}?{query}" if query else path

    def filters(self) -> list[tuple[str, str]]:
        """The filters that are set, as ``(parameter, value)`` pairs in the URL's order."""
        values = {
            "status": self.status,
            "type": self.type,
            "origin": self.origin,
            "q": self.q,
            "error_type": self.error_type,
        }
        return [(name, str(value)) for name, value in values.items() if value]

    def rows_url(self) -> str:
        """The history's rows alone (the live region's fragment) for this query."""
        return self.url(fragment="rows")

    def previous_url(self) -> str | None:
        return self.url(skip=max(0, self.skip - self.limit)) if self.skip else None

    def next_url(self, page: Page) -> str | None:
        return self.url(skip=self.skip + self.limit) if page.next_cursor is not None else None


def _choice(kind: type[E], value: str | None, name: str) -> E | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(item.value for item in kind)
        raise ValidationError(name, f"must be one of {choices}") from None


def _text(value: str | None, name: str) -> str | None:
    if value is not None and len(value) > MAX_TEXT:
        raise ValidationError(name, f"must be at most {MAX_TEXT} characters")
    return value.strip() or None if value is not None else None
