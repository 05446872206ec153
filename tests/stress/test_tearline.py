"""The check of a tear line: it compares every scenario it says it did, and stops on its time budget."""

from __future__ import annotations

from setu.network.compile import compile_network
from setu.network.generate import three_tier
from setu.network.tearline import partner_network, tear_line
from setu.stress.tearline import CHUNK, check_views


def test_a_budget_stops_the_check_after_a_chunk_and_says_how_far_it_got() -> None:
    net = three_tier(products=20, suppliers=150, sub_suppliers=150, seed=3)
    hidden = {n.id for n in net.nodes[-40:]}
    tear = tear_line(net, hidden)
    full, partner = compile_network(net), compile_network(partner_network(net, hidden, tear))
    whole = check_views(full, partner, tear.covers())
    assert whole.scenarios == whole.candidates > CHUNK and whole.exact
    cut = check_views(full, partner, tear.covers(), budget_seconds=0.0)
    assert (cut.scenarios, cut.candidates) == (CHUNK, whole.candidates)
    assert not cut.exact and cut.summary()["scenarios"] == CHUNK  # a partial check never claims equality
