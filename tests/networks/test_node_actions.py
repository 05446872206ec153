"""A node page leads from risk to action: its figures from the reader's own reference sweep, the way to a
scenario, a what-if and a priority request, and nothing from a run the reader may not see."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, create_users, csrf_of, make_api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, build_world
from principals import IN_DESK
from setu.network.model import Network
from setu.runs.results import single_node_results

API = "/api/v1"


@pytest.fixture
def site(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    def prepare(session: Session) -> None:
        build_world(session, world)
        create_users(session, {"in-desk": IN_DESK})

    yield from make_api(engine, sessions, TEST_SETTINGS, prepare)


def reference(api: Api, user: str) -> tuple[int, int]:
    network_id: int = api.get(user, f"{API}/networks").json()["items"][0]["id"]
    started = api.post(user, f"{API}/runs", json={"network_id": network_id, "sweep": True, "reference": True})
    run_id: int = api.wait(user, started.json()["id"])["id"]
    return network_id, run_id


def test_a_node_page_shows_its_risk_and_leads_to_a_scenario_a_what_if_and_a_request(site: Api) -> None:
    network_id, run_id = reference(site, "in-analyst")
    client = site.client
    sign_in(client, "in-analyst")
    page = client.get(f"/networks/{network_id}/nodes/T3_8").text
    with site.sessions() as session:
        (row,) = single_node_results(session, site.principals["in-analyst"], run_id, ["T3_8"])
    shown = re.search(r'data-testid="node-loss">([^<]*)<', page)
    assert shown and float(shown.group(1).replace(",", "")) == pytest.approx(row.excess_loss, rel=1e-3)
    assert f'href="/runs/{run_id}/scenarios/T3_8/explain"' in page and "TTS &lt; TTR" in page
    assert 'data-testid="action-disrupt"' in page and 'data-testid="action-request"' not in page  # not a desk officer
    # Disrupt it: the library's form comes filled in; submitting it stores the scenario on the analyst's view.
    library = client.get(f"/runs/scenarios?network={network_id}&disrupt=T3_8").text
    assert re.search(r'name="nodes"[^>]*>T3_8<|name="nodes"[^>]*value="T3_8"', library)
    form = {"network": network_id, "kind": "custom", "nodes": "T3_8", "ttr": "20", "csrf": csrf_of(library)}
    created = client.post("/runs/scenarios", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    # The node page now offers the what-if of that scenario, which the registry page answers.
    page = client.get(f"/networks/{network_id}/nodes/T3_8").text
    what_if = re.search(r'href="(/registry/what-if\?scenario=\d+)" data-testid="action-what-if"', page)
    assert what_if and client.get(what_if.group(1)).status_code == 200
    # A desk officer gets the priority request, its form naming the node.
    sign_in(client, "in-desk")
    page = client.get(f"/networks/{network_id}/nodes/T3_8").text
    request = re.search(r'href="(/sosa/new\?network=\d+&amp;item=T3_8)" data-testid="action-request"', page)
    assert request
    draft = client.get(request.group(1).replace("&amp;", "&")).text
    assert 'name="item_node_id" maxlength="200" list="draft-items" value="T3_8"' in draft


def test_a_node_page_never_shows_risk_from_a_run_the_reader_may_not_see(site: Api) -> None:
    network_id, _run = reference(site, "in-analyst")  # holds India-only records
    sign_in(site.client, "us-analyst")
    page = site.client.get(f"/networks/{network_id}/nodes/T3_8").text
    assert 'data-testid="node-loss"' not in page and "no reference sweep of your view" in page
    for word in SECRET_WORDS:
        assert word not in page
    for hidden in IN_ONLY_NODES:
        assert site.client.get(f"/networks/{network_id}/nodes/{hidden}").status_code == 404
