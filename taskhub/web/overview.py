"""The overview (tasks by status, throughput and failure rate per hour, a link to Flower) and
the ops page (queues, run-time percentiles per task type, failures grouped by exception, with
"retry all of these": a confirmation showing how many, then the bulk retry)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.states import Status
from taskhub.domain.stats import RUN_TIME_SAMPLE, parse_hours
from taskhub.services.tasks import BULK_MAX
from taskhub.web import charts, sessions
from taskhub.web.common import CsrfField, HubDep, ViewerDep, message, page

router = APIRouter(include_in_schema=False)
MAX_SKIPPED_SHOWN = 20

ErrorTypeField = Annotated[str, Form()]


@router.get("/overview")
def overview(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """Tasks by status, and per hour of the last ``?hours=`` (1–168, default 24) how many
    finished and what share failed, as SVG charts."""
    try:
        hours = parse_hours(request.query_params.get("hours"))
    except ValidationError as exc:
        return message(request, 422, "Invalid query", f"{exc.field}: {exc.message}")
    found = hub.stats.throughput(viewer.workspace.id, hub.stats.window(hours))
    context = {
        "viewer": viewer,
        "stats": found,
        "statuses": list(Status),
        "throughput": charts.throughput_chart(found.hours),
        "failure_rate": charts.failure_rate_chart(found.hours),
        "flower_url": hub.settings.flower_url,
        "rate": rate,
    }
    return page(request, "overview.html", context)


@router.get("/ops")
def ops(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """Queues (broker depth, oldest waiting task), run times per task type, and failures
    grouped by exception, over the last ``?hours=`` (default 24)."""
    try:
        hours = parse_hours(request.query_params.get("hours"))
    except ValidationError as exc:
        return message(request, 422, "Invalid query", f"{exc.field}: {exc.message}")
    at = now()
    window = hub.stats.window(hours, at)
    context = {
        "viewer": viewer,
        "window": window,
        "at": at,
        "queues": hub.stats.queues(viewer.workspace.id, at),
        "run_times": hub.stats.run_times(viewer.workspace.id, window),
        "failures": hub.stats.failures(viewer.workspace.id, window),
        "rate": rate,
        "seconds": seconds,
        "sample": RUN_TIME_SAMPLE,
        "history_url": history_url,
        "retry_url": retry_url,
    }
    return page(request, "ops.html", context)


@router.get("/ops/retry")
def confirm_retry(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """ "Retry all of these": how many failed tasks of this exception type the retry will take."""
    error_type = request.query_params.get("error_type", "")
    try:
        where = hub.stats.failed_with(viewer.workspace.id, error_type)
    except ValidationError as exc:
        return message(request, 422, "Invalid query", f"{exc.field}: {exc.message}")
    context = {
        "viewer": viewer,
        "error_type": error_type,
        "count": hub.stats.count(where),
        "max_tasks": BULK_MAX,
        "history_url": history_url(error_type),
    }
    return page(request, "ops_retry.html", context)


@router.post("/ops/retry")
def retry_all(
    request: Request,
    hub: HubDep,
    viewer: ViewerDep,
    error_type: ErrorTypeField = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Retry every failed task of the workspace whose exception is ``error_type``
    (``hub.tasks.bulk``), then say what changed and what was skipped, and why."""
    sessions.check_csrf(viewer.session, csrf_token)
    try:
        where = hub.stats.failed_with(viewer.workspace.id, error_type)
    except ValidationError as exc:
        return message(request, 422, "Invalid form", f"{exc.field}: {exc.message}")
    result = hub.tasks.bulk(viewer.workspace.id, "retry", where)
    context = {
        "viewer": viewer,
        "error_type": error_type,
        "result": result,
        "skipped": result.skipped[:MAX_SKIPPED_SHOWN],
        "max_tasks": BULK_MAX,
    }
    return page(request, "ops_retried.html", context)


def history_url(error_type: str | None) -> str:
    """The task history, filtered to the failed tasks of this exception type."""
    query = {"status": Status.FAILED.value, "error_type": error_type or ""}
    return "/?" + urlencode({k: v for k, v in query.items() if v})


def retry_url(error_type: str) -> str:
    return "/ops/retry?" + urlencode({"error_type": error_type})


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def seconds(value: float | None) -> str:
    """A duration for people: 850 ms, 12.3 s, 4.5 min, 2.0 h."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"
