"""Stand-ins cross to the partner's instance like any record: the U.S. instance computes India's figures with them.

India holds an engine line whose forges and titanium mill are India-only. Before a tear line, the U.S.
instance receives the line without them and its figures run on a starved engine maker; after India releases
stand-ins and publishes, the U.S. analyst's PI and TTS on the U.S. instance equal India's on the full line,
and no covered node or hidden name crossed. Withdrawing revokes the stand-ins there at the next publish.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from federation.conftest import Link
from networks.test_standins import SECRETS, figures, import_engine_line
from principals import IN_ANALYST, US_ANALYST
from setu.db import transaction
from setu.models.networks import NetworkRecord, NodeRecord
from setu.networks import compiled_view
from setu.networks.standins import generate, release, withdraw


def _us_view(link: Link):  # type: ignore[no-untyped-def]
    with transaction(link.us.sessions) as session:
        network_id = session.scalars(select(NetworkRecord.id).where(NetworkRecord.name == "engines")).one()
        return compiled_view(session, US_ANALYST, network_id)[0]


def test_released_stand_ins_reach_the_partner_instance_and_give_the_full_figures(parties: Link) -> None:
    with transaction(parties.india.sessions) as session:
        network_id = import_engine_line(session)
    with transaction(parties.india.sessions) as session:
        full = compiled_view(session, IN_ANALYST, network_id)[0]
    parties.sync()
    bare = _us_view(parties)
    assert sorted(bare.node_ids) == ["ENG", "F-US", "TI-US"]
    visible = {"F-US": ("F-US",), "TI-US": ("TI-US",)}
    want = figures(full, visible)
    assert figures(bare, visible) != want

    with transaction(parties.india.sessions) as session:
        tear_id = generate(session, IN_ANALYST, network_id, audience="US", classification=1).id
    parties.sync()
    assert sorted(_us_view(parties).node_ids) == sorted(bare.node_ids)  # a draft does not cross
    with transaction(parties.india.sessions) as session:
        release(session, IN_ANALYST, tear_id)
    parties.sync()

    there = _us_view(parties)
    standins = sorted(n for n in there.node_ids if n.startswith("standin-"))
    assert len(standins) == 2
    got = figures(there, visible)
    for sid, (pi, tts) in want.items():
        assert got[sid] == pytest.approx((pi, tts), rel=1e-9), sid
    with transaction(parties.us.sessions) as session:
        rows = session.scalars(select(NodeRecord).where(NodeRecord.node_id.like("standin-%"))).all()
        assert all(r.received_from == "IN" and r.tear_line_id is None for r in rows)
        text = repr(
            [(r.node_id, r.name, r.site, r.organization, r.program) for r in session.scalars(select(NodeRecord))]
        )
        assert not [w for w in SECRETS if w in text]

    with transaction(parties.india.sessions) as session:
        withdraw(session, IN_ANALYST, tear_id)
    parties.sync()
    with transaction(parties.us.sessions) as session:
        left = session.scalar(select(func.count()).select_from(NodeRecord).where(NodeRecord.node_id.like("standin-%")))
        assert left == 0
    assert sorted(_us_view(parties).node_ids) == sorted(bare.node_ids)
