"""Comparing two runs: the same scenarios side by side, largest change first, on one REI yardstick, never a
run the reader may not see."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api, sign_in
from networks.world import audit_count
from principals import IN_ANALYST, US_ANALYST, US_GE_INDUSTRY, seed
from runs.test_reference import computed, store_network
from setu.errors import InputError, NotFound
from setu.runs.compare import compare_runs
from setu.runs.results import list_results
from setu.runs.service import start_run
from setu.sharing.policy import allows

Factory = sessionmaker[Session]
API = "/api/v1"


@pytest.fixture
def shared(sessions: Factory) -> int:
    with sessions() as session, session.begin():
        seed(session)
        return store_network(session)


def test_a_comparison_lines_scenarios_up_and_ranks_the_largest_change_first(sessions: Factory, shared: int) -> None:
    before = computed(sessions, US_ANALYST, shared)  # the reference sweep: each node's own TTR
    after = computed(sessions, US_ANALYST, shared, reference=False, ttr=12.0)  # a long outage everywhere
    with sessions() as session:
        comparison = compare_runs(session, US_ANALYST, before, after)
        stored_a = {r.scenario_id: r for r in list_results(session, US_ANALYST, before, limit=1000)[0]}
        stored_b = {r.scenario_id: r for r in list_results(session, US_ANALYST, after, limit=1000)[0]}
        session.commit()
        assert audit_count(session, "run.compare") == 1
    assert len(comparison.changes) == len(stored_a) == len(stored_b) and comparison.only_a == comparison.only_b == 0
    sizes = [abs(c.loss_change) for c in comparison.changes]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 0
    # The yardstick is the reference sweep (run ``before``): its REI are the stored ones.
    assert comparison.scale_run is not None and comparison.scale_run.id == before
    for change in comparison.changes:
        a, b = stored_a[change.scenario_id], stored_b[change.scenario_id]
        assert change.a.loss == pytest.approx(a.excess_loss) and change.b.loss == pytest.approx(b.excess_loss)
        assert change.a.rei == pytest.approx(a.rei, abs=1e-12)
        assert change.b.rei == pytest.approx(b.excess_loss / comparison.scale)  # not renormalised within run b
        assert (change.a.at_risk, change.b.at_risk) == (a.at_risk, b.at_risk)
        assert change.b.ttr == 12.0
    assert comparison.newly_at_risk == sum(1 for c in comparison.changes if c.b.at_risk and not c.a.at_risk)
    assert comparison.newly_at_risk > 0 and comparison.changed > 0
    assert max(c.b.rei for c in comparison.changes) > 1  # a longer outage loses more than the reference's worst


def test_a_run_the_reader_may_not_see_is_as_missing_and_the_comparison_is_marked_by_both(
    sessions: Factory, shared: int
) -> None:
    india = computed(sessions, IN_ANALYST, shared)  # holds India-only nodes
    us = computed(sessions, US_ANALYST, shared)
    with sessions() as session:
        for pair in ((us, india), (india, us)):
            with pytest.raises(NotFound) as hidden:
                compare_runs(session, US_ANALYST, *pair)
            with pytest.raises(NotFound) as missing:
                compare_runs(session, US_ANALYST, us, 99999)
            assert str(hidden.value).replace(str(india), "N") == str(missing.value).replace("99999", "N")
        session.commit()
        assert audit_count(session, "run.compare", "deny") == 4
    with sessions() as session:
        comparison = compare_runs(session, IN_ANALYST, us, india)
        # Whoever may not read the India-only run may not read the comparison either.
        assert not allows(US_ANALYST, comparison.spec) and allows(IN_ANALYST, comparison.spec)
        with pytest.raises(NotFound):
            compare_runs(session, US_GE_INDUSTRY, us, india)
        with pytest.raises(InputError, match="two different runs"):
            compare_runs(session, IN_ANALYST, us, us)
    with sessions() as session, session.begin():
        queued = start_run(session, US_ANALYST, shared, "sweep").id
    with sessions() as session, pytest.raises(InputError, match="queued"):
        compare_runs(session, US_ANALYST, us, queued)


@pytest.fixture
def web(engine: Engine, sessions: Factory) -> Iterator[Api]:
    def prepare(session: Session) -> None:
        seed(session)
        store_network(session)

    yield from make_api(engine, sessions, TEST_SETTINGS, prepare)


def test_the_api_and_the_page_compare_two_runs(web: Api) -> None:
    nid = web.get("us-analyst", f"{API}/networks").json()["items"][0]["id"]
    ids = []
    for body in ({"sweep": True, "reference": True}, {"sweep": True, "ttr": 12, "name": "Long outage"}):
        started = web.post("us-analyst", f"{API}/runs", json={"network_id": nid, **body})
        ids.append(web.wait("us-analyst", started.json()["id"])["id"])
    answer = web.get("us-analyst", f"{API}/runs/compare", params={"a": ids[0], "b": ids[1], "limit": 5})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scale_run_id"] == ids[0] and len(body["items"]) == 5 and body["both"] > 5
    assert body["banner"] == body["marking"]["banner"] and body["b"]["name"] == "Long outage"
    changes = [abs(item["loss_change"]) for item in body["items"]]
    assert changes == sorted(changes, reverse=True)
    changed = web.get("us-analyst", f"{API}/runs/compare", params={"a": ids[0], "b": ids[1], "changed_only": True})
    assert changed.json()["both"] == body["both"] and all(item["changed"] for item in changed.json()["items"])
    assert web.get("us-analyst", f"{API}/runs/compare", params={"a": ids[0], "b": 99999}).status_code == 404
    same = web.get("us-analyst", f"{API}/runs/compare", params={"a": ids[0], "b": ids[0]})
    assert same.status_code == 422
    sign_in(web.client, "us-analyst")
    detail = web.client.get(f"/runs/{ids[0]}").text
    assert 'data-testid="compare-with"' in detail and f'<option value="{ids[1]}">Long outage' in detail
    page = web.client.get("/runs/compare", params={"a": ids[0], "b": ids[1]})
    assert page.status_code == 200 and 'data-testid="changes"' in page.text
    assert f"of {body['both']} scenarios both runs hold changed" in page.text
    assert web.client.get("/runs/compare", params={"a": ids[0], "b": 99999}).status_code == 404
    assert web.client.get("/runs/compare", params={"a": ids[0], "b": ids[0]}).status_code == 422
    assert not math.isnan(body["scale"])
