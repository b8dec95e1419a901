"""RFC 9457 problem details: every error the API answers, mapped once from the error tree."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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
    body: dict[str, Any] = {
        "type": TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extensions)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_taskhub_error(request: Request, exc: TaskhubError) -> JSONResponse:
    if isinstance(exc, PayloadError):
        return problem(400, "Bad request", str(exc), request, field=exc.field)
    if isinstance(exc, ValidationError):
        extensions = {"task_name": exc.task_name} if isinstance(exc, UnknownTaskError) else {}
        return problem(
            422,
            "Unknown task" if isinstance(exc, UnknownTaskError) else "Invalid input",
            str(exc),
            request,
            field=exc.field,
            errors=[{"field": field, "message": message} for field, message in exc.errors],
            **extensions,
        )
    if isinstance(exc, NotFoundError):
        return problem(404, "Not found", str(exc), request)
    if isinstance(exc, TransitionError):
        return problem(409, "Conflict", str(exc), request, current_status=exc.status)
    if isinstance(exc, ConflictError):
        return problem(409, "Conflict", str(exc), request)
    if isinstance(exc, AuthError):
        return problem(401, "Unauthorized", str(exc), request)
    if isinstance(exc, PlanError):
        return problem(
            403,
            "Plan required",
            str(exc),
            request,
            feature=exc.feature,
            plan=exc.plan,
            current_plan=exc.current,
        )
    log.warning("service unavailable: %s", exc)
    return problem(503, "Service unavailable", str(exc), request)


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
