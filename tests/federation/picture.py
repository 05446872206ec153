"""What an instance holds, as comparable values: each record by its content, its references by theirs, its marking.

Two pictures are equal when two instances hold the same records, whatever their row ids. The
release oracle here is written apart from the feed: the policy's Python rule (:func:`allows`) record by
record, then references followed by hand, so a mistake in the feed's SQL filter or closure shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from setu.federation.kinds import KINDS, Kind
from setu.models.federation import Partner, ReceivedObject
from setu.models.parties import Organization
from setu.sharing.markings import MarkingSpec, specs_by_id
from setu.sharing.policy import allows, partner_reader

Picture = dict[str, set[tuple[Any, ...]]]


def _marking_value(session: Session, spec: MarkingSpec) -> tuple[Any, ...]:
    names = {
        org.id: (org.party_code, org.name)
        for org in session.scalars(select(Organization).where(Organization.id.in_([o for o, _ in spec.owners])))
    }
    owners = tuple(sorted(names[org] for org, _ in spec.owners))
    return (
        spec.classification,
        spec.origin_party,
        tuple(sorted(spec.releases)),
        spec.national_only,
        owners,
        tuple(sorted(spec.groups)),
    )


def _picture(session: Session, include: Callable[[Kind, Any], bool]) -> Picture:
    values: dict[str, dict[int, tuple[Any, ...]]] = {}
    picture: Picture = {}
    for kind in KINDS:
        values[kind.name] = {}
        model: Any = kind.model
        for row in session.scalars(select(model).order_by(model.id)):
            if not include(kind, row):
                continue
            refs = []
            for ref in kind.references:
                target = values[ref.kind].get(getattr(row, ref.column))
                if target is None and ref.required:
                    break
                refs.append(target if target is not None else None)
            else:
                if not _names_only_included(values, kind, row):
                    continue
                spec = specs_by_id(session, [row.marking_id])[row.marking_id]
                fields = tuple(_field(values, kind, column, getattr(row, column)) for column in kind.fields)
                value = (fields, tuple(refs), _marking_value(session, spec))
                values[kind.name][row.id] = value
        picture[kind.name] = set(values[kind.name].values())
    return picture


def _normal(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:  # SQLite gives back naive UTC
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return tuple(sorted((key, _normal(item)) for key, item in value.items()))
    return tuple(_normal(item) for item in value) if isinstance(value, list) else value


def _names_only_included(values: dict[str, dict[int, tuple[Any, ...]]], kind: Kind, row: Any) -> bool:
    """Whether every id a JSON column of ``row`` names is of a record included (else ``row`` is withheld too)."""
    for column, (key, target) in kind.id_lists.items():
        named = (getattr(row, column) or {}).get(key)
        if isinstance(named, list) and not all(int(local) in values[target] for local in named):
            return False
    return True


def _field(values: dict[str, dict[int, tuple[Any, ...]]], kind: Kind, column: str, value: Any) -> Any:
    """A column's comparable value; local ids inside a JSON column become the values of the records they name."""
    if column in kind.id_lists and isinstance(value, dict):
        key, target = kind.id_lists[column]
        if isinstance(value.get(key), list):
            value = {**value, key: [values[target].get(int(local)) for local in value[key]]}
    return _normal(value)


def released_picture(session: Session, party: str, sender: str | None = None) -> Picture:
    """What the instance behind ``session`` (``sender``: the other of IN and US) may release to ``party``.

    Its own records that the policy admits, and that are its own to release: a record naming a party as its own
    (an organization, a run's origin) names the sender, and its marking originates with the sender (a transition
    of a request may carry the request's marking, whoever filed it).
    """
    reader = partner_reader(session.get_one(Partner, party))
    own = sender or ({"IN", "US"} - {party}).pop()

    def include(kind: Kind, row: Any) -> bool:
        spec = specs_by_id(session, [row.marking_id])[row.marking_id]
        authority = spec.origin_party == own or kind.name == "request_event"
        speaks_for = not kind.party or getattr(row, kind.party) == own
        return row.received_from is None and allows(reader, spec) and authority and speaks_for

    picture = _picture(session, include)
    return picture


def received_picture(session: Session, party: str) -> Picture:
    """What the instance behind ``session`` holds as received from ``party`` (live, not tombstones)."""
    held = {
        (kind, local_id)
        for kind, local_id in session.execute(
            select(ReceivedObject.kind, ReceivedObject.local_id).where(
                ReceivedObject.partner == party, ReceivedObject.local_id.is_not(None)
            )
        )
    }

    def include(kind: Kind, row: Any) -> bool:
        return (kind.name, row.id) in held

    return _picture(session, include)
