"""The demo's seeded framework records made from others carry at least their sources' markings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from setu.demo.seed import seed_demo
from setu.models.base import Marked
from setu.models.framework import ActionItem, Body, Decision, Meeting, Pillar, Project
from setu.models.networks import NetworkRecord
from setu.sharing.changes import at_least_as_restrictive
from setu.sharing.markings import MarkingSpec

LINKS: dict[type[Marked], tuple[tuple[str, type[Marked]], ...]] = {
    Body: (("parent_id", Body), ("pillar_id", Pillar)),
    Project: (("pillar_id", Pillar), ("network_id", NetworkRecord)),
    Meeting: (("body_id", Body),),
    Decision: (("meeting_id", Meeting),),
    ActionItem: (("body_id", Body), ("meeting_id", Meeting), ("decision_id", Decision), ("pillar_id", Pillar)),
}


def test_seeded_framework_records_are_as_restrictive_as_what_they_link(sessions: sessionmaker[Session]) -> None:
    seed_demo(sessions)
    weaker = []
    with sessions() as session:
        for model, links in LINKS.items():
            for row in session.scalars(select(model)):
                for attribute, target in links:
                    pk = getattr(row, attribute)
                    source = None if pk is None else session.get(target, pk)
                    if source is not None and not at_least_as_restrictive(
                        MarkingSpec.of(row.marking), MarkingSpec.of(source.marking)
                    ):
                        weaker.append((model.__name__, getattr(row, "id", None), target.__name__, pk))
    assert not weaker
