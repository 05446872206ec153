"""The HTTP API: the FastAPI app wiring each domain's router under /api/v1, its limits and its error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.orm import configure_mappers
from starlette.exceptions import HTTPException as StarletteHTTPException

from setu import __version__
from setu.accounts import pages as accounts_pages
from setu.accounts.endpoints import router as accounts_router
from setu.accounts.passwords import configure_hash_gate
from setu.admission import InFlightLimit, ReadTimeout
from setu.audit import pages as audit_pages
from setu.audit.endpoints import router as audit_router
from setu.audit.schedule import CheckpointSchedule, CheckpointScheduler
from setu.audit.sequencer import Sequencer, SequencerSettings
from setu.dashboard import pages as dashboard_pages
from setu.db import make_engine, session_factory
from setu.deps import ApiState, StateDep
from setu.federation import pages as federation_pages
from setu.federation.endpoints import router as federation_router
from setu.framework import pages as framework_pages
from setu.framework.endpoints import router as framework_router
from setu.jobs import pages as job_pages
from setu.jobs.endpoints import router as jobs_router
from setu.jobs.execute import JOB_SOURCE
from setu.middleware import FORM_OVERHEAD, PREFIX, BodyLimit, RefuseNul, SecurityHeaders, install_error_handlers
from setu.networks import pages as network_pages
from setu.networks.endpoints import router as networks_router
from setu.networks.endpoints.standins import router as standins_router
from setu.query_params import known_query_parameters
from setu.registry import pages as registry_pages
from setu.registry.endpoints import router as registry_router
from setu.runs import pages as run_pages
from setu.runs.endpoints import router as runs_router
from setu.runs.jobs import RunJobs, RunLimits
from setu.runs.worker import RUN_SOURCE, WorkerTimings
from setu.schemas import ErrorBody, Health
from setu.settings import ApiSettings
from setu.sosa import pages as sosa_pages
from setu.sosa.endpoints import router as sosa_router
from setu.web.shell import STATIC_DIR, compile_templates, install_page_handlers, signed_out_not_found

ENDPOINTS = (
    accounts_router,
    networks_router,
    standins_router,
    runs_router,
    audit_router,
    sosa_router,
    registry_router,
    jobs_router,
    federation_router,
    framework_router,
)
"""Each domain's HTTP API, mounted under :data:`setu.middleware.PREFIX`."""
PAGES = (
    accounts_pages.router,
    dashboard_pages.router,
    network_pages.router,
    run_pages.router,
    audit_pages.router,
    sosa_pages.router,
    registry_pages.router,
    job_pages.router,
    federation_pages.router,
    framework_pages.router,
)
"""Each domain's web pages."""


BACKGROUND_CONNECTIONS = 4
"""Connections beyond the requests in flight: the health check, run worker threads, the checkpoint scheduler."""


def _engine(engine_or_url: Engine | str | None, settings: ApiSettings) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    # As many connections as requests admitted at once, so an admitted request never waits for one (the
    # wedge of a pool smaller than the threads that wait on it); a wait past the timeout is answered 503.
    pool = settings.max_in_flight + settings.run_workers + BACKGROUND_CONNECTIONS
    return make_engine(engine_or_url, pool_size=pool, max_overflow=0, pool_timeout=settings.db_pool_timeout), True


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
        The app: routes under ``/api/v1``, the OpenAPI schema at ``/openapi.json``. Stress runs and
        jobs (network imports, registry what-ifs) are queued in the database for workers:
        ``settings.run_workers`` threads of this app, and any ``setu worker`` process on the same database.
    """
    settings = settings or ApiSettings.from_env()
    engine, owns_engine = _engine(engine_or_url, settings)
    sessions = session_factory(engine)
    state = ApiState(engine, sessions, settings, owns_engine)
    # argon2 work in flight is bounded per process, so a flood of logins cannot stall other requests.
    configure_hash_gate(
        state.settings.max_concurrent_hashes, state.settings.hash_queue, state.settings.hash_wait_seconds
    )
    # The worker threads take stress runs and jobs (imports, what-ifs) from their queues in turn.
    sources = (RUN_SOURCE, JOB_SOURCE)
    jobs = RunJobs(sessions, RunLimits.of(state.settings), WorkerTimings.of(state.settings), sources)
    # Checkpoints every N entries or M minutes, signed with this instance's own party key(s).
    checkpoints = CheckpointScheduler(sessions, CheckpointSchedule.from_env())
    # Audit entries are recorded pending; this thread sequences them into the log every few hundred ms.
    sequencer = Sequencer(sessions, SequencerSettings.from_env())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in anyio's worker threads: enough for every request admitted at once.
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, settings.max_in_flight + BACKGROUND_CONNECTIONS)
        configure_mappers()  # what the first query of each process would do
        compile_templates()
        jobs.start_workers()
        sequencer.start()
        checkpoints.start()
        try:
            yield
        finally:
            jobs.shutdown()  # the workers give their runs back, audited: before the sequencer's last pass
            checkpoints.stop()
            sequencer.stop()
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
    app.state.run_jobs = jobs  # admission to the run queue, and its worker threads (setu.runs.forms reads it)
    install_error_handlers(app)
    install_page_handlers(app)
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
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(ReadTimeout, seconds=settings.read_timeout)
    app.add_middleware(  # outermost: a refusal costs nothing
        InFlightLimit, limit=settings.max_in_flight, queue=settings.admission_queue, wait=settings.admission_wait
    )

    # A misspelt filter is refused (422), never ignored into an answer of everything.
    api = APIRouter(prefix=PREFIX, dependencies=[Depends(known_query_parameters)])

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

    for endpoints in ENDPOINTS:
        api.include_router(endpoints)
    app.include_router(api)
    for pages in PAGES:
        app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
