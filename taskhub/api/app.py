"""The FastAPI application: one factory, given the hub it serves."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from taskhub.api import (
    problems,
    routes_notifications,
    routes_pipelines,
    routes_schedules,
    routes_tasks,
    routes_triggers,
    routes_webhooks,
)
from taskhub.api.deps import HubDep
from taskhub.api.limits import BodyLimit
from taskhub.hub import TaskHub
from taskhub.web import install as install_dashboard


def create_app(hub: TaskHub | None = None) -> FastAPI:
    """The API for ``hub`` (by default one built from ``TASKHUB_*`` settings)."""
    hub = hub or TaskHub()
    app = FastAPI(
        title="taskhub",
        version="1",
        description="Durable task records for Celery. Authenticate with "
        "`Authorization: Bearer <api key>`; errors are RFC 9457 problem+json.",
    )
    app.state.hub = hub
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=hub.settings.api_max_body_bytes)
    app.include_router(routes_tasks.router, prefix="/api/v1")
    app.include_router(routes_triggers.router, prefix="/api/v1")
    app.include_router(routes_triggers.hooks)
    app.include_router(routes_notifications.router, prefix="/api/v1")
    app.include_router(routes_webhooks.router, prefix="/api/v1")
    app.include_router(routes_schedules.router, prefix="/api/v1")
    app.include_router(routes_pipelines.router, prefix="/api/v1")
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"])
    install_dashboard(app)  # the dashboard's pages at / (not in the OpenAPI schema)
    return app


def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def readyz(hub: HubDep) -> JSONResponse:
    """The database and the broker are reachable."""
    checks = hub.health.checks()
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {name: "ok" if ok else "unreachable" for name, ok in checks.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)
