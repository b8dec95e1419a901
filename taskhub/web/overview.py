"""The overview (tasks by status, throughput and failure rate per hour, a link to Flower) and
the ops page (queues, run-time percentiles per task type, failures grouped by exception, each
with "retry all of these": a link to the history's bulk confirmation, ``taskhub.web.bulk``)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskhub.domain.clock import now
from taskhub.domain.errors import ValidationError
from taskhub.domain.states import Status
from taskhub.domain.stats import RUN_TIME_SAMPLE, parse_hours
from taskhub.web import charts
from taskhub.web.common import HubDep, ViewerDep, page
from taskhub.web.pager import BadQuery

router = APIRouter(include_in_schema=False)


def window_hours(request: Request) -> int:
    """``?hours=`` (1–168, default 24); a bad one is a 422 naming it."""
    try:
        return parse_hours(request.query_params.get("hours"))
    except ValidationError as exc:
        raise BadQuery(exc) from None


@router.get("/overview")
def overview(request: Request, hub: HubDep, viewer: ViewerDep) -> HTMLResponse:
    """Tasks by status, and per hour of the last ``?hours=`` (1–168, default 24) how many
    finished and what share failed, as SVG charts."""
    hours = window_hours(request)
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
    hours = window_hours(request)
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


def history_url(error_type: str | None) -> str:
    """The task history, filtered to the failed tasks of this exception type."""
    return "/?" + _failed_with(error_type)


def retry_url(error_type: str) -> str:
    """Where "retry all of these" goes: the history's bulk confirmation for the same filter
    (how many, then the retry; ``taskhub.web.bulk``)."""
    return "/bulk/retry?" + _failed_with(error_type)


def _failed_with(error_type: str | None) -> str:
    query = {"status": Status.FAILED.value, "error_type": error_type or ""}
    return urlencode({k: v for k, v in query.items() if v})


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
