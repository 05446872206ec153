"""The HTTP API: the FastAPI app wiring each domain's router under /api/v1, its limits and its error answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from starlette.exceptions import HTTPException as StarletteHTTPException

from setu import __version__
from setu.accounts.endpoints import router as accounts_router
from setu.audit.endpoints import router as audit_router
from setu.db import make_engine, session_factory
from setu.deps import MIB, ApiSettings, ApiState, StateDep, install_error_handlers
from setu.framework.endpoints import router as framework_router
from setu.networks.endpoints import router as networks_router
from setu.registry.endpoints import router as registry_router
from setu.runs.endpoints import router as runs_router
from setu.runs.jobs import RunJobs
from setu.schemas import ErrorBody, Health
from setu.sosa.endpoints import router as sosa_router
from setu.web.imports import size_text
from setu.web.pages import STATIC_DIR, signed_out_not_found, templates
from setu.web.routes import router as web_router

PREFIX = "/api/v1"
FORM_OVERHEAD = 1 * MIB
"""Room for the form fields and multipart framing around an uploaded file."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised inside a request whose body passed the limit."""


class BodyLimit:
    """Refuse request bodies over a limit with 413, by ``Content-Length`` or while they stream in.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    limit
        The most bytes a request body may have.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send, scope: Scope) -> None:
        if str(scope.get("path", "")).startswith(PREFIX):
            body = json.dumps({"detail": f"the request body is larger than the limit of {self.limit} bytes"}).encode()
            kind = b"application/json"
        else:
            # A browser's form post (the import page) gets a page saying so, not the API's JSON.
            limit = size_text(self.limit - FORM_OVERHEAD)
            body = templates.get_template("_import_too_large.html").render(limit=limit).encode()
            kind = b"text/html; charset=utf-8"
        headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send, scope)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                # The app answered the broken body its own way: answer 413 instead.
                started = True
                await self._refuse(send, scope)
                return
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, scope)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only the app's own files: an injected script, style or outside request is refused by the browser itself."""
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Add the content security policy and its companions to every HTTP answer.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _engine(engine_or_url: Engine | str | None) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url), True


def create_app(engine_or_url: Engine | str | None = None, *, settings: ApiSettings | None = None) -> FastAPI:
    """The Setu HTTP API on a database whose schema is current (``setu serve`` migrates it first).

    Parameters
    ----------
    engine_or_url
        An engine, a database URL, or None for ``SETU_DATABASE_URL`` (else ``sqlite:///setu.db``).
    settings
        Limits and switches (default: :meth:`ApiSettings.from_env`).

    Returns
    -------
    FastAPI
        The app: routes under ``/api/v1``, the OpenAPI schema at ``/openapi.json``. Stress runs
        execute in threads of this process; stopping the app cancels those still running.
    """
    engine, owns_engine = _engine(engine_or_url)
    sessions = session_factory(engine)
    state = ApiState(engine, sessions, settings or ApiSettings.from_env(), RunJobs(sessions), owns_engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.jobs.recover()
        try:
            yield
        finally:
            state.jobs.shutdown()
            if state.owns_engine:
                state.engine.dispose()

    app = FastAPI(
        title="Setu",
        version=__version__,
        summary="Map and stress-test shared defense supply chains under releasability markings.",
        openapi_url="/openapi.json",
        docs_url=None,  # the interactive pages load scripts from a CDN; deployments are air-gapped
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.setu = state
    install_error_handlers(app)
    json_http_error = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        # A browser that follows a dead link gets a page, not the API's JSON body.
        assert isinstance(exc, StarletteHTTPException)
        path = request.url.path
        if exc.status_code == 404 and not path.startswith((PREFIX, "/static/", "/openapi")):
            return signed_out_not_found(request)
        answer = json_http_error(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(BodyLimit, limit=state.settings.max_upload_bytes + FORM_OVERHEAD)
    app.add_middleware(SecurityHeaders)

    api = APIRouter(prefix=PREFIX)

    @api.get(
        "/health",
        tags=["health"],
        responses={503: {"model": ErrorBody, "description": "The database is unreachable."}},
    )
    def health(state: StateDep) -> Health:
        """Whether the server runs and reaches its database (no authentication)."""
        with state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return Health(status="ok", version=__version__)

    api.include_router(accounts_router)
    api.include_router(networks_router)
    api.include_router(runs_router)
    api.include_router(audit_router)
    api.include_router(sosa_router)
    api.include_router(registry_router)
    api.include_router(framework_router)
    app.include_router(api)
    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
