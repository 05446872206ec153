"""What wraps every request: the body-size limit, the security headers, and error answers by status.

Errors carry their own HTTP status (:mod:`setu.errors`), so nothing here knows which domain raised them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from setu.errors import InputError, Problem, SetuError
from setu.schemas import ErrorBody, ProblemOut
from setu.settings import MIB
from setu.web.shell import size_text, templates

log = logging.getLogger("setu.api")

PREFIX = "/api/v1"
FORM_OVERHEAD = 1 * MIB
"""Room for the form fields and multipart framing around an uploaded file."""
BODY_PARSE_ERROR = "There was an error parsing the body"

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
            back = str(scope.get("path", "/"))
            body = templates.get_template("too_large.html").render(limit=limit, back=back).encode()
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


NUL = re.compile(rb"%00|\x00")
"""A NUL character, raw or percent-encoded: no text column of either database can hold one."""


class RefuseNul:
    """Answer 422 to a request whose address (path or query) holds a NUL character, before any handler runs.

    PostgreSQL refuses NUL in text, so a page that searched for one would fail deep inside a query;
    no legitimate address carries one. Request bodies are checked where they are parsed (the API's
    ``Text`` fields), and a NUL that still reaches the database is answered 422 by the error handler.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _nul_place(scope)
            if where:
                problem = ProblemOut(where=where, message="must not contain NUL characters")
                body = ErrorBody(detail="invalid request", problems=[problem]).model_dump_json().encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 422, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _nul_place(scope: Scope) -> str:
    """Where a request's address holds a NUL: ``path``, ``query.<name>`` (as validation names it), or ``""``."""
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode("utf-8", "surrogateescape")
    if NUL.search(raw_path):
        return "path"
    query = scope.get("query_string", b"")
    if not NUL.search(query):
        return ""
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return f"query.{name.replace(chr(0), '')}"
    return "query"


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


def problems_of(problems: Iterable[Problem]) -> list[ProblemOut]:
    """Problems as answers list them.

    Parameters
    ----------
    problems
        Problems from an :class:`setu.errors.InputError`.

    Returns
    -------
    list of ProblemOut
        ``where`` and ``message`` of each, unchanged.
    """
    return [ProblemOut(where=p.where, message=p.message) for p in problems]


def error_response(
    status: int, detail: str, problems: list[ProblemOut] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer ``{detail, problems?}``.

    Parameters
    ----------
    status
        The HTTP status.
    detail
        The message.
    problems
        Every problem found, for bad input.
    headers
        Extra headers.

    Returns
    -------
    JSONResponse
        The answer.
    """
    body = ErrorBody(detail=detail, problems=problems).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: Iterable[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as ``{detail, problems?}`` with the status it carries (:attr:`SetuError.status`).

    ``NotFound`` 404 (hidden and missing alike), ``AccessDenied``/``MarkingError`` 403, bad input 422
    (with each problem), a ``Conflict`` (a run in the wrong state, a stale version) 409, a failed login
    401 (423 while the account is locked), a write conflict 409, a busy database 503; unexpected errors
    500 without internals.

    Parameters
    ----------
    app
        The application.
    """

    async def setu_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SetuError)
        if isinstance(exc, InputError):
            detail = f"{len(exc.problems)} problem(s) in input"
            return error_response(exc.http_status, detail, problems_of(exc.problems), exc.http_headers)
        return error_response(exc.http_status, str(exc), headers=exc.http_headers or None)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = [
            # A validator's own message, without the "Value error, " pydantic puts before it.
            ProblemOut(
                where=_location(error.get("loc", ())),
                message=str(error.get("msg", "invalid")).removeprefix("Value error, "),
            )
            for error in exc.errors()
        ]
        return error_response(422, "invalid request", problems)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
            # FastAPI's answer to a body that is not JSON or form data at all: bad input like any other.
            problem = ProblemOut(where="body", message="cannot be parsed: not valid JSON, form data or UTF-8")
            return error_response(422, "invalid request", [problem])
        return error_response(exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))

    async def conflict(_request: Request, exc: Exception) -> JSONResponse:
        log.info("write conflict: %s", exc)
        return error_response(409, "the change conflicts with a concurrent one; try again")

    async def unstorable(_request: Request, exc: Exception) -> JSONResponse:
        # A value the database refuses (a NUL in text, a number out of the column's range) is bad input.
        log.info("value refused by the database: %s", exc)
        problem = ProblemOut(where="body", message="holds a value the database cannot store (a NUL character?)")
        return error_response(422, "invalid request", [problem])

    async def busy(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        return error_response(503, "the database is busy or unavailable; try again", headers={"Retry-After": "2"})

    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal error")

    app.add_exception_handler(SetuError, setu_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, conflict)
    app.add_exception_handler(DataError, unstorable)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(InterfaceError, busy)  # a connection lost mid-request
    app.add_exception_handler(PoolTimeout, busy)  # no connection free within SETU_DB_POOL_TIMEOUT
    app.add_exception_handler(Exception, internal)
