"""The FastAPI application: one factory, given the hub it serves."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from taskhub import logs
from taskhub.api import (
    metrics,
    problems,
    routes_batch,
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

# Swagger UI's files, vendored from npm (see static/swagger/README.md): /docs needs no CDN.
SWAGGER_DIR = Path(__file__).parent / "static" / "swagger"
SWAGGER_URL = "/static/swagger"


def create_app(hub: TaskHub | None = None) -> FastAPI:
    """The API for ``hub`` (by default one built from ``TASKHUB_*`` settings)."""
    hub = hub or TaskHub()
    logs.configure(hub.settings.log_format)  # JSON lines when TASKHUB_LOG_FORMAT=json
    app = FastAPI(
        title="taskhub",
        version="1",
        description="Durable task records for Celery. Authenticate with "
        "`Authorization: Bearer <api key>`; errors are RFC 9457 problem+json.",
        docs_url=None,  # served by install_docs, from the package rather than a CDN
        redoc_url=None,  # not served: ReDoc's bundle is not vendored
    )
    app.state.hub = hub
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=hub.settings.api_max_body_bytes)
    app.include_router(routes_batch.router, prefix="/api/v1")
    app.include_router(routes_tasks.router, prefix="/api/v1")
    app.include_router(routes_triggers.router, prefix="/api/v1")
    app.include_router(routes_triggers.hooks)
    app.include_router(routes_notifications.router, prefix="/api/v1")
    app.include_router(routes_webhooks.router, prefix="/api/v1")
    app.include_router(routes_schedules.router, prefix="/api/v1")
    app.include_router(routes_pipelines.router, prefix="/api/v1")
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    app.add_api_route("/readyz", readyz, methods=["GET"], tags=["health"])
    metrics.install(app, hub.metrics)  # GET /metrics, Prometheus's text format
    install_docs(app)  # before the dashboard: its /static mount would shadow /static/swagger
    install_dashboard(app)  # the dashboard's pages at / (not in the OpenAPI schema)
    return app


def install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the files under ``static/swagger``, so it works offline."""
    app.mount(SWAGGER_URL, StaticFiles(directory=SWAGGER_DIR), name="swagger")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")  # behind a path prefix
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER_URL}/favicon-32x32.png",
            # No badge fetched from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(redirect_url, swagger_ui_redirect, methods=["GET"], include_in_schema=False)


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
