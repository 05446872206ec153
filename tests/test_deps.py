"""The shared dependencies: every API write a cookie signs needs the session's CSRF token, structurally; every
request's database session ends with it.

A cross-site page can make a browser send its ``SameSite`` cookie only in some cases, but it can never
read the CSRF token; every endpoint that asks who the user is gets the check, so none can forget it.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from clients import PASSWORD, Api
from setu.accounts.tokens import CSRF_HEADER, csrf_token_of
from setu.middleware import PREFIX

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN = {"/api/v1/accounts/login"}
"""Writes that need no signed-in user."""


def signed_writes(api: Api) -> list[tuple[str, str]]:
    """Every (method, path) of the API that changes something, from its OpenAPI schema, but logging in."""
    paths = api.client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in WRITES and path.startswith(PREFIX) and path not in OPEN
    ]


def cookie_login(api: Api) -> str:
    answer = api.client.post("/api/v1/accounts/login", json={"username": "in-analyst", "password": PASSWORD})
    assert answer.status_code == 200
    return str(answer.json()["csrf_token"])


def test_every_cookie_signed_api_write_without_the_csrf_header_is_refused(api: Api) -> None:
    writes = signed_writes(api)
    assert ("POST", "/api/v1/runs/{run_id}/cancel") in writes and ("POST", "/api/v1/networks") in writes
    cookie_login(api)
    for method, path in writes:
        url = re.sub(r"\{[^}]+\}", "1", path)
        for headers in ({}, {CSRF_HEADER: "0" * 64}, {CSRF_HEADER: "\xe9".encode("latin-1")}):
            answer = api.client.request(method, url, headers=headers)
            assert answer.status_code == 403, (method, url, headers, answer.status_code, answer.text)
            assert CSRF_HEADER in answer.json()["detail"]


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_a_cookie_signed_write_with_the_csrf_header_goes_through(api: Api, method: str) -> None:
    token = cookie_login(api)
    assert token == csrf_token_of(api.client.cookies["setu_session"])
    path = next(path for verb, path in signed_writes(api) if verb == method and "{" in path)
    answer = api.client.request(method, re.sub(r"\{[^}]+\}", "999999", path), headers={CSRF_HEADER: token}, json={})
    assert answer.status_code not in (401, 403), answer.text  # past the check (the record is missing)


def test_bearer_writes_and_cookie_reads_need_no_csrf_header(api: Api) -> None:
    cookie_login(api)
    assert api.client.get("/api/v1/accounts/me").status_code == 200
    api.client.cookies.clear()
    assert api.post("in-analyst", "/api/v1/runs/999999/cancel").status_code == 404


def test_every_request_ends_its_session_whatever_it_left_open(api: Api) -> None:
    """A request that read and then failed, or read without committing, still ends its transaction.

    The request's session is closed on the event loop when nothing is left to roll back, and in a worker
    thread otherwise; a session either path left open would hold its connection, and its locks, until the
    garbage collector found it.
    """
    state = api.app.state.setu
    made: list[Session] = []
    factory = state.sessions

    def recorded() -> Session:
        session = factory()
        made.append(session)
        return session

    state.sessions = recorded
    try:
        bearer = {"Authorization": f"Bearer {api.tokens['in-analyst']}"}
        answers = [
            api.client.get("/api/v1/networks/999999", headers=bearer).status_code,  # read, then refused
            api.client.get("/api/v1/networks/999999/nodes?limit=0", headers=bearer).status_code,  # invalid
            api.client.get("/api/v1/networks", headers=bearer).status_code,
            api.client.get("/api/v1/accounts/me").status_code,  # no token
        ]
    finally:
        state.sessions = factory
    assert answers == [404, 422, 200, 401]
    assert made, "the requests made no session"
    left_open = [session for session in made if session.in_transaction()]
    assert not left_open, f"{len(left_open)} of {len(made)} sessions were left in a transaction"
