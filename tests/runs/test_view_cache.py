"""A run's view is compiled once per reader's view and data version: never one reader's view for another's run.

The oracle is a second app on the same database, with an empty cache: the run a warm server queues for a
reader (its scenarios and its marking) must be the one a cold server queues, after other readers' views
were cached and after a marking changed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api
from dashboard.test_cache import READERS
from dashboard.test_cache import SETTINGS as DASH_SETTINGS
from dashboard.test_pages import sweep
from networks.world import SECRET_WORDS, build_world
from principals import IN_ONLY
from setu.accounts.lookups import get_user
from setu.accounts.tokens import issue_token
from setu.api import create_app
from setu.db import transaction
from setu.models.networks import NodeRecord
from setu.models.stress import ResultRecord
from setu.network.model import Network
from setu.sharing.markings import store

RUNNERS = ("in-analyst", "us-analyst")


# Queued runs wait (no worker executes them) and no cap refuses the next: only the queuing is tested.
SETTINGS = dataclasses.replace(TEST_SETTINGS, run_workers=0, run_queue=1000, max_active_runs=1000)


@pytest.fixture
def web(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    yield from make_api(engine, sessions, SETTINGS, lambda session: build_world(session, world))


@pytest.fixture
def cold(web: Api, engine: Engine) -> Iterator[TestClient]:
    """A second server on the same database whose caches stay empty (each start is its first)."""
    with TestClient(create_app(engine, settings=SETTINGS)) as client:
        yield client


def queued(client: TestClient, token: str, network: int) -> dict[str, Any]:
    """Queue the node sweep; what the run was queued as."""
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post("/api/v1/runs", json={"network_id": network, "sweep": True}, headers=headers)
    assert answer.status_code == 202, answer.text
    run = answer.json()
    return {"total": run["total"], "marking": run["marking"]}


def test_a_warm_server_queues_every_reader_the_run_a_cold_one_would(
    web: Api, cold: TestClient, sessions: sessionmaker[Session]
) -> None:
    network = web.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]

    def both(user: str) -> list[dict[str, Any]]:
        return [queued(client, web.tokens[user], network) for client in (web.client, cold)]

    first = {user: both(user) for user in RUNNERS}
    for user in RUNNERS:
        warm, fresh = both(user)  # now served from the warm server's cache
        assert warm == fresh == first[user][0] == first[user][1], user
    assert first["in-analyst"][0] != first["us-analyst"][0]
    assert web.app.state.setu.views.hits > 0
    with transaction(sessions) as session:  # a node the US analyst saw becomes India-only
        session.execute(
            update(NodeRecord).where(NodeRecord.node_id == "T2_1").values(marking_id=store(session, IN_ONLY).id)
        )
    warm, fresh = both("us-analyst")
    assert warm == fresh and warm["total"] < first["us-analyst"][0]["total"]


# --- the run page's chart, ranking and counts -----------------------------------------------------------


@pytest.fixture
def dash(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    yield from make_api(engine, sessions, DASH_SETTINGS, lambda session: build_world(session, world))


@pytest.fixture
def cookies(dash: Api) -> dict[str, str]:
    """A session token per reader (the same cookie works on every app on the database)."""
    with transaction(dash.sessions) as session:
        return {user: issue_token(session, get_user(session, user), "session") for user in READERS}


def run_page(client: TestClient, cookie: str, run_id: int) -> tuple[int, str]:
    """The run page's status and its text without the form token (which differs per request)."""
    answer = client.get(f"/runs/{run_id}", headers={"Cookie": f"setu_session={cookie}"})
    return answer.status_code, re.sub(r'name="csrf" value="[0-9a-f]+"', "", answer.text)


def test_a_run_pages_figures_are_each_readers_own_and_follow_a_changed_marking(
    dash: Api, engine: Engine, sessions: sessionmaker[Session], cookies: dict[str, str]
) -> None:
    runs = [sweep(dash, "in-analyst"), sweep(dash, "us-analyst")]

    def warm_equals_cold(user: str, run_id: int) -> tuple[int, str]:
        warm = [run_page(dash.client, cookies[user], run_id) for _ in range(2)]  # computed, then cached
        with TestClient(create_app(engine, settings=DASH_SETTINGS)) as fresh:
            assert warm[0] == warm[1] == run_page(fresh, cookies[user], run_id), (user, run_id)
        return warm[0]

    seen = {(user, run_id): warm_equals_cold(user, run_id) for user in READERS for run_id in runs}
    assert dash.app.state.setu.figures.hits > 0
    for run_id in runs:
        shown = {text for (_user, rid), (status, text) in seen.items() if rid == run_id and status == 200}
        readers = [user for user in READERS if seen[(user, run_id)][0] == 200]
        assert len(shown) == len(readers) >= 1, run_id  # every reader's page is their own
    for user in ("us-analyst", "us-industry"):
        assert not any(word in seen[(user, runs[1])][1] for word in SECRET_WORDS), user
    with transaction(sessions) as session:  # one of the US run's results becomes India-only
        result = session.scalars(select(ResultRecord).where(ResultRecord.run_id == runs[1]).limit(1)).one()
        hidden = result.scenario_id
        session.execute(
            update(ResultRecord).where(ResultRecord.id == result.id).values(marking_id=store(session, IN_ONLY).id)
        )
    status, text = warm_equals_cold("us-analyst", runs[1])
    assert status == 200 and text != seen[("us-analyst", runs[1])][1]
    assert f">{hidden}<" not in text
