"""Admission of requests to a server process: a bounded number in flight, and no client holding one forever.

A server that queues every request it cannot answer yet wedges under a burst: the queued requests
hold threads and database connections while the ones being answered wait for them. Here a request
beyond ``limit`` in flight is answered 503 with ``Retry-After`` at once, and a client that stops
sending its request body is answered 408, so the work a process holds is bounded by its settings.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXEMPT = ("/api/v1/health", "/static/")
"""Answered whatever the load: the health check (for the operator and load balancer) and static files."""
SIGN_INS = ("/api/v1/accounts/login", "/accounts/login")
"""Sign-ins have their own admission, the sign-in gate (:class:`setu.deps.LoginGate`): a few check a
password at once and the rest wait as coroutines holding no thread or connection. Counting them here
too would let a flood of logins take every place from signed-in users."""
RETRY_AFTER = 1
"""Seconds a refused client is told to wait: a request in flight takes milliseconds."""


async def _answer(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


class InFlightLimit:
    """Answer at most ``limit`` requests at once; refuse the next ones with 503 and ``Retry-After``.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    limit
        Most requests in flight (``SETU_MAX_IN_FLIGHT``).

    Examples
    --------
    >>> import asyncio
    >>> async def app(scope, receive, send):
    ...     await send({"type": "http.response.start", "status": 200, "headers": []})
    ...     await send({"type": "http.response.body", "body": b""})
    >>> limited = InFlightLimit(app, limit=0)
    >>> sent = []
    >>> async def send(message):
    ...     sent.append(message)
    >>> asyncio.run(limited({"type": "http", "path": "/"}, None, send))
    >>> sent[0]["status"]
    503
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(EXEMPT) or path in SIGN_INS:
            await self.app(scope, receive, send)
            return
        # One event loop per process: the check and the increment cannot interleave with another request's.
        if self.in_flight >= self.limit:
            self.refused += 1
            detail = f"the server is answering as many requests as it takes ({self.limit}); try again in a moment"
            await _answer(send, 503, detail, [(b"retry-after", str(RETRY_AFTER).encode())])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class ReadTimeout:
    """Answer 408 to a client that takes more than ``seconds`` to send the next part of its request body.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    seconds
        The longest wait for one part of the body (``SETU_READ_TIMEOUT``).
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        timed_out = False

        async def timed_receive() -> Message:
            nonlocal timed_out
            try:
                with anyio.fail_after(self.seconds):
                    return await receive()
            except TimeoutError:
                timed_out = True
                raise

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if timed_out and not started:
                return  # the app's own answer to the broken body; ours follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, timed_receive, tracking_send)
        except TimeoutError:
            if not timed_out:
                raise
        if timed_out and not started:
            detail = f"the request body did not arrive: nothing came for {self.seconds:g} s"
            await _answer(send, 408, detail, [(b"connection", b"close")])
