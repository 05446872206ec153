"""Framework records made from others (a meeting of a body, a decision of a meeting, an action from a decision,
a project on a network) carry at least their sources' markings: asking for a wider one does not publish them."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from principals import EVERYONE, IN_ANALYST, IN_DESK, IN_ONLY, SHARED, seed
from setu.framework.actions import create_action, list_actions
from setu.framework.bodies import create_body
from setu.framework.meetings import create_decision, create_meeting
from setu.framework.projects import create_project
from setu.models.framework import ActionItem, Meeting, Project
from setu.network.model import Network, Node, Product
from setu.networks import import_network
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import allows
from setu.sharing.read import readable


def test_records_made_from_india_only_ones_stay_india_only(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        seed(session)
        body = create_body(session, IN_DESK, name="Indian steering group", kind="policy_group", marking=IN_ONLY)
        # Each asks for SHARED (released to both parties); each is made from an India-only record.
        meeting = create_meeting(session, IN_DESK, body_id=body.id, held_on=date(2026, 3, 2), marking=SHARED)
        decision = create_decision(session, IN_DESK, meeting_id=meeting.id, text="Stock two years", marking=SHARED)
        action = create_action(
            session, IN_DESK, title="Buy stock", due_on=date(2026, 6, 1), decision_id=decision.id, marking=SHARED
        )
        network = import_network(
            session,
            IN_ANALYST,
            Network(name="n", nodes=[Node("P", "p", 1.0)], products=[Product("P", 1.0, 1.0)], bom=[], supplies=[]),
            name="secret line",
            format="setu",
            source="test",
            marking=IN_ONLY,
        )
        project = create_project(session, IN_DESK, name="Line", program="x", network_id=network.id, marking=SHARED)
        session.commit()
        made = {Meeting: meeting.id, ActionItem: action.id, Project: project.id}
        for who in EVERYONE:
            for model, pk in made.items():
                seen = session.scalar(readable(who, model.id).where(model.id == pk)) is not None
                assert seen == allows(who, IN_ONLY), (who, model.__name__)
            titles = {a.title for a in list_actions(session, who)[0]}
            assert ("Buy stock" in titles) == allows(who, IN_ONLY)
        stored = session.get_one(ActionItem, action.id)
        assert MarkingSpec.of(stored.marking).effective_releases == {"IN"}
