"""What the web app adds around its pages: error pages, static files, server timing."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cargowatch.config import get_settings
from cargowatch.exceptions import CargowatchError
from cargowatch.web.session import LoginRequired

STATIC = Path(__file__).parent / "static"

# Every asset is served from cargowatch itself: scripts only from its own files (no inline
# script, no eval), no frames, no plugins, forms and fetches back to the same origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Security headers on every response (pure ASGI, so streamed bodies stay streamed); HSTS
    when the request came over https (directly, or from a proxy uvicorn trusts)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                if https:
                    extra.append(HSTS)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def web_error(request: Request, exc: CargowatchError) -> Response:
    """A page's error: to the sign-in page when signed out, else an HTML page saying what."""
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from cargowatch.web.router import render

    user: object = request.session.get("user")
    token = request.session.get("sid")
    if token:  # the whole menu, as on any page, when the session is still live
        from cargowatch.auth.sessions import principal_for_session
        from cargowatch.db.engine import unit_of_work

        try:
            with unit_of_work(request.app.state.engine) as session:
                user = principal_for_session(session, str(token))
        except CargowatchError:
            pass
    return render(
        request,
        "error.html",
        status_code=exc.http_status,
        user=user,
        message=exc.message,
        status=exc.http_status,
    )


class ServerTiming(BaseHTTPMiddleware):
    """Server-Timing on every response: the server's share of a page's time, to watch."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        """Time the request."""
        start = time.perf_counter()
        response = await call_next(request)
        took = (time.perf_counter() - start) * 1000
        response.headers["Server-Timing"] = f"app;dur={took:.1f}"
        return response


class BodyLimit:
    """Refuse request bodies over a limit before the app reads them: by Content-Length at
    once, and by counting as they stream (413). Uploads get upload_limit, files sent with a
    referral file_limit (as many files as a referral may carry, at their cap), any other
    request small_limit."""

    FILE_PATHS = re.compile(r"^(/api/v1)?/referrals/(new|\d{1,10}/attachments)$")

    def __init__(
        self,
        app: ASGIApp,
        upload_paths: tuple[str, ...] = ("/api/v1/events", "/ingest"),
        upload_limit: int = 256 * 1024 * 1024 + 1024 * 1024,
        small_limit: int = 4 * 1024 * 1024,
        file_limit: int | None = None,
    ) -> None:
        self.app = app
        self.upload_paths = upload_paths
        self.upload_limit = upload_limit
        self.small_limit = small_limit
        settings = get_settings()
        self.file_limit = file_limit or (
            settings.attachment_max_bytes * settings.attachments_per_referral + 1024 * 1024
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count what arrives."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = (
            self.upload_limit
            if path in self.upload_paths
            else self.file_limit
            if self.FILE_PATHS.match(path)
            else self.small_limit
        )
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(f"request body over the {limit} byte limit")
            return message

        await self.app(scope, counted, send)


class BodyTooLarge(CargowatchError):
    """A request body over the limit."""

    http_status = 413


async def _too_large(limit: int, send: Send) -> None:
    body = f'{{"detail": "request body over the {limit} byte limit"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
