"""Signing in to the web interface: a signed cookie that carries a server-side session's token,
and a CSRF token on every form."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from cargowatch.api import SessionDep
from cargowatch.auth.principal import Principal
from cargowatch.auth.sessions import SESSION_HOURS, principal_for_session
from cargowatch.exceptions import CargowatchError, NotAuthenticated

__all__ = ["SESSION_HOURS", "WebPrincipal", "check_csrf", "csrf_token", "web_principal"]


class LoginRequired(CargowatchError):
    """The page needs a signed-in user; the web app sends the browser to the sign-in page."""

    http_status = 401


class CsrfRejected(CargowatchError):
    """A form came without the token of the session that showed it."""

    http_status = 403


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); every form and HTMX call sends it back."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose token is not the session's."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not expected or not hmac.compare_digest(sent, str(expected)):
        raise CsrfRejected("this form has expired or did not come from cargowatch: reload the page")


def web_principal(request: Request, session: SessionDep) -> Principal:
    """The signed-in user of a live server-side session, or LoginRequired."""
    token = request.session.get("sid")
    if not token:
        raise LoginRequired("sign in first")
    try:
        return principal_for_session(session, str(token))
    except NotAuthenticated:
        request.session.clear()
        raise LoginRequired("sign in again") from None


WebPrincipal = Annotated[Principal, Depends(web_principal)]
