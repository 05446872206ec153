"""The one way to read a marked table: every query on one starts here, so the marking filter cannot be forgotten.

:func:`readable` is to Setu what polar's ``get_readable_statement`` is to polar: a ``SELECT`` of marked
models (or their columns) that already carries the read filter for each of them. A join to another
marked model goes through :func:`join_readable`, a count through :func:`count_readable`. Work that must
see every row whatever the reader (a worker executing a run for its owner, the audit of a denial, a
uniqueness check before a write) says so with :func:`unfiltered`, which delivery code (endpoints, pages,
CLI) may not call. ``tests/sharing/test_read_paths.py`` walks the source and fails on any query of a
marked model built another way.

Examples
--------
>>> from setu.models.networks import NodeRecord
>>> from setu.sharing.policy import Principal
>>> reader = Principal(user_id=1, party="IN", org_id=1, org_is_government=True, clearance=1)
>>> statement = readable(reader, NodeRecord.node_id).where(NodeRecord.network_id == 7)
>>> "markings" in str(statement)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import ColumnElement, Select, Update, bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import AliasedInsp

from setu.audit.log import record
from setu.errors import InputError, NotFound
from setu.models.base import Marked, Owned
from setu.sharing.policy import Principal, visible

M = TypeVar("M", bound=Marked | Owned)
P = ParamSpec("P")
S = TypeVar("S")

MAX_LIMIT = 1000
"""The most rows one page of any list answers."""

BUILT_STATEMENTS = 128
"""Statements each :func:`built_once` builder keeps, the least recently used going first: about 16 KiB each, so
at most 2 MiB a builder in a process that serves more than this many readers."""

BUILDERS: list[Callable[..., Any]] = []
"""Every :func:`built_once` builder (``tests/sharing/test_built_once.py`` checks what their arguments may be)."""


def built_once(build: Callable[P, S]) -> Callable[P, S]:
    """Decorate a statement builder so that it builds once per distinct arguments and hands the same object back.

    A statement is immutable, and SQLAlchemy memoizes its cache key on the object: reusing it skips
    building its expressions and walking them for the key, together about 0.2 ms of CPU a statement
    here, more than a small query takes to run. The rule that keeps this safe: the arguments (the
    reader, a dialect's name, a flag) are all the builder may depend on, and they are the cache key,
    so two readers never share a statement unless they are equal :class:`Principal` objects. What
    changes from one execution to the next goes in as a bind parameter (``bindparam("network_id")``,
    given to ``session.execute``), never through a closure or a global.

    Examples
    --------
    >>> from setu.models.networks import NetworkRecord
    >>> @built_once
    ... def newest(principal: Principal) -> Select[Any]:
    ...     return readable(principal, NetworkRecord).where(NetworkRecord.name == bindparam("name"))
    >>> reader = Principal(user_id=1, party="IN", org_id=1, org_is_government=True, clearance=1)
    >>> newest(reader) is newest(reader)
    True
    >>> newest(reader) is newest(Principal(user_id=2, party="IN", org_id=1, org_is_government=True, clearance=1))
    False
    """
    cached: Callable[P, S] = lru_cache(maxsize=BUILT_STATEMENTS)(build)  # type: ignore[assignment]
    BUILDERS.append(build)
    return cached


def _marking_column(entity: Any) -> Any | None:
    """The ``marking_id`` column of the marked model (or alias of one) ``entity`` selects from, if any."""
    try:
        info = inspect(entity)
    except Exception:  # a plain SQL expression (func.count(), a literal) selects from no model
        return None
    parent = getattr(info, "parent", None)
    owner = parent if parent is not None and not isinstance(info, AliasedInsp) else info
    mapper = getattr(owner, "mapper", None)
    if mapper is None or not issubclass(mapper.class_, Marked):
        return None
    target = owner.entity if isinstance(owner, AliasedInsp) else mapper.class_
    return target.marking_id


def _owned_model(entity: Any) -> type[Owned] | None:
    """The owned model (:class:`setu.models.base.Owned`) ``entity`` selects from, if any."""
    try:
        info = inspect(entity)
    except Exception:  # a plain SQL expression selects from no model
        return None
    parent = getattr(info, "parent", None)
    mapper = getattr(parent if parent is not None else info, "mapper", None)
    if mapper is None or not issubclass(mapper.class_, Owned):
        return None
    model: type[Owned] = mapper.class_
    return model


def owned_by(model: type[Owned], principal: Principal) -> ColumnElement[bool]:
    """The filter of an owned model: the reader created the row, and may read its result's marking, if any."""
    marking = model.result_marking_id
    return (model.created_by == principal.user_id) & or_(marking.is_(None), visible(marking, principal))


def _with_filters(statement: Select[Any], principal: Principal, entities: Sequence[Any]) -> Select[Any]:
    seen: set[int] = set()
    for entity in entities:
        column = _marking_column(entity)
        if column is not None and id(column.expression) not in seen:
            seen.add(id(column.expression))
            statement = statement.where(visible(column, principal))
        owned = _owned_model(entity)
        if owned is not None and id(owned) not in seen:
            seen.add(id(owned))
            statement = statement.where(owned_by(owned, principal))
    return statement


def readable(principal: Principal, *entities: Any) -> Select[Any]:
    """``SELECT entities`` restricted to the rows ``principal`` may read.

    Every marked model among ``entities`` (a model, an alias of one, or a column of either) gets the
    read filter, every owned model (a job) its owner filter (:func:`owned_by`); expressions such as
    ``func.count()`` select from nothing and get none.

    Parameters
    ----------
    principal
        The reader.
    *entities
        What to select, as for :func:`sqlalchemy.select`.

    Returns
    -------
    Select
        The statement, to refine with ``where``, ``order_by``, ``limit`` or :func:`join_readable`.
    """
    return _with_filters(select(*entities), principal, entities)


def join_readable(
    statement: Select[Any],
    principal: Principal,
    target: Any,
    onclause: ColumnElement[bool] | None = None,
    *,
    outer: bool = False,
) -> Select[Any]:
    """``statement`` joined to ``target`` (a model or alias), keeping only the rows of ``target`` the reader may read.

    An outer join keeps the left row when the right one is hidden, as if it did not exist.
    """
    column = _marking_column(target)
    if column is None:
        return statement.join(target, onclause, isouter=outer)
    if outer:
        condition = visible(column, principal) if onclause is None else onclause & visible(column, principal)
        return statement.join(target, condition, isouter=True)
    return statement.join(target, onclause).where(visible(column, principal))


def readable_count(principal: Principal, model: type[Marked | Owned]) -> Select[Any]:
    """``SELECT count(*) FROM model`` of the rows the reader may read, to refine with ``where``."""
    return _with_filters(select(func.count()).select_from(model), principal, [model])


def readable_page(
    principal: Principal, model: type[Marked | Owned], conditions: Sequence[Any], order: Sequence[Any]
) -> tuple[Select[Any], Select[Any]]:
    """How many rows of ``model`` matching ``conditions`` the reader may read, and a page of them in ``order``.

    The page takes its ``offset`` and ``limit`` as bind parameters, for a :func:`built_once` builder.
    """
    count = readable_count(principal, model).where(*conditions)
    listed = readable(principal, model).where(*conditions).order_by(*order)
    return count, listed.offset(bindparam("offset")).limit(bindparam("limit"))


def count_readable(session: Session, principal: Principal, model: type[Marked | Owned], *conditions: Any) -> int:
    """How many rows of ``model`` matching ``conditions`` the reader may read."""
    return int(session.scalar(readable_count(principal, model).where(*conditions)) or 0)


def unfiltered(*entities: Any) -> Select[Any]:
    """``SELECT entities`` of every row, whoever asks: for work that is not a user's read.

    Callers say why in a comment: a worker acting for a run's owner, a uniqueness check before a
    write, whether a hidden record exists (kept for auditors only). Delivery code may not call it.
    """
    return select(*entities)


def unfiltered_update(model: type[Marked | Owned]) -> Update:
    """``UPDATE model`` of whichever rows its WHERE names, whoever asks: for upkeep that is not a user's write.

    The queue of runs and jobs is the one caller: a worker claiming the oldest queued one, its heartbeat, the
    reaper of a dead worker's run. Their WHERE holds the state the row must still be in, so the
    row count says who won a race. Delivery code may not call it.
    """
    return update(model)


def count_unfiltered(session: Session, model: type[Marked | Owned], *conditions: Any) -> int:
    """How many rows of ``model`` match ``conditions``, visible or not (see :func:`unfiltered`)."""
    return int(session.scalar(unfiltered(func.count()).select_from(model).where(*conditions)) or 0)


def deny(
    session: Session,
    principal: Principal,
    action: str,
    kind: str,
    key: object,
    *,
    details: Mapping[str, Any] | None = None,
) -> NotFound:
    """Audit a denied or missing read, commit the entry, and return the :class:`NotFound` to raise.

    A record the user may not see is answered exactly like one that does not exist. The denial is
    committed at once, so that a caller rolling back on the error cannot erase the record of the
    denied access (reads hold no other pending work when they deny).

    Parameters
    ----------
    session
        The session whose transaction the denial is recorded and committed in.
    principal
        The user who asked.
    action
        The audited action (``node.read``, ``results.export`` ...).
    kind, key
        What was asked for and its id as given: they make the message.
    details
        More to keep in the audit entry.

    Returns
    -------
    NotFound
        The error to raise.
    """
    # One reason whether the record is hidden or absent: the log is read by auditors of both parties,
    # and a difference here would tell them which of the other party's records exist.
    reason = {"reason": "not found"}
    record(session, principal, action, kind, str(key), decision="deny", details={**reason, **(details or {})})
    session.commit()
    return NotFound(kind, key)


def fetch_visible(
    session: Session,
    principal: Principal,
    model: type[M],
    conditions: Sequence[ColumnElement[bool]],
    *,
    action: str,
    kind: str,
    key: object,
    audit_permit: bool = True,
) -> M:
    """The one record of ``model`` matching ``conditions`` that ``principal`` may see.

    Raises
    ------
    NotFound
        If there is none, or none visible (audited as denied, see :func:`deny`).
    """
    row: M | None = session.scalars(readable(principal, model).where(*conditions)).one_or_none()
    return _found(session, principal, row, action=action, kind=kind, key=key, audit_permit=audit_permit)


def _found(
    session: Session, principal: Principal, row: M | None, *, action: str, kind: str, key: object, audit_permit: bool
) -> M:
    """``row``, its read audited (``audit_permit``); or, when it is None, the denial audited and raised."""
    if row is None:
        raise deny(session, principal, action, kind, key)
    if audit_permit:
        record(session, principal, action, kind, str(key))
    return row


@built_once
def _by_id(principal: Principal, model: Any) -> Select[Any]:
    return readable(principal, model).where(model.id == bindparam("record_id"))


def fetch_visible_id(
    session: Session,
    principal: Principal,
    model: type[M],
    record_id: int,
    *,
    action: str,
    kind: str,
    audit_permit: bool = True,
) -> M:
    """:func:`fetch_visible` of the record whose ``id`` is ``record_id``, by one statement per reader and model."""
    row: M | None = session.scalars(_by_id(principal, model), {"record_id": record_id}).one_or_none()
    return _found(session, principal, row, action=action, kind=kind, key=record_id, audit_permit=audit_permit)


def page(offset: int, limit: int) -> tuple[int, int]:
    """``offset`` and ``limit`` checked: offset >= 0, 1 <= limit <= :data:`MAX_LIMIT`."""
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}, got {offset} and {limit}")
    return offset, limit


def _escaped(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive ``text in column`` (LIKE, with ``%``, ``_`` and ``\\`` in ``text`` taken literally)."""
    return func.lower(column).like(contained(text), escape="\\")


def contained(text: str) -> str:
    """The LIKE pattern of :func:`contains`, for a statement that takes it as a bind parameter (:func:`built_once`)."""
    return f"%{_escaped(text)}%"


def contains_bound(column: Any, name: str) -> ColumnElement[bool]:
    """:func:`contains` with the pattern (:func:`contained`) given at execution as the bind parameter ``name``."""
    return func.lower(column).like(bindparam(name), escape="\\")


def starts_with(column: Any, prefix: str) -> ColumnElement[bool]:
    """Case-insensitive ``column.startswith(prefix)``, with LIKE's wildcards in ``prefix`` taken literally."""
    return func.lower(column).like(f"{_escaped(prefix)}%", escape="\\")
