"""Statements built once and reused: a statement built for one reader never answers another, in any order."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from networks.world import IN_ONLY_NODES, small_network
from principals import IN_ANALYST, IN_ONLY, SHARED, US_ANALYST, seed
from setu.errors import NotFound
from setu.models.networks import NodeRecord
from setu.networks import import_network
from setu.sharing.policy import Principal
from setu.sharing.read import built_once, fetch_visible_id, readable

ORGS = ((1, "IN", True), (2, "IN", False), (3, "US", True), (4, "US", False))

principals_st = st.builds(
    lambda user, org, clearance, groups: Principal(
        user_id=user, party=org[1], org_id=org[0], org_is_government=org[2], clearance=clearance, groups=groups
    ),
    st.integers(1, 3),
    st.sampled_from(ORGS),
    st.integers(0, 3),
    st.frozensets(st.sampled_from(("ENGINE", "RADAR"))),
)


@built_once
def _nodes_of(principal: Principal) -> Select[Any]:
    return readable(principal, NodeRecord).where(NodeRecord.network_id == bindparam("network_id"))


def _bound(statement: Select[Any]) -> dict[str, Any]:
    """The statement's own values: the reader's party, clearance, groups and organization in the read filter."""
    params = statement.compile().params
    return {key: sorted(value) if isinstance(value, list) else value for key, value in params.items()}


@given(st.lists(principals_st, min_size=1, max_size=12))
def test_a_reused_statement_holds_the_values_of_the_reader_who_asks(readers: list[Principal]) -> None:
    """Whatever the order readers come in, each gets a statement that filters as one built for them alone would."""
    for reader in readers:
        reused = _nodes_of(reader)
        fresh = readable(reader, NodeRecord).where(NodeRecord.network_id == bindparam("network_id"))
        assert _bound(reused) == _bound(fresh)
        assert str(reused) == str(fresh)


@given(principals_st, principals_st)
def test_two_readers_share_a_statement_only_when_they_are_equal(first: Principal, second: Principal) -> None:
    assert (_nodes_of(first) is _nodes_of(second)) == (first == second)


def test_arguments_are_the_whole_key() -> None:
    """A builder with more arguments than the reader keeps one statement per combination of them."""
    calls: list[tuple[Principal, bool]] = []

    @built_once
    def build(principal: Principal, ordered: bool) -> Select[Any]:
        calls.append((principal, ordered))
        statement = select(NodeRecord.id)
        return statement.order_by(NodeRecord.id) if ordered else statement

    assert build(IN_ANALYST, True) is build(IN_ANALYST, True)
    assert build(IN_ANALYST, True) is not build(IN_ANALYST, False)
    assert build(US_ANALYST, True) is not build(IN_ANALYST, True)
    assert calls == [(IN_ANALYST, True), (IN_ANALYST, False), (US_ANALYST, True)]


@pytest.mark.parametrize("first", ["IN", "US"])
def test_a_hidden_record_stays_hidden_after_a_reader_who_may_see_it_asked(
    sessions: sessionmaker[Session], first: str
) -> None:
    """From the attacker's side: the US analyst asks for an India-only node right after (or before) the Indian
    analyst read it through the same reused statement; the answer is "not found" either way."""
    with sessions() as session, session.begin():
        seed(session)
        node_marks = dict.fromkeys(IN_ONLY_NODES, IN_ONLY)
        network = import_network(
            session,
            IN_ANALYST,
            small_network(),
            name="small",
            format="accelerator",
            source="t",
            marking=SHARED,
            node_markings=node_marks,
        )
        hidden = session.scalars(
            select(NodeRecord.id).where(NodeRecord.network_id == network.id, NodeRecord.node_id == IN_ONLY_NODES[0])
        ).one()
    order = [IN_ANALYST, US_ANALYST] if first == "IN" else [US_ANALYST, IN_ANALYST]
    for _ in range(2):
        for reader in order:
            with sessions() as session:
                if reader is US_ANALYST:
                    with pytest.raises(NotFound):
                        fetch_visible_id(session, reader, NodeRecord, hidden, action="node.read", kind="node")
                else:
                    node = fetch_visible_id(session, reader, NodeRecord, hidden, action="node.read", kind="node")
                    assert node.node_id == IN_ONLY_NODES[0]


def test_no_builder_takes_a_value_that_belongs_in_a_bind_parameter() -> None:
    """An id, a number or a date as a builder's argument would be baked into its statement (and fill the cache):
    such values go in as bind parameters. Every module is imported, so that every builder is registered."""
    import importlib
    import pkgutil

    import setu
    from setu.sharing.read import BUILDERS

    for module in pkgutil.walk_packages(setu.__path__, "setu."):
        if ".migrations." not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    builders = [b for b in BUILDERS if b.__module__.startswith("setu.")]
    assert len(builders) >= 10
    allowed = {"Principal", "str", "bool", "tuple[str, ...]", "Any"}
    for builder in builders:
        hints = {k: v for k, v in builder.__annotations__.items() if k != "return"}
        assert set(hints.values()) <= allowed, f"{builder.__module__}.{builder.__qualname__} takes {hints}"
