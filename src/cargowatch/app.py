"""The HTTP application: create_app(settings) mounts every domain's router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from cargowatch import __version__
from cargowatch.audit.router import router as audit_router
from cargowatch.auth.router import router as auth_router
from cargowatch.bulletins.router import router as bulletins_router
from cargowatch.config import Settings, get_settings
from cargowatch.custody.router import router as custody_router
from cargowatch.db.engine import get_engine
from cargowatch.events.router import router as events_router
from cargowatch.exceptions import CargowatchError, InvalidInput, NotAuthenticated, NotFound
from cargowatch.incidents.router import router as incidents_router
from cargowatch.ingest.router import router as ingest_router
from cargowatch.jobs.runner import Worker
from cargowatch.referrals.router import router as referrals_router
from cargowatch.registers.router import router as registers_router
from cargowatch.risk.router import router as risk_router
from cargowatch.search.router import router as search_router
from cargowatch.sharing.router import router as agreements_router
from cargowatch.taxii.router import router as taxii_router
from cargowatch.taxii.router import taxii_error
from cargowatch.trackandtrace.router import error as dcsa_error
from cargowatch.trackandtrace.router import router as tnt_router
from cargowatch.web.incident_pages import router as incident_pages
from cargowatch.web.pages import STATIC, BodyLimit, SecurityHeaders, ServerTiming, web_error
from cargowatch.web.referral_pages import router as referral_pages
from cargowatch.web.router import router as web_router
from cargowatch.web.session import SESSION_HOURS
from cargowatch.web.sharing_pages import router as sharing_pages


class PageNotFound(NotFound):
    """A browser asked for an address that is no page."""


API_DOCS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cargowatch API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script></body></html>
"""


DCSA_PATHS = ("/v2/", "/v3/")  # the DCSA Track & Trace API, with its own error shapes
TAXII_PATHS = ("/taxii2/",)  # TAXII 2.1, with its own


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, worker: bool = False
) -> FastAPI:
    """A configured cargowatch API (OpenAPI at /docs); with worker, a thread runs the jobs
    (uploads, custody, rescoring) while the app serves."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runner = Worker(app.state.engine) if worker else None
        if runner is not None:
            runner.start()
        yield
        if runner is not None:
            runner.stop()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI (no CDN)
        redoc_url=None,
        title="cargowatch",
        version=__version__,
        description=(
            "Chain of custody and risk targeting for maritime containers. Every call needs a "
            "bearer token from 'cargowatch tokens create' and sees only what its organisation "
            "may see."
        ),
    )
    app.state.engine = engine or get_engine(settings)

    @app.exception_handler(CargowatchError)
    async def _error(request: Request, exc: CargowatchError) -> Response:
        if request.url.path.startswith(DCSA_PATHS):  # in the DCSA version's own error shape
            return dcsa_error(request, exc.http_status, exc.message)
        if request.url.path.startswith(TAXII_PATHS):  # and TAXII's
            return taxii_error(exc.http_status, exc.message)
        if not request.url.path.startswith("/api/"):  # a page: sign in, or say it in HTML
            return web_error(request, exc)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith(DCSA_PATHS):
            fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
            return dcsa_error(request, 400, f"not valid: {fields}")
        if request.url.path.startswith(TAXII_PATHS):
            fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
            return taxii_error(400, f"not valid: {fields}")
        if request.url.path.startswith("/api/") or request.url.path in ("/openapi.json",):
            return await request_validation_exception_handler(request, exc)
        fields = ", ".join(
            ".".join(str(p) for p in e.get("loc", ())[1:]) or "request" for e in exc.errors()
        )
        return web_error(request, InvalidInput(f"This address has a value that is not valid: "
                                               f"{fields}."))  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(DCSA_PATHS):
            return dcsa_error(request, exc.status_code, str(exc.detail))
        if request.url.path.startswith(TAXII_PATHS):
            return taxii_error(exc.status_code, str(exc.detail))
        if request.url.path.startswith(("/api/", "/static/")) or exc.status_code not in (404, 405):
            return await http_exception_handler(request, exc)
        return web_error(request, PageNotFound("There is no page at this address."))

    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: DataError) -> Response:
        # a value the edge let through but the store cannot hold: the caller's error, not ours
        message = "a value is out of range or of the wrong type for the store"
        if request.url.path.startswith(DCSA_PATHS):
            return dcsa_error(request, 400, message)
        if not request.url.path.startswith("/api/"):
            return web_error(request, InvalidInput(message))
        return JSONResponse({"detail": message}, status_code=422)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness: the service answers."""
        return {"status": "ok", "version": __version__}

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """The interactive API reference, from vendored assets."""
        return HTMLResponse(API_DOCS)

    app.include_router(events_router)
    app.include_router(tnt_router)
    app.include_router(ingest_router)
    app.include_router(auth_router)
    app.include_router(audit_router)
    app.include_router(registers_router)
    app.include_router(custody_router)
    app.include_router(risk_router)
    app.include_router(search_router)
    app.include_router(referrals_router)
    app.include_router(incidents_router)
    app.include_router(bulletins_router)
    app.include_router(agreements_router)
    app.include_router(taxii_router)
    app.include_router(referral_pages)
    app.include_router(incident_pages)
    app.include_router(sharing_pages)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(ServerTiming)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_key(),
        session_cookie="cargowatch_session",
        max_age=SESSION_HOURS * 3600,
        same_site="strict",
        https_only=settings.env == "prod",
    )
    return app
