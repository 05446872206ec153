"""A burst of requests for one cold cached figure computes it once, and every reader is still audited.

After a restart, a new run or a new network version, the dashboard's and the map's figures are cold for
everyone at once. Each request that missed used to compute them itself, so a burst of twenty requests
did the dearest work of the app twenty times over, on every core, and the requests behind them waited
or were refused. The rule: one computes, the others wait for its answer, and each is audited as the
reader it is.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from principals import IN_ANALYST, US_ANALYST
from setu.audit.log import integrate, record
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.sharing.cache import ViewCache, cached, view_key
from setu.sharing.markings import MarkingSpec
from setu.sharing.policy import Principal

READERS = 8


def burst(
    sessions: sessionmaker[Session],
    cache: ViewCache,
    readers: list[Principal],
    compute_seconds: float,
    fail: bool = False,
) -> tuple[list[str], list[int]]:
    """``readers`` ask for one key at once; the values they got, and each call of the computation (its thread id)."""
    computed: list[int] = []
    start = threading.Barrier(len(readers))

    def ask(reader: Principal) -> str:
        start.wait()
        with transaction(sessions) as session:

            def compute() -> tuple[str, frozenset[MarkingSpec]]:
                computed.append(threading.get_ident())
                record(session, reader, "figure.read", "network", 1)
                time.sleep(compute_seconds)
                if fail and len(computed) == 1:
                    raise RuntimeError("the first computation fails")
                return "figures", frozenset()

            return str(cached(cache, ("figure", view_key(IN_ANALYST)), session, reader, compute).value)

    with ThreadPoolExecutor(len(readers)) as pool:
        values = [f.result() if not fail else _or_error(f) for f in [pool.submit(ask, r) for r in readers]]
    return values, computed


def _or_error(future: object) -> str:
    try:
        return str(future.result())  # type: ignore[attr-defined]
    except RuntimeError as error:
        return f"error: {error}"


def test_a_burst_on_a_cold_key_computes_once_and_audits_every_reader(sessions: sessionmaker[Session]) -> None:
    cache = ViewCache()
    values, computed = burst(sessions, cache, [IN_ANALYST] * READERS, compute_seconds=0.3)
    assert values == ["figures"] * READERS
    assert len(computed) == 1, f"{len(computed)} requests computed the same figures"
    with transaction(sessions) as session:
        integrate(session)
        reads = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "figure.read"))
    assert reads == READERS, "a reader served the figures another computed must be audited as its own read"


def test_a_failed_computation_lets_a_waiting_reader_compute(sessions: sessionmaker[Session]) -> None:
    cache = ViewCache()
    values, computed = burst(sessions, cache, [IN_ANALYST] * 3, compute_seconds=0.2, fail=True)
    assert values.count("error: the first computation fails") == 1
    assert values.count("figures") == 2
    assert 2 <= len(computed) <= 3


def test_a_reader_waiting_past_the_limit_computes_itself(sessions: sessionmaker[Session]) -> None:
    cache = ViewCache(wait_seconds=0.05)
    values, computed = burst(sessions, cache, [IN_ANALYST] * 3, compute_seconds=1.0)
    assert values == ["figures"] * 3
    assert len(computed) == 3


@pytest.mark.parametrize("reader", [US_ANALYST])
def test_waiting_never_crosses_keys(sessions: sessionmaker[Session], reader: Principal) -> None:
    """Readers of different views never wait for each other's computation: their keys differ."""
    cache = ViewCache()
    assert view_key(reader) != view_key(IN_ANALYST)
    key = ("figure", view_key(IN_ANALYST))
    assert cache.begin(key) == (None, True)  # this thread computes IN's figures ...
    started = time.monotonic()
    assert cache.begin(("figure", view_key(reader))) == (None, True)  # ... and a US reader is not held behind it
    assert time.monotonic() - started < 0.05
    cache.end(key)
