"""The dashboard: server-rendered pages for people, served by the API process at ``/``.

Beside :mod:`taskhub.api` in the layers: it calls the services through the hub (never the
store), renders Jinja2 templates from ``templates/`` and serves ``static/`` (htmx 2 and
``live.js``, vendored: no CDN). One module per area, each with its ``router``, listed in
:data:`ROUTERS`; shared plumbing in :mod:`taskhub.web.common`.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from taskhub.web import (
    bulk,
    compare,
    live,
    notifications,
    overview,
    panel,
    pipelines,
    runs,
    schedules,
    signin,
    tasks,
    triggers,
)
from taskhub.web.common import HERE, message
from taskhub.web.pager import BadQuery
from taskhub.web.sessions import CsrfRefused, SignInRequired

ROUTERS: tuple[APIRouter, ...] = (
    signin.router,
    tasks.router,
    bulk.router,
    runs.router,
    compare.router,
    live.router,
    notifications.router,
    panel.router,
    schedules.router,
    triggers.router,
    pipelines.router,
    overview.router,
)


def install(app: FastAPI) -> None:
    """Serve the dashboard from ``app``: its pages at ``/``, its files at ``/static``."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="web-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(BadQuery, _bad_query)


def _to_sign_in(request: Request, exc: Exception) -> Response:
    """To ``/login``; an htmx request (a live region's refresh) is told to send the whole page
    there (``HX-Redirect``) instead of swapping the sign-in form into the region."""
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": "/login"})
    return RedirectResponse("/login", status_code=303)


def _bad_query(request: Request, exc: Exception) -> Response:
    error = exc.error if isinstance(exc, BadQuery) else exc
    return message(request, 422, "Invalid query", f"{error}")


def _csrf_refused(request: Request, exc: Exception) -> Response:
    return message(request, 403, "Refused", "This form has expired. Reload the page and retry.")


__all__ = ["ROUTERS", "install"]
