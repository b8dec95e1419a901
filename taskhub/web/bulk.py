"""Bulk actions from the task history: one action on the ticked tasks, or on every task the
history's filter matches, after a page that says exactly how many.

``GET /bulk/{action}`` takes the history's query (``status``, ``type``, ``origin``, ``q``,
``error_type``) and the tasks: ``ids=A&ids=B`` (ticked rows), or ``all=1``, or no ids at all
(every task matching the filter, at most the service's ``BULK_MAX``, newest first; e.g.
``/bulk/retry?status=failed&error_type=KeyError``). Its confirmation form POSTs to the same URL
with the CSRF token; that calls ``hub.tasks.bulk`` and shows what changed and what was skipped.
The ops page's "Retry all of these" links here too (``status=failed&error_type=X``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import QueryParams

from taskhub.domain.errors import NotFoundError, ValidationError
from taskhub.domain.paging import TaskFilter
from taskhub.domain.records import TaskRecord
from taskhub.domain.states import Status
from taskhub.hub import TaskHub
from taskhub.services import tasks as task_service
from taskhub.web import sessions, views
from taskhub.web.common import CsrfField, HubDep, Viewer, ViewerDep, message, page

router = APIRouter(include_in_schema=False)

VERBS = {"cancel": ("Cancel", "cancelled"), "retry": ("Retry", "retried")}
NOTES = {"retry": "Each runs again as a new run, with its whole retry budget."}
AFTER = {"retry": Status.PENDING}  # where the tasks an action changed are found next
PREVIEW = 10  # tasks the confirmation lists by name
SKIPPED_SHOWN = 20  # skipped tasks the result lists (with the reason); the rest are counted


@dataclass(frozen=True)
class Selection:
    """Which tasks a bulk action is for: ``ids``, or (none) every match of ``listing``'s filter."""

    listing: views.Listing
    ids: tuple[str, ...] = ()

    @classmethod
    def parse(cls, query: QueryParams) -> Selection:
        """From the URL query; ``ValidationError`` naming the parameter that is not valid."""
        listing = views.Listing.parse(query)
        if query.get("all"):  # "all N matching this filter" wins over ticked rows
            return cls(listing)
        ids = tuple(dict.fromkeys(ident.strip() for ident in query.getlist("ids") if ident.strip()))
        if not ids and query.get("select") == "rows":
            raise ValidationError(
                "ids", "no task selected: tick some rows, or all matching this filter"
            )
        if len(ids) > task_service.BULK_MAX:
            limit = task_service.BULK_MAX
            raise ValidationError("ids", f"at most {limit} tasks at a time, got {len(ids)}")
        if any(len(ident) > views.MAX_TEXT for ident in ids):
            raise ValidationError("ids", f"a task id is at most {views.MAX_TEXT} characters")
        return cls(listing, ids)

    def target(self, workspace_id: str) -> Sequence[str] | TaskFilter:
        return list(self.ids) if self.ids else self.listing.where(workspace_id)

    def url(self, action: str) -> str:
        """This selection's confirmation page (and where its form posts)."""
        pairs = self.listing.filters() + [("ids", ident) for ident in self.ids]
        return f"/bulk/{action}?{urlencode(pairs)}" if pairs else f"/bulk/{action}"


@router.get("/bulk/{action}")
def confirm(request: Request, hub: HubDep, viewer: ViewerDep, action: str) -> HTMLResponse:
    """How many tasks ``action`` would touch, a few of them, and the form that does it."""
    if action not in VERBS:
        return _no_such_action(request, action)
    try:
        selection = Selection.parse(request.query_params)
    except ValidationError as exc:
        return message(request, 422, "Invalid selection", f"{exc.field}: {exc.message}")
    context = _context(viewer, action, selection) | _preview(hub, viewer, selection)
    return page(request, "bulk_confirm.html", context)


@router.post("/bulk/{action}")
def run(
    request: Request, hub: HubDep, viewer: ViewerDep, action: str, csrf_token: CsrfField = None
) -> HTMLResponse:
    """Do ``action`` to the selection (``hub.tasks.bulk``); show what changed and what not."""
    sessions.check_csrf(viewer.session, csrf_token)
    if action not in VERBS:
        return _no_such_action(request, action)
    try:
        selection = Selection.parse(request.query_params)
        result = hub.tasks.bulk(viewer.workspace.id, action, selection.target(viewer.workspace.id))
    except ValidationError as exc:
        return message(request, 422, "Invalid selection", f"{exc.field}: {exc.message}")
    context = _context(viewer, action, selection) | {"result": result}
    if action in AFTER:  # the same filters but the status they have now, e.g. pending again
        after = replace(selection.listing, status=AFTER[action], error_type=None, skip=0)
        context["after_url"] = after.url()
        context["after_label"] = views.status_label(AFTER[action])
    return page(request, "bulk_done.html", context)


def _context(viewer: Viewer, action: str, selection: Selection) -> dict[str, Any]:
    verb, done = VERBS[action]
    return {
        "viewer": viewer,
        "action": action,
        "verb": verb,
        "done": done,
        "selection": selection,
        "filter_words": _describe(selection.listing),
        "note": NOTES.get(action),
        "skipped_shown": SKIPPED_SHOWN,
        "max_tasks": task_service.BULK_MAX,
        "back_url": selection.listing.url(),
    }


def _preview(hub: TaskHub, viewer: Viewer, selection: Selection) -> dict[str, Any]:
    """The count the action will take, and the first few tasks (``None``: not found here)."""
    if selection.ids:
        shown = [_find(hub, viewer, ident) for ident in selection.ids[:PREVIEW]]
        return {"matched": len(selection.ids), "count": len(selection.ids), "shown": shown}
    found = hub.tasks.list_tasks(selection.listing.where(viewer.workspace.id), limit=PREVIEW)
    shown = [(record.id, record) for record in found.items]
    count = min(found.total, task_service.BULK_MAX)
    return {"matched": found.total, "count": count, "shown": shown}


def _find(hub: TaskHub, viewer: Viewer, task_id: str) -> tuple[str, TaskRecord | None]:
    try:
        return task_id, hub.tasks.get(viewer.workspace.id, task_id)
    except NotFoundError:
        return task_id, None


FILTER_WORDS = {"status": "status", "type": "type", "origin": "origin", "error_type": "error type"}


def _describe(listing: views.Listing) -> list[tuple[str, str]]:
    """The filter in words, as ``(words, value)`` pairs: ``status failed``, ``error type
    KeyError`` (the page shows an exception's name as code), ``name contains “x”``."""
    words = []
    for name, value in listing.filters():
        if name == "q":
            words.append(("name contains", f"“{value}”"))
        elif name == "status" and listing.status is not None:
            words.append(("status", views.status_label(listing.status)))
        else:
            words.append((FILTER_WORDS[name], value))
    return words


def _no_such_action(request: Request, action: str) -> HTMLResponse:
    choices = ", ".join(VERBS)
    return message(request, 404, "Not found", f"There is no bulk action {action!r} ({choices}).")
