"""Two runs of the same task side by side (``GET /compare?a=ID&b=ID``): their inputs and
outputs as line diffs (JSON pretty-printed with sorted keys, so only real changes show), and
their status, duration and attempts. Both must be tasks of the signed-in workspace (another's is
"not found") and of the same task name.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from taskhub.domain.errors import NotFoundError
from taskhub.domain.records import Output, TaskRecord
from taskhub.hub import TaskHub
from taskhub.web import taskpage, views
from taskhub.web.common import HubDep, Viewer, ViewerDep, message, not_found, page

router = APIRouter(include_in_schema=False)

MAX_LINES = 5000  # lines of each side compared; past that the rest is left out, and said so
Kind = Literal["same", "changed", "removed", "added"]
Id = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side diff: ``left`` (run a) and ``right`` (run b); a side is
    ``None`` where that run has no line there."""

    left: str | None
    right: str | None
    kind: Kind


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row]
    cut: bool = False  # longer than MAX_LINES

    @property
    def differs(self) -> bool:
        return any(row.kind != "same" for row in self.rows)


@dataclass(frozen=True)
class Fact:
    label: str
    left: str
    right: str

    @property
    def differs(self) -> bool:
        return self.left != self.right


@router.get("/compare")
def compare(
    request: Request, hub: HubDep, viewer: ViewerDep, a: Id = None, b: Id = None
) -> HTMLResponse:
    """Runs ``a`` and ``b`` side by side; 422 naming ``a`` or ``b`` when one is missing or of
    another task, 404 when one is not a task of this workspace."""
    for field, value in (("a", a), ("b", b)):
        if not value:
            return _refuse(request, f"{field}: give the id of a task to compare")
    assert a is not None and b is not None
    try:
        left, right = (hub.tasks.get(viewer.workspace.id, ident) for ident in (a, b))
    except NotFoundError as exc:
        return not_found(request, "task", exc.ident)
    if left.task_name != right.task_name:
        text = (
            f"b: only runs of the same task compare; {a} is a {left.task_name} task"
            f" and {b} is a {right.task_name} task"
        )
        return _refuse(request, text)
    context = {
        "viewer": viewer,
        "a": left,
        "b": right,
        "facts": facts(left, right),
        "sections": sections(hub, viewer, left, right),
    }
    return page(request, "compare.html", context)


def facts(left: TaskRecord, right: TaskRecord) -> list[Fact]:
    def of(label: str, read: Callable[[TaskRecord], object]) -> Fact:
        return Fact(label, str(read(left)), str(read(right)))

    return [
        of("Status", lambda r: views.status_label(r.status)),
        of("Duration", lambda r: taskpage.duration(r.started_at, r.finished_at)),
        of("Run / attempt", lambda r: f"{r.run} / {r.attempt}"),
        of("Failed attempts", lambda r: len(r.attempts)),
        of("Created", lambda r: views.when(r.created_at)),
        of("Finished", lambda r: views.when(r.finished_at)),
        of("Error", lambda r: str(r.error) if r.error else "—"),
    ]


def sections(hub: TaskHub, viewer: Viewer, left: TaskRecord, right: TaskRecord) -> list[Section]:
    """The input, then each output either run has (a's order, then b's others)."""
    found = [section("Input", canonical_json(left.input), canonical_json(right.input))]
    names = list(dict.fromkeys([*left.output_names, *right.output_names]))
    for name in names[: taskpage.MAX_TABS]:
        texts = (_output_text(hub, viewer, record, name) for record in (left, right))
        found.append(section(f"Output {name}", *texts))
    return found


def section(title: str, a: str | None, b: str | None) -> Section:
    """A titled diff; a side that is ``None`` (no such output) has no lines."""
    left, right = (a or "").splitlines(), (b or "").splitlines()
    cut = len(left) > MAX_LINES or len(right) > MAX_LINES
    return Section(title, side_by_side(left[:MAX_LINES], right[:MAX_LINES]), cut)


def side_by_side(left: list[str], right: list[str]) -> list[Row]:
    """Lines of both, aligned: equal runs as ``same``, replaced lines paired as ``changed``,
    the rest ``removed`` (only in a) or ``added`` (only in b)."""
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        olds, news = left[i1:i2], right[j1:j2]
        if tag == "equal":
            rows += [Row(old, new, "same") for old, new in zip(olds, news, strict=True)]
            continue
        for k in range(max(len(olds), len(news))):
            old = olds[k] if k < len(olds) else None
            new = news[k] if k < len(news) else None
            kind: Kind = "changed" if old is not None and new is not None else "added"
            rows.append(Row(old, new, "removed" if new is None else kind))
    return rows


def canonical_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def canonical(output: Output) -> str:
    """An output as compared: JSON with sorted keys, text as it is."""
    if output.content_type == "application/json":
        try:
            return canonical_json(json.loads(output.content))
        except ValueError:
            pass
    return output.content


def _output_text(hub: TaskHub, viewer: Viewer, record: TaskRecord, name: str) -> str | None:
    if name not in record.output_names:
        return None
    try:
        return canonical(hub.tasks.output(viewer.workspace.id, record.id, name))
    except NotFoundError:
        return None


def _refuse(request: Request, text: str) -> HTMLResponse:
    return message(request, 422, "Cannot compare", text)
