"""RFC 9457 problem details: every error the API answers, mapped once from the error tree."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from taskhub.domain.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PayloadError,
    PlanError,
    TaskhubError,
    TransitionError,
    UnknownTaskError,
    ValidationError,
)

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://taskhub.dev/problems/"


def problem(
    status: int, title: str, detail: str, request: Request | None = None, **extensions: Any
) -> JSONResponse:
    instance = request.url.path if request is not None else None
    body = problem_body(status, title, detail, instance, **extensions)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def problem_body(
    status: int, title: str, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    """The problem's JSON (RFC 9457), as the API answers it."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extensions)
    return body


def from_taskhub_error(request: Request, exc: TaskhubError) -> JSONResponse:
    status, title, extensions = described(exc)
    if status == 503:
        log.warning("service unavailable: %s", exc)
    return problem(status, title, str(exc), request, **extensions)


def error_body(exc: TaskhubError, instance: str | None = None) -> dict[str, Any]:
    """The problem's JSON for ``exc`` (as its answer would be, e.g. one batch item's)."""
    status, title, extensions = described(exc)
    return problem_body(status, title, str(exc), instance, **extensions)


def described(exc: TaskhubError) -> tuple[int, str, dict[str, Any]]:
    """The status, title and extension members of the problem ``exc`` is: the tree, mapped."""
    if isinstance(exc, PayloadError):
        return 400, "Bad request", {"field": exc.field}
    if isinstance(exc, ValidationError):
        return 422, *_invalid(exc)
    if isinstance(exc, NotFoundError):
        return 404, "Not found", {}
    if isinstance(exc, TransitionError):
        return 409, "Conflict", {"current_status": exc.status}
    if isinstance(exc, ConflictError):
        return 409, "Conflict", {}
    if isinstance(exc, AuthError):
        return 401, "Unauthorized", {}
    if isinstance(exc, PlanError):
        extensions = {"feature": exc.feature, "plan": exc.plan, "current_plan": exc.current}
        return 403, "Plan required", extensions
    return 503, "Service unavailable", {}


def _invalid(exc: ValidationError) -> tuple[str, dict[str, Any]]:
    errors = [{"field": field, "message": message} for field, message in exc.errors]
    extensions: dict[str, Any] = {"field": exc.field, "errors": errors}
    if isinstance(exc, UnknownTaskError):
        return "Unknown task", {**extensions, "task_name": exc.task_name}
    return "Invalid input", extensions


async def from_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_field_error(error) for error in exc.errors()]
    malformed = next((e for e in exc.errors() if e["type"] == "json_invalid"), None)
    if malformed is not None:
        message = _where_malformed(malformed, await request.body())
        return _body_problem(400, "Bad request", message, request)
    not_object = next((e for e in exc.errors() if _is_whole_body(e)), None)
    if not_object is not None:
        message = _expected_object(not_object, request.headers.get("content-type"))
        return _body_problem(422, "Invalid input", message, request)
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return problem(
        422,
        "Invalid input",
        f"{first['field']}: {first['message']}",
        request,
        field=first["field"],
        errors=errors,
    )


JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _body_problem(status: int, title: str, message: str, request: Request) -> JSONResponse:
    """A problem with the body as a whole: ``field`` is ``body``."""
    error = {"field": "body", "message": message, "type": "body"}
    return problem(status, title, f"body: {message}", request, field="body", errors=[error])


def _is_whole_body(error: Any) -> bool:
    """The body as a whole is not the object the route takes (not JSON, or not an object)."""
    return tuple(error.get("loc", ())) == ("body",) and error.get("type") != "missing"


def _where_malformed(error: Any, body: bytes) -> str:
    """``body: malformed JSON at line 2, column 12: Expecting ...`` from the decoder's offset."""
    text = body.decode("utf-8", errors="replace")
    loc = error.get("loc", ())
    offset = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else len(text)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    reason = str((error.get("ctx") or {}).get("error") or error.get("msg", "")).rstrip(".")
    return f"malformed JSON at line {line}, column {column}: {reason}"


def _expected_object(error: Any, content_type: str | None) -> str:
    """What the route expected instead: a JSON object, sent as ``application/json``."""
    given = error.get("input")
    if isinstance(given, bytes | str):  # not read as JSON: no JSON content type
        sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
        return f"expected a JSON object sent with Content-Type: application/json, got {sent}"
    kind = "null" if given is None else JSON_TYPES.get(type(given), "a number")
    return f"expected a JSON object, got {kind}"


LOCATIONS = ("body", "query", "path", "header", "cookie")


def _field_error(error: Any) -> dict[str, Any]:
    """``field`` names the input without its location: ``limit``, not ``query.limit``."""
    loc = list(error.get("loc", ()))
    location = [str(part) for part in (loc[1:] if loc and loc[0] in LOCATIONS else loc)]
    return {
        "field": ".".join(location),
        "message": str(error.get("msg", "")),
        "type": error.get("type", ""),
    }


def from_http(request: Request, exc: HTTPException) -> JSONResponse:
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        404: "Not found",
        405: "Method not allowed",
        413: "Payload too large",
    }
    title = titles.get(exc.status_code, "Error")
    return problem(exc.status_code, title, str(exc.detail), request)


def from_anything(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s", request.url.path)
    return problem(500, "Internal error", "an unexpected error occurred", request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TaskhubError, from_taskhub_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, from_request_validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, from_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, from_anything)


# -- documented (OpenAPI) -----------------------------------------------------------------------


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    field: str | None = Field(None, description="The input at fault (422).")
    current_status: str | None = Field(None, description="The task's status (409).")
    feature: str | None = Field(None, description="The feature the plan lacks (403).")
    plan: str | None = Field(None, description="The cheapest plan with that feature (403).")


PROBLEM_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "No API key, or one that is unknown or revoked.",
    403: "The workspace's plan does not include a feature the request needs.",
    404: "No such task (or output) in this workspace.",
    409: "The task's status does not allow the change (nor does a running task without steps "
    "allow a pause); `detail` says why, `current_status` what its status is.",
    413: "The body is over the size limit.",
    422: "Invalid input; `field` names it.",
}


def problems(
    *described: int | Mapping[int, str], streaming: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error codes, all problem+json: a code alone is described
    by :data:`PROBLEM_DESCRIPTIONS` (the task routes' words), a mapping says its own. Without
    ``model`` (for ``streaming`` routes), so the problem is not also listed under the route's
    media type."""
    texts: dict[int, str] = {}
    for item in described:
        texts.update({item: PROBLEM_DESCRIPTIONS[item]} if isinstance(item, int) else item)
    schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
    documented: dict[str, Any] = {} if streaming else {"model": Problem}
    return {
        code: {**documented, "description": text, "content": {MEDIA_TYPE: schema}}
        for code, text in texts.items()
    }
