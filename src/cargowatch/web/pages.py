"""What the web app adds around its pages: error pages, static files, server timing."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from cargowatch.exceptions import CargowatchError
from cargowatch.web.session import LoginRequired

STATIC = Path(__file__).parent / "static"


def web_error(request: Request, exc: CargowatchError) -> Response:
    """A page's error: to the sign-in page when signed out, else an HTML page saying what."""
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from cargowatch.web.router import render

    user = request.session.get("user")
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
