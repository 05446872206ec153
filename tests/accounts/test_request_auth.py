"""Who a request is, per request: cheap, yet every change of access counts on the very next request, in every server.

A token's last use is noted at most once a minute, so a client's concurrent reads neither queue on its
token row (PostgreSQL) nor fail with "database is locked" (SQLite). The user's principal (party,
organization, clearance, groups, roles) is read fresh with the token on every request: revoking a token,
disabling a user, or taking a clearance, group or role away takes effect on the next request, in this
server process and in a second one on the same database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, event, select, update

from clients import PASSWORD, TEST_SETTINGS, Api
from networks.world import IN_ONLY_NODES, NTK_NODES, visible_ids
from setu.accounts.lookups import as_utc, get_user
from setu.accounts.tokens import LAST_USE_INTERVAL, hash_token, revoke_token
from setu.accounts.users import disable_user
from setu.api import create_app
from setu.db import transaction
from setu.models.accounts import AuthToken, User, UserGroup, UserRole
from setu.network.model import Network


def last_used(api: Api, user: str) -> datetime | None:
    with transaction(api.sessions) as session:
        found = session.scalar(
            select(AuthToken.last_used_at).where(AuthToken.token_hash == hash_token(api.tokens[user]))
        )
    return found


@pytest.fixture
def token_writes(engine: Engine) -> Iterator[list[str]]:
    """Every UPDATE of auth_tokens the database is sent while the test runs."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE AUTH_TOKENS"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_concurrent_reads_with_one_token_do_not_lock_and_note_its_use_once_a_minute(
    web: Api, token_writes: list[str]
) -> None:
    first = web.get("in-analyst", "/api/v1/accounts/me")
    assert first.status_code == 200
    noted = last_used(web, "in-analyst")
    assert noted is not None
    network = web.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]
    token_writes.clear()
    urls = ["/api/v1/accounts/me", f"/api/v1/networks/{network}/nodes?limit=5", "/api/v1/networks"] * 7

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda url: web.get("in-analyst", url), urls[:20]))

    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    assert not any("database is locked" in a.text for a in answers)
    assert token_writes == []  # used a moment ago: nothing to write
    assert last_used(web, "in-analyst") == noted
    # A minute on, the next request notes the use again, once.
    with transaction(web.sessions) as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.token_hash == hash_token(web.tokens["in-analyst"]))
            .values(last_used_at=noted - LAST_USE_INTERVAL - timedelta(seconds=1))
        )
    token_writes.clear()
    assert web.get("in-analyst", "/api/v1/accounts/me").status_code == 200
    later = last_used(web, "in-analyst")
    assert later is not None and as_utc(later) > as_utc(noted)  # type: ignore[operator]
    assert len(token_writes) == 1


@pytest.fixture
def second(web: Api, engine: Engine) -> Iterator[TestClient]:
    """A second server process's app on the same database (its own caches, if it had any)."""
    with TestClient(create_app(engine, settings=TEST_SETTINGS)) as client:
        yield client


def node_ids(client: TestClient, token: str, network: int) -> set[str] | int:
    answer = client.get(f"/api/v1/networks/{network}/nodes?limit=1000", headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        return answer.status_code
    return {item["node_id"] for item in answer.json()["items"]}


def both(web: Api, second: TestClient, user: str, network: int) -> list[set[str] | int]:
    return [node_ids(client, web.tokens[user], network) for client in (web.client, second)]


def change(web: Api, user: str, statement: Any) -> None:
    with transaction(web.sessions) as session:
        user_id = session.scalar(select(User.id).where(User.username == user))
        session.execute(statement(user_id))


def test_a_lower_clearance_or_a_lost_group_filters_the_next_request_in_every_server(
    web: Api, second: TestClient, world: Network
) -> None:
    network = web.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]
    analyst = web.principals["in-analyst"]
    seen = visible_ids(world, analyst)
    assert both(web, second, "in-analyst", network) == [seen, seen]  # both servers have answered (and cached)
    assert set(NTK_NODES) <= seen and set(IN_ONLY_NODES) <= seen

    change(web, "in-analyst", lambda uid: delete(UserGroup).where(UserGroup.user_id == uid))
    no_group = visible_ids(world, dataclasses.replace(analyst, groups=frozenset()))
    assert no_group < seen and not set(NTK_NODES) & no_group
    assert both(web, second, "in-analyst", network) == [no_group, no_group]

    # Below the network's RESTRICTED marking: the network itself is hidden, answered as a missing one.
    change(web, "in-analyst", lambda uid: update(User).where(User.id == uid).values(clearance=0))
    assert both(web, second, "in-analyst", network) == [404, 404]


def test_a_lost_role_is_refused_on_the_next_request_in_every_server(web: Api, second: TestClient) -> None:
    headers = {"Authorization": f"Bearer {web.tokens['auditor']}"}
    for client in (web.client, second):
        assert client.get("/api/v1/audit/entries?limit=1", headers=headers).status_code == 200
    change(web, "auditor", lambda uid: delete(UserRole).where(UserRole.user_id == uid))
    for client in (web.client, second):
        assert client.get("/api/v1/audit/entries?limit=1", headers=headers).status_code == 403


def test_a_revoked_token_or_a_disabled_user_is_refused_on_the_next_request_in_every_server(
    web: Api, second: TestClient
) -> None:
    network = web.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]
    assert all(isinstance(found, set) for found in both(web, second, "in-analyst", network))
    assert all(isinstance(found, set) for found in both(web, second, "us-analyst", network))
    with transaction(web.sessions) as session:
        assert revoke_token(session, web.tokens["in-analyst"])
    assert both(web, second, "in-analyst", network) == [401, 401]
    with transaction(web.sessions) as session:
        disable_user(session, get_user(session, "us-analyst"))
    assert both(web, second, "us-analyst", network) == [401, 401]


def test_a_session_cookie_signs_pages_with_the_users_name_and_notes_its_use(web: Api) -> None:
    answer = web.client.post("/api/v1/accounts/login", json={"username": "in-analyst", "password": PASSWORD})
    assert answer.status_code == 200
    page = web.client.get("/")
    assert page.status_code == 200 and "in-analyst" in page.text
    with transaction(web.sessions) as session:
        cookie = web.client.cookies["setu_session"]
        row = session.scalars(select(AuthToken).where(AuthToken.token_hash == hash_token(cookie))).one()
        noted = as_utc(row.last_used_at)
        assert noted is not None and abs(noted - datetime.now(UTC)) < timedelta(minutes=1)
