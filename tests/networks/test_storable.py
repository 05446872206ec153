"""Texts the database cannot store are refused as bad input by the import itself, on both databases."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from setu.errors import InputError
from setu.models.networks import NetworkRecord, NodeRecord
from setu.networks.imports import import_network

from .world import IN_ANALYST, SHARED, seed, small_network


def test_overlong_party_is_refused_before_anything_is_written(sessions: sessionmaker[Session]) -> None:
    network = small_network()
    network.nodes[0] = dataclasses.replace(network.nodes[0], party="INDIA-AND-MORE")
    network.nodes[1] = dataclasses.replace(network.nodes[1], name="bad\x00name")
    with sessions() as session, session.begin():
        seed(session)
    with sessions() as session:
        with pytest.raises(InputError) as error:
            import_network(session, IN_ANALYST, network, name="n", format="accelerator", source="x", marking=SHARED)
        shown = str(error.value)
        assert f"nodes[{network.nodes[0].id}].party: longer than 8 characters" in shown
        assert f"nodes[{network.nodes[1].id}].name: contains a NUL character" in shown
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(NetworkRecord)) == 0
        assert session.scalar(select(func.count()).select_from(NodeRecord)) == 0
