"""The strongest form of "no read path leaks": after a sync, the partner's database does not hold what was withheld.

India's instance holds the two-party world network of the authorization matrix (India-only,
US-only, HAL-proprietary, need-to-know and shared nodes). Over a link accredited to SECRET that shares
the need-to-know group, the US instance receives India's shared and need-to-know records (the US-only
record India holds is under the US's marking authority: the US instance's to release, not India's), and
not one byte of an India-only or HAL-proprietary record: every column of every table of the US database
is searched for their words.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, MetaData, select

from clients import Api
from federation.conftest import Side, pin
from networks.world import SECRET_WORDS
from setu.db import session_factory

HAL_WORDS = ("Koraput",)
CROSSING_WORDS = ("T3_11", "Mishra Dhatu")
"""Text of India's need-to-know node and of shared nodes, which cross."""


def _everything(engine: Engine) -> str:
    """Every value of every row of every table, as one text."""
    metadata = MetaData()
    metadata.reflect(engine)
    parts: list[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.append(json.dumps([str(value) for value in row]))
    return "\n".join(parts)


def test_the_us_database_holds_nothing_india_withheld(
    web: Api, us_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    india, us = Side("IN", web.sessions), Side("US", session_factory(us_engine))
    pin(india, us, max_classification=3, groups=["ENGINE"])
    pin(us, india, max_classification=3, groups=["ENGINE"])
    report = us.import_(india.export("US"))
    assert report.created > 50
    held = _everything(us_engine)
    leaked = [word for word in (*SECRET_WORDS, *HAL_WORDS) if word in held]
    assert not leaked, f"withheld words in the US database: {leaked}"
    assert all(word in held for word in CROSSING_WORDS)  # what crossed is found: the search would find a leak
