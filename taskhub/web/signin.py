"""Signing in with a workspace API key, and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from taskhub.domain.errors import AuthError
from taskhub.web import sessions
from taskhub.web.common import CsrfField, HubDep, page
from taskhub.web.sessions import WebSession

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, sessions.anonymous(request))


def _login_page(
    request: Request, session: WebSession, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    context = {"csrf": session.csrf, "error": error, "viewer": None}
    response = page(request, "login.html", context, status_code)
    sessions.save(request, response, session)
    return response


@router.post("/login")
def login(
    request: Request,
    hub: HubDep,
    csrf_token: CsrfField = None,
    api_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    session = sessions.read(request)
    sessions.check_csrf(session, csrf_token)
    assert session is not None
    try:
        workspace, key_id = hub.accounts.identify(api_key.strip())
    except AuthError:
        error = "That API key is not valid (unknown or revoked)."
        return _login_page(request, session, error, 401)
    response = RedirectResponse("/", status_code=303)
    sessions.save(request, response, sessions.signed_in(workspace.id, key_id))
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: CsrfField = None) -> Response:
    sessions.check_csrf(sessions.read(request), csrf_token)
    response = RedirectResponse("/login", status_code=303)
    sessions.forget(request, response)
    return response
