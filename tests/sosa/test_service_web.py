"""Service reads the request pages need: the firms a request may be placed on, filtered by marking."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_DESK, US_DESK, US_GE, US_ONLY, US_OTHER
from setu.db import transaction
from setu.models import Organization
from setu.sharing.markings import store
from setu.sosa import service
from sosa.world import build


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> dict[str, int]:
    with transaction(sessions) as session:
        ids = build(session)
        hidden = Organization(id=77, party_code="US", name="Black Forge", kind="firm", marking=store(session, US_ONLY))
        session.add(hidden)
        return ids


def test_supplier_firms_are_the_other_partys_visible_firms(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with transaction(sessions) as session:
        india_sees = [(f.id, f.party_code) for f in service.supplier_firms(session, IN_DESK)]
        us_sees = {f.id for f in service.supplier_firms(session, US_DESK, "US")}
        us_partners = {f.party_code for f in service.supplier_firms(session, US_DESK)}
    assert {firm for firm, _ in india_sees} == {US_GE, US_OTHER}  # no ministry, no U.S.-only firm
    assert {party for _, party in india_sees} == {"US"}
    assert us_sees == {US_GE, US_OTHER, 77} and us_partners == {"IN"}
