"""The framework's posture: per pillar, the visible action items by status, those overdue, and the projects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from setu.framework.bodies import list_pillars
from setu.framework.common import overdue_condition
from setu.models.base import Marking
from setu.models.framework import ACTION_STATUSES, ActionItem, Pillar, Project
from setu.sharing.markings import MarkingSpec, combine
from setu.sharing.policy import Principal
from setu.sharing.read import MAX_LIMIT, readable


@dataclass(frozen=True)
class PillarPosture:
    """Counts of one pillar's visible action items and projects.

    Attributes
    ----------
    pillar
        The pillar, or ``None`` for items with no pillar (or one the reader may not see).
    counts
        Action items by status.
    overdue
        Open or in-progress items past their due date.
    programs
        Programs of the pillar's visible projects (sorted, distinct).
    projects
        How many visible projects the pillar has.
    marking
        The most restrictive marking of everything counted: a count reveals what is behind it.
    """

    pillar: Pillar | None
    counts: dict[str, int]
    overdue: int
    programs: list[str]
    projects: int
    marking: MarkingSpec | None


def posture(session: Session, principal: Principal, today: date) -> list[PillarPosture]:
    """Per pillar: visible action items by status, how many are overdue, and the visible projects.

    Counted in SQL over visible rows only. Items whose pillar the reader may not see are counted
    under "no pillar", so a hidden pillar's name never shows. Each row's marking combines the markings
    of everything counted in it (and of the pillar), since the numbers reveal those records.

    Parameters
    ----------
    session
        Any session.
    principal
        The reader.
    today
        The date overdue is counted on.

    Returns
    -------
    list of PillarPosture
        Visible pillars by code (every one, even with nothing counted), then "no pillar" if it counts anything.
    """
    pillars, _ = list_pillars(session, principal, limit=MAX_LIMIT)
    shown = {p.id: p for p in pillars}
    late = func.sum(case((overdue_condition(today), 1), else_=0))
    action_rows = session.execute(
        readable(
            principal, ActionItem.pillar_id, ActionItem.status, ActionItem.marking_id, func.count(), late
        ).group_by(ActionItem.pillar_id, ActionItem.status, ActionItem.marking_id)
    ).all()
    project_rows = session.execute(
        readable(principal, Project.pillar_id, Project.program, Project.marking_id, func.count()).group_by(
            Project.pillar_id, Project.program, Project.marking_id
        )
    ).all()
    counts: dict[int | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ACTION_STATUSES, 0))
    overdue_counts: dict[int | None, int] = defaultdict(int)
    markings: dict[int | None, set[int]] = defaultdict(set)
    programs: dict[int | None, set[str]] = defaultdict(set)
    projects: dict[int | None, int] = defaultdict(int)
    for pillar_id, status, marking_id, count, late_count in action_rows:
        key = pillar_id if pillar_id in shown else None
        counts[key][status] = counts[key].get(status, 0) + count
        overdue_counts[key] += int(late_count or 0)
        markings[key].add(marking_id)
    for pillar_id, program, marking_id, count in project_rows:
        key = pillar_id if pillar_id in shown else None
        projects[key] += count
        if program:
            programs[key].add(program)
        markings[key].add(marking_id)
    for pillar in pillars:
        markings[pillar.id].add(pillar.marking_id)
    specs = {m.id: MarkingSpec.of(m) for m in session.scalars(select(Marking).where(Marking.id.in_(_all(markings))))}
    keys: list[int | None] = [p.id for p in pillars]
    if None in counts or None in projects:
        keys.append(None)
    return [
        PillarPosture(
            pillar=shown.get(key) if key is not None else None,
            counts=dict(counts[key]),
            overdue=overdue_counts[key],
            programs=sorted(programs[key]),
            projects=projects[key],
            marking=combine([specs[m] for m in markings[key]], principal.party) if markings[key] else None,
        )
        for key in keys
    ]


def _all(groups: Mapping[Any, set[int]]) -> list[int]:
    return sorted({m for ids in groups.values() for m in ids})
