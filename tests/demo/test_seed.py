"""The demo seed: one transaction, every role on both sides, and markings that split what each side sees."""

from __future__ import annotations

from datetime import timedelta

import holidays
import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from setu.accounts.login import principal_of
from setu.accounts.lookups import get_user
from setu.demo.seed import DEMO_NETWORK, seed_demo, seed_demo_registry, seed_demo_requests, seed_demo_runs
from setu.errors import NotFound
from setu.models.accounts import User
from setu.models.networks import NetworkRecord, NodeRecord
from setu.models.sosa import PriorityRequest
from setu.networks.reads import get_node, list_nodes
from setu.registry.sources import find_sources
from setu.runs.results import list_results
from setu.runs.service import list_runs


def test_seed_once_with_users_and_split_visibility(sessions: sessionmaker[Session]) -> None:
    users = seed_demo(sessions)
    assert {(u.party, u.role) for u in users} == {
        (p, r) for p in ("IN", "US") for r in ("admin", "analyst", "desk_officer", "industry", "auditor")
    }
    assert seed_demo(sessions) == []  # already seeded: nothing written, no password shown twice
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 10
        network = session.scalar(select(NetworkRecord).where(NetworkRecord.name == DEMO_NETWORK))
        assert network is not None
        total = session.scalar(select(func.count()).select_from(NodeRecord).where(NodeRecord.network_id == network.id))
        seen = {}
        for name in ("in.analyst", "us.analyst", "in.industry", "us.industry"):
            principal = principal_of(get_user(session, name))
            _, seen[name] = list_nodes(session, principal, network.id, limit=1)
        # Each side misses the other's national-only records; industry misses the other firm's proprietary data.
        assert all(count < total for count in seen.values())
        assert seen["in.analyst"] != seen["us.analyst"]
        us_analyst = principal_of(get_user(session, "us.analyst"))
        # Su-30MKI spares are India-only: for the US analyst the node does not exist.
        spares = session.scalar(select(NodeRecord.node_id).where(NodeRecord.program == "Su-30MKI-spares").limit(1))
        assert spares is not None
        with pytest.raises(NotFound) as hidden:
            get_node(session, us_analyst, network.id, spares)
        with pytest.raises(NotFound) as missing:
            get_node(session, us_analyst, network.id, "NO-SUCH-NODE")
        assert str(hidden.value).replace(spares, "X") == str(missing.value).replace("NO-SUCH-NODE", "X")


def test_demo_runs_are_stored_per_party_and_hide_the_other_sides_records(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions)
    assert seed_demo_runs(sessions) == 4
    with sessions() as session:
        in_analyst = principal_of(get_user(session, "in.analyst"))
        us_analyst = principal_of(get_user(session, "us.analyst"))
        in_runs, in_total = list_runs(session, in_analyst)
        us_runs, us_total = list_runs(session, us_analyst)
        assert all(run.status == "completed" for run in in_runs + us_runs)
        # Each analyst's view holds the other side's national-only nodes hidden, so neither sees the other's runs.
        assert {run.id for run in in_runs}.isdisjoint({run.id for run in us_runs})
        assert in_total == 2 and us_total == 2
        sweep = max(us_runs, key=lambda run: run.id)
        results, count = list_results(session, us_analyst, sweep.id, limit=1000)
        assert count == sweep.total > 300
        spares = set(session.scalars(select(NodeRecord.node_id).where(NodeRecord.program == "Su-30MKI-spares")))
        assert spares and not spares & {row.scenario_id for row in results}


def test_demo_registry_and_requests_between_the_desk_officers(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions)
    assert seed_demo_registry(sessions) > 20
    references = seed_demo_requests(sessions)
    assert [ref[:2] for ref in references] == ["IN", "US", "IN"]
    with sessions() as session:
        states = dict(session.execute(select(PriorityRequest.reference, PriorityRequest.state)).all())
        assert [states[ref] for ref in references] == ["RATED_ORDER_ISSUED", "SUBMITTED", "ESCALATED"]
        ordered = session.scalars(select(PriorityRequest).where(PriorityRequest.reference == references[0])).one()
        # DX: the US firm must answer within 10 working days of receipt, on the US calendar.
        assert ordered.rating == "DX" and ordered.response_due is not None and ordered.received_on is not None
        # Counted independently of Setu's calendar: numpy's business days over the US federal holidays, the
        # day of receipt excluded. (A calendar-day range fails whenever the demo is seeded on a weekend.)
        received, due = ordered.received_on, ordered.response_due
        federal = holidays.country_holidays("US", years=range(received.year, due.year + 1))
        assert np.busday_count(received + timedelta(days=1), due + timedelta(days=1), holidays=list(federal)) == 10
        assert np.is_busday(due, holidays=list(federal))
        us_desk = principal_of(get_user(session, "us.desk"))
        # A US desk officer looking for a partner source of superalloy finds India's MIDHANI.
        sources = find_sources(session, us_desk, "superalloy")
        assert "Mishra Dhatu Nigam (MIDHANI)" in {source.organization.name for source in sources}
