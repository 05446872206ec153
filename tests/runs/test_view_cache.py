"""A run's view is compiled once per reader's view and data version: never one reader's view for another's run.

The oracle is a second app on the same database, with an empty cache: the run a warm server queues for a
reader (its scenarios and its marking) must be the one a cold server queues, after other readers' views
were cached and after a marking changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api
from networks.world import build_world
from principals import IN_ONLY
from setu.api import create_app
from setu.db import transaction
from setu.models.networks import NodeRecord
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
