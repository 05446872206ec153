"""Figures computed once per reader's view and data version, served from an in-process cache.

The dashboard and the map compute their figures from everything a reader may see of a network: the
same work, with the same answer, for every request until the data or the view changes. A
:class:`ViewCache` keeps those answers, keyed so that two readers share an entry only when the
policy cannot tell them apart, and the data only while it is the same:

- the reader's *view* (:func:`view_key`): every attribute of the principal that the read filter looks
  at (party, organization and whether it is a government body, clearance, groups). Two principals with
  equal keys read exactly the same records (:func:`setu.sharing.policy.allows` reads nothing else);
- the data's *stamp*, which the caller reads through the read filter on every request (the network,
  a fingerprint of the records in the reader's view, the run the figures come from), so that a new
  record, a removed one or a changed marking gives a new key.

An entry holds plain values only (no database rows), so it never reaches back into a session. The
reads' audit entries are part of an answer: :func:`capture` notes those a computation wrote, and a
request served from the cache writes the same ones again (:func:`replay`), as its own reader.

A key is computed by one request at a time: others that miss it meanwhile wait for that answer
(:attr:`ViewCache.wait_seconds` at most) instead of doing the same work beside it. After a restart, a
new run or a new network version every reader's figures are cold at once, and a burst that each
computed them would load every core with one page's work.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from setu.audit.log import collecting, record
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

V = TypeVar("V")

DEFAULT_ENTRIES = 256
"""Entries one cache holds (least recently used first out): a few per network, view and figure."""


def view_key(principal: Principal) -> tuple[Hashable, ...]:
    """What the read filter sees of a reader: equal keys, equal views (roles and the user id are left out).

    Parameters
    ----------
    principal
        The reader.

    Returns
    -------
    tuple
        Party, organization, government flag, clearance and the sorted need-to-know groups.
    """
    return (principal.party, principal.org_id, principal.org_is_government, principal.clearance, principal.groups)


@dataclass(frozen=True, slots=True)
class AuditCall:
    """One audit entry a computation wrote, to write again for a reader served from the cache."""

    action: str
    object_type: str
    object_id: str
    decision: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Cached(Generic[V]):
    """A computed answer: its value, the markings it showed (for the page's banner) and its audit entries."""

    value: V
    specs: frozenset[MarkingSpec] = frozenset()
    audit: tuple[AuditCall, ...] = ()


@dataclass
class ViewCache:
    """A bounded, thread-safe, least-recently-used map from (figure, view, stamp) keys to :class:`Cached` answers.

    One per app (server process); nothing in it outlives the process or is shared with another.
    """

    entries: int = DEFAULT_ENTRIES
    wait_seconds: float = 30.0
    """How long a request that missed waits for another's computation of the same key, then computes itself."""
    hits: int = 0
    misses: int = 0
    _items: OrderedDict[Hashable, Cached[Any]] = field(default_factory=OrderedDict)
    _computing: dict[Hashable, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: Hashable) -> Cached[Any] | None:
        """The answer stored under ``key``, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: Hashable, answer: Cached[Any]) -> None:
        """Store ``answer`` under ``key``, dropping the least recently used entries beyond :attr:`entries`."""
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def begin(self, key: Hashable) -> tuple[Cached[Any] | None, bool]:
        """The answer under ``key``, waiting for another request's computation of it; and whether to lead.

        Returns ``(answer, False)`` when there is one, ``(None, True)`` when the caller is the one to
        compute it (it :meth:`put` s the answer and calls :meth:`end` however the computation ends), and
        ``(None, False)`` when the computation it waited for failed or outlasted :attr:`wait_seconds`: the
        caller computes too, and leaves :meth:`end` to the one it waited for.
        """
        found = self.get(key)
        if found is not None:
            return found, False
        with self._lock:
            found = self._items.get(key)  # stored since the look above
            if found is not None:
                return found, False
            running = self._computing.get(key)
            if running is None:
                self._computing[key] = threading.Event()
                return None, True
        running.wait(self.wait_seconds)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
        return found, False

    def end(self, key: Hashable) -> None:
        """The computation of ``key`` is over (stored or failed): release the requests waiting for it."""
        with self._lock:
            running = self._computing.pop(key, None)
        if running is not None:
            running.set()

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@contextmanager
def capture(session: Session) -> Iterator[list[AuditCall]]:
    """Note the audit entries written in ``session`` inside the block (in the order written).

    Parameters
    ----------
    session
        The session the computation writes its audit entries in.

    Yields
    ------
    list of AuditCall
        Filled when the block ends.
    """
    calls: list[AuditCall] = []
    with collecting(session) as written:
        yield calls
    calls.extend(
        AuditCall(e["action"], e["object_type"], e["object_id"], e["decision"], json.loads(e["details"] or "{}"))
        for e in written
    )


def replay(session: Session, principal: Principal, calls: tuple[AuditCall, ...]) -> None:
    """Write ``calls`` again, in ``session``, as ``principal``: a cached answer is audited as a computed one is.

    Parameters
    ----------
    session
        The request's session.
    principal
        The reader served.
    calls
        What the computation audited.
    """
    for call in calls:
        record(
            session,
            principal,
            call.action,
            call.object_type,
            call.object_id,
            decision=call.decision,
            details=dict(call.details),
        )


def snapshot(row: Any) -> SimpleNamespace:
    """A database row's column values as a plain object (``row.name`` reads as before), free of any session.

    Parameters
    ----------
    row
        A mapped object whose columns are loaded.

    Returns
    -------
    SimpleNamespace
        Every column attribute, by name.
    """
    values = {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}
    return SimpleNamespace(**values)


def cached(
    cache: ViewCache,
    key: Hashable,
    session: Session,
    principal: Principal,
    compute: Callable[[], tuple[V, frozenset[MarkingSpec]]],
) -> Cached[V]:
    """The answer under ``key``, computed by ``compute`` (its audit entries noted) when the cache lacks it.

    On a hit the stored audit entries are written again as ``principal``; on a miss ``compute`` writes
    its own. Either way the request leaves the same entries in the log.

    Parameters
    ----------
    cache
        The app's cache.
    key
        The figure, :func:`view_key` of the reader and the data's stamp.
    session
        The request's session.
    principal
        The reader.
    compute
        Computes the answer (plain values) and the markings it shows, as ``principal``, in ``session``.

    Returns
    -------
    Cached
        The answer.
    """
    found, leading = cache.begin(key)  # waits for another request computing it, if one is
    if found is not None:
        replay(session, principal, found.audit)
        return found
    try:
        with capture(session) as calls:
            value, specs = compute()
        answer = Cached(value, specs, tuple(calls))
        cache.put(key, answer)
    finally:
        if leading:
            cache.end(key)
    return answer
