"""Admission of requests to a server process: a bounded number in flight, and no client holding one forever.

A server that queues every request it cannot answer yet wedges under a burst: the queued requests
hold threads and database connections while the ones being answered wait for them. Here at most
``limit`` requests are answered at once; a few more (``queue``) may wait a moment (``wait`` seconds)
for a place, as coroutines holding no thread or connection, so that a browser's burst of requests
for one page is answered rather than refused; beyond that a request is answered 503 with
``Retry-After``. A client that stops sending its request body is answered 408. The work a process
holds is bounded by its settings.
"""

from __future__ import annotations

import json
from collections import deque
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
    """Answer at most ``limit`` requests at once; let ``queue`` more wait up to ``wait`` s; refuse the rest.

    A refusal is a 503 with ``Retry-After``. Waiting requests take their places in the order they came.

    Parameters
    ----------
    app
        The ASGI app it wraps.
    limit
        Most requests in flight (``SETU_MAX_IN_FLIGHT``).
    queue
        Most requests waiting for a place (``SETU_ADMISSION_QUEUE``); 0: refuse at once.
    wait
        Longest wait for a place, in seconds (``SETU_ADMISSION_WAIT_SECONDS``).

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

    def __init__(self, app: ASGIApp, limit: int, queue: int = 0, wait: float = 0.0) -> None:
        self.app = app
        self.limit = limit
        self.queue = queue
        self.wait = wait
        self.in_flight = 0
        self.refused = 0
        self._waiting: deque[anyio.Event] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(EXEMPT) or path in SIGN_INS:
            await self.app(scope, receive, send)
            return
        # One event loop per process: no check and update below can interleave with another request's.
        if not await self._admitted():
            self.refused += 1
            detail = f"the server is answering as many requests as it takes ({self.limit}); try again in a moment"
            await _answer(send, 503, detail, [(b"retry-after", str(RETRY_AFTER).encode())])
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _admitted(self) -> bool:
        """Take a place, waiting for one if the queue has room; whether one was taken."""
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return True
        if len(self._waiting) >= self.queue:
            return False
        handed = anyio.Event()
        self._waiting.append(handed)
        try:
            with anyio.move_on_after(self.wait):
                await handed.wait()
        except BaseException:  # the client went away while waiting: pass on a place handed to it
            if handed.is_set():
                self._release()
            else:
                self._waiting.remove(handed)
            raise
        if handed.is_set():  # a finishing request handed its place over: in_flight already counts it
            return True
        self._waiting.remove(handed)
        return False

    def _release(self) -> None:
        """Give the place up: to the longest-waiting request if one waits, else back to the pool."""
        if self._waiting:
            self._waiting.popleft().set()
        else:
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
