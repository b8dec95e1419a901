"""Dashboard sessions: a signed cookie naming the workspace and API key, and its CSRF token.

The cookie never holds the key itself: it is ``{"w": workspace id, "k": key id, "c": CSRF
token}`` signed with ``TASKHUB_SECRET_KEY`` (itsdangerous, with a timestamp). Before sign-in it
holds only the CSRF token, so the sign-in form is protected too. Each request checks the key is
still live: revoking it ends its sessions.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "taskhub_session"
MAX_AGE_S = 12 * 3600
SALT = "taskhub.web.session"


@dataclass(frozen=True)
class WebSession:
    csrf: str
    workspace_id: str | None = None
    key_id: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.workspace_id is not None and self.key_id is not None


class SignInRequired(Exception):
    """A page needs a signed-in session: the handler redirects to ``/login``."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token: 403."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.hub.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt=SALT)


def read(request: Request) -> WebSession | None:
    """The request's session, if its cookie is there, signed by us, and not expired."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: Any = _serializer(request).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        return None
    return WebSession(data["c"], data.get("w"), data.get("k"))


def anonymous(request: Request) -> WebSession:
    """The request's session, or a new anonymous one (to be saved with :func:`save`)."""
    return read(request) or WebSession(secrets.token_urlsafe(32))


def signed_in(workspace_id: str, key_id: str) -> WebSession:
    """A fresh session (a new CSRF token too) for the key."""
    return WebSession(secrets.token_urlsafe(32), workspace_id, key_id)


def save(request: Request, response: Response, session: WebSession) -> None:
    data: dict[str, str] = {"c": session.csrf}
    if session.signed_in:
        data |= {"w": session.workspace_id or "", "k": session.key_id or ""}
    response.set_cookie(
        COOKIE,
        _serializer(request).dumps(data),
        max_age=MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def forget(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
    )


def check_csrf(session: WebSession | None, token: str | None) -> None:
    """``CsrfRefused`` unless ``token`` is the session's CSRF token."""
    if session is None or not token or not hmac.compare_digest(session.csrf, token):
        raise CsrfRefused()
