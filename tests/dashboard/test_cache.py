"""The dashboard's and the map's figures are computed once per view and data version: never one reader's for another.

The oracle is a second app on the same database, whose cache is empty: whatever a warm server answers a
reader must equal what a cold one computes for them, after other readers filled the cache, and after the
data changed (a new node, a changed marking, a new run). Served from the cache or not, a request leaves
the same audit entries.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api
from dashboard.test_pages import CONCERN, sweep
from networks.world import SECRET_WORDS, build_world
from principals import IN_ONLY, SHARED
from setu.accounts.lookups import get_user
from setu.accounts.tokens import issue_token
from setu.api import create_app
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.models.networks import NodeRecord
from setu.models.stress import ResultRecord
from setu.network.model import Network
from setu.sharing.markings import store

READERS = ("in-analyst", "us-analyst", "in-industry", "us-industry")
SETTINGS = dataclasses.replace(TEST_SETTINGS, concern_countries=CONCERN)


@pytest.fixture
def dash(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    yield from make_api(engine, sessions, SETTINGS, lambda session: build_world(session, world))


@pytest.fixture
def cookies(dash: Api) -> dict[str, str]:
    """A session token per reader (the same cookie works on every app on the database)."""
    with transaction(dash.sessions) as session:
        return {user: issue_token(session, get_user(session, user), "session") for user in READERS}


def body(client: TestClient, cookie: str, path: str) -> str:
    answer = client.get(path, headers={"Cookie": f"setu_session={cookie}"})
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


def dashboard_figures(page: str) -> str:
    """The page from the networks table on (what the cache serves), without the form token."""
    return re.sub(r'name="csrf" value="[0-9a-f]+"', "", page[page.index('id="networks"') :])


def cold(engine: Engine, cookie: str, path: str) -> str:
    """What a server that never answered anyone computes."""
    with TestClient(create_app(engine, settings=SETTINGS)) as client:
        return body(client, cookie, path)


def network_id(dash: Api) -> int:
    found: int = dash.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"]
    return found


def test_readers_with_different_views_never_get_each_others_dashboard_or_map(
    dash: Api, engine: Engine, cookies: dict[str, str]
) -> None:
    sweep(dash, "in-analyst")
    sweep(dash, "us-analyst")
    nid = network_id(dash)
    for path, figures in (("/", dashboard_figures), (f"/networks/{nid}/map.json", lambda text: text)):
        warm = {user: figures(body(dash.client, cookies[user], path)) for user in READERS}
        assert len(set(warm.values())) == len(READERS)  # four views, four answers
        for user in READERS:  # again, now that every reader's answer is cached
            assert (
                figures(body(dash.client, cookies[user], path))
                == warm[user]
                == figures(cold(engine, cookies[user], path))
            )
        for user in ("us-analyst", "us-industry"):
            assert not any(word in warm[user] for word in SECRET_WORDS), user
    assert dash.app.state.setu.figures.hits > 0


def test_a_new_node_a_changed_marking_or_a_new_run_is_seen_at_once(
    dash: Api, engine: Engine, sessions: sessionmaker[Session], cookies: dict[str, str]
) -> None:
    sweep(dash, "us-analyst")
    nid = network_id(dash)
    paths = {"/": dashboard_figures, f"/networks/{nid}/map.json": lambda text: text}

    def same_as_cold(user: str) -> list[str]:
        warm = [figures(body(dash.client, cookies[user], path)) for path, figures in paths.items()]
        assert warm == [figures(cold(engine, cookies[user], path)) for path, figures in paths.items()]
        return warm

    before = same_as_cold("us-analyst")
    with transaction(sessions) as session:  # an operator adds a node to the stored network
        template = session.scalars(select(NodeRecord).where(NodeRecord.network_id == nid).limit(1)).one()
        values = {c.key: getattr(template, c.key) for c in NodeRecord.__table__.columns if c.key != "id"}
        values |= {
            "node_id": "T9_NEW",
            "name": "Added Foundry",
            "country": "IN",
            "marking_id": store(session, SHARED).id,
        }
        session.add(NodeRecord(**values))
    added = same_as_cold("us-analyst")
    assert added != before and "T9_NEW" in added[1]
    with transaction(sessions) as session:  # ... and marks it India-only: gone from the US analyst's view
        session.execute(
            update(NodeRecord).where(NodeRecord.node_id == "T9_NEW").values(marking_id=store(session, IN_ONLY).id)
        )
    hidden = same_as_cold("us-analyst")
    assert "T9_NEW" not in hidden[1] and "Added Foundry" not in hidden[0]
    assert "T9_NEW" in same_as_cold("in-analyst")[1]
    sweep(dash, "us-analyst")  # a newer run: its id on the dashboard
    assert same_as_cold("us-analyst") != hidden


def test_a_renamed_deleted_or_re_marked_run_is_seen_at_once(
    dash: Api, engine: Engine, sessions: sessionmaker[Session], cookies: dict[str, str]
) -> None:
    """The run behind the figures is keyed by what it is, not by its id alone.

    SQLite gives a new row the id of the newest one deleted before it, so a run that replaces a deleted one
    can carry its id: its figures must not be the deleted run's. A rename must reach every page (a rename
    may be meant to remove a word), and results re-marked for fewer readers must leave their figures.
    """
    user = "us-analyst"
    nid = network_id(dash)

    def ad_hoc(ttr: float) -> int:
        body = {"network_id": nid, "sweep": True, "reference": False, "ttr": ttr}
        queued = dash.post(user, "/api/v1/runs", json=body)
        assert queued.status_code == 202, queued.text
        assert dash.wait(user, queued.json()["id"])["status"] == "completed"
        run_id: int = queued.json()["id"]
        return run_id

    def pages(run_id: int) -> list[str]:
        paths = {f"/?network={nid}&run={run_id}": dashboard_figures, f"/networks/{nid}/map.json": lambda t: t}
        warm = [figures(body(dash.client, cookies[user], path)) for path, figures in paths.items()]
        assert warm == [figures(cold(engine, cookies[user], path)) for path, figures in paths.items()]
        return warm

    short = ad_hoc(0.5)
    first = pages(short)
    assert dash.client.delete(f"/api/v1/runs/{short}", headers=dash.auth(user)).status_code == 204
    replaced = ad_hoc(80.0)  # the same id again on SQLite
    assert pages(replaced) != first

    reference = sweep(dash, user)
    before = pages(reference)
    renamed = dash.client.patch(f"/api/v1/runs/{reference}", headers=dash.auth(user), json={"name": "Renamed sweep"})
    assert renamed.status_code == 200, renamed.text
    after = pages(reference)
    assert "Renamed sweep" in after[0] and after != before

    with transaction(sessions) as session:  # an operator marks the sweep's results India-only
        session.execute(
            update(ResultRecord).where(ResultRecord.run_id == reference).values(marking_id=store(session, IN_ONLY).id)
        )
    assert pages(reference) != after


def audit_trail(sessions: sessionmaker[Session], after: int) -> list[tuple[Any, ...]]:
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        rows = session.execute(
            select(
                AuditEntry.actor_id, AuditEntry.action, AuditEntry.object_type, AuditEntry.object_id, AuditEntry.details
            )
            .where(AuditEntry.seq > after)
            .order_by(AuditEntry.seq)
        ).all()
    return [tuple(row) for row in rows]


def test_a_cached_answer_is_audited_as_a_computed_one(
    dash: Api, sessions: sessionmaker[Session], cookies: dict[str, str]
) -> None:
    sweep(dash, "in-analyst")
    nid = network_id(dash)
    for path in ("/", f"/networks/{nid}/map.json"):
        trails = []
        for _ in range(2):  # computed, then served from the cache
            with transaction(sessions) as session:
                integrate(session)
                last = session.scalar(select(func.max(AuditEntry.seq))) or 0
            body(dash.client, cookies["in-analyst"], path)
            trails.append(audit_trail(sessions, last))
        assert trails[0] == trails[1] and trails[0], path
