"""The dashboard: per program riskiest nodes, products at risk and exposure; nothing hidden on it, counts included."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, make_api, sign_in
from networks.world import IN_ONLY_NODES, SECRET_WORDS, build_world, visible_ids
from setu.network.model import Network

# India as the "country of concern": the world has nodes in India and the US only, and India-only
# nodes are Indian, so the counts differ exactly by the hidden nodes.
CONCERN = frozenset({"IN"})


@pytest.fixture
def dash(engine: Engine, sessions: sessionmaker[Session], world: Network) -> Iterator[Api]:
    settings = dataclasses.replace(TEST_SETTINGS, concern_countries=CONCERN)
    yield from make_api(engine, sessions, settings, lambda session: build_world(session, world))


def sweep(api: Api, user: str, *, reference: bool = True) -> int:
    """Run the node sweep on the world network as ``user`` (their reference sweep); the run id once it completed."""
    network = api.get(user, "/api/v1/networks").json()["items"][0]["id"]
    body = {"network_id": network, "sweep": True, "reference": reference}
    queued = api.post(user, "/api/v1/runs", json=body)
    assert queued.status_code == 202, queued.text
    assert api.wait(user, queued.json()["id"])["status"] == "completed"
    run_id: int = queued.json()["id"]
    return run_id


def sections(page: str) -> dict[str, str]:
    """Each program section of the page by its name."""
    found = re.findall(r'<details class="program".*?</details>', page, re.S)
    named = {}
    for section in found:
        name = re.search(r'data-testid="program-name">([^<]*)<', section)
        assert name, "a program section without its name"
        named[html.unescape(name.group(1))] = section
    return named


def figure(section: str, testid: str) -> tuple[int, int]:
    found = re.search(rf'data-testid="{testid}"><strong>(\d+)</strong> of (\d+)', section)
    assert found, f"no {testid} figure"
    return int(found.group(1)), int(found.group(2))


def test_dashboard_shows_each_program_with_risks_and_exposure(dash: Api, world: Network) -> None:
    run_id = sweep(dash, "in-analyst")
    client = dash.client
    sign_in(client, "in-analyst")
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert f'href="/runs/{run_id}"' in text and "Risk figures from your reference sweep" in text
    programs = sections(text)
    assert list(programs) == ["F414", "Project Agni", "Tejas", "Nodes in no program"]
    tejas = programs["Tejas"]
    # The sweep's worst node for the Tejas products, with its TTS shorter than its TTR.
    assert re.search(r'nodes/T3_8">T3_8</a>', tejas) and 'class="num short"' in tejas
    assert figure(tejas, "at-risk-count") == (5, 5)
    assert figure(tejas, "exposure") == (20, 34)
    assert figure(programs["F414"], "exposure") == (4, 12)
    assert figure(programs["F414"], "at-risk-count") == (0, 0)
    seen = visible_ids(world, dash.principals["in-analyst"])
    indian = sum(1 for node in world.nodes if node.id in seen and node.country == "IN")
    exposure = re.search(r'data-testid="network-exposure">.*?<strong>(\d+)</strong> of (\d+)', text, re.S)
    assert exposure and (int(exposure.group(1)), int(exposure.group(2))) == (indian, len(seen)) == (20, 34)
    # Every figure and record is labelled; India-only records make the page India-only.
    assert tejas.count('class="mark mark-') >= 5 * 4 + 3
    assert "RESTRICTED // IN ONLY" in programs["Project Agni"]
    assert "IN ONLY" in re.search(r'data-testid="banner">([^<]*)<', text).group(1)  # type: ignore[union-attr]


def test_nothing_india_only_on_the_us_analysts_dashboard(dash: Api, world: Network) -> None:
    in_run = sweep(dash, "in-analyst")
    us_run = sweep(dash, "us-analyst")
    client = dash.client
    sign_in(client, "us-analyst")
    text = client.get("/").text
    for word in (*SECRET_WORDS, *IN_ONLY_NODES, "IN ONLY"):
        assert word not in text, word
    assert f'href="/runs/{us_run}"' in text and f'href="/runs/{in_run}"' not in text
    programs = sections(text)
    assert list(programs) == ["F414", "Tejas", "Nodes in no program"]
    # Counts leave out the hidden Indian nodes: the US analyst sees 16 Indian nodes, not 20.
    seen = visible_ids(world, dash.principals["us-analyst"])
    indian = sum(1 for node in world.nodes if node.id in seen and node.country == "IN")
    exposure = re.search(r'data-testid="network-exposure">.*?<strong>(\d+)</strong> of (\d+)', text, re.S)
    assert exposure and (int(exposure.group(1)), int(exposure.group(2))) == (indian, len(seen)) == (16, 31)
    assert figure(programs["Tejas"], "exposure") == (15, 28)
    # Without the India-only suppliers the US view cannot make four Tejas products at all: the page says so
    # once, plainly, and ranks nothing a disruption does not cause (the plain figures put all five at risk).
    assert figure(programs["Tejas"], "at-risk-count") == (0, 5)
    shortfall = re.search(r'data-testid="short-products">([^<]*)<', text)
    assert shortfall and shortfall.group(1) == "T1_1, T1_2, T1_3, T1_4" and text.count('data-testid="baseline"') == 1
    for section in programs.values():
        for node in re.findall(r'/nodes/([^"]+)"', section):
            assert node in seen


def test_a_user_without_a_completed_run_is_told_where_to_start_one(dash: Api) -> None:
    sweep(dash, "in-analyst")
    client = dash.client
    sign_in(client, "in-industry")  # the analyst's run holds need-to-know records this user may not see
    text = client.get("/").text
    assert 'data-testid="no-run"' in text and 'data-testid="reference-form"' not in text  # not an analyst
    assert "Riskiest nodes" in text and "No reference sweep of your view yet." in text
    assert 'data-testid="at-risk-count"' not in text
    assert len(sections(text)) == 4  # programs and exposure still show, over what they may see


def test_dashboard_summary_has_one_row_per_program_linking_to_its_details(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    page = client.get("/").text
    summary = re.search(r'data-testid="program-summary">.*?</table>', page, re.S)
    assert summary, "no program summary"
    rows = re.findall(r'<th scope="row"><a href="#(program-\d+-\d+)">([^<]*)</a>', summary.group(0))
    assert [html.unescape(name) for _, name in rows] == list(sections(page))
    assert all(f'id="{anchor}"' in page for anchor, _ in rows)
    sign_in(client, "us-analyst")
    assert all(word not in client.get("/").text for word in SECRET_WORDS)


def test_dashboard_lists_networks_with_markings_and_visible_counts(web: Api) -> None:
    client = web.client
    sign_in(client, "in-analyst")
    home = client.get("/").text
    assert "small" in home and 'class="mark mark-' in home
    assert "RESTRICTED // REL TO IN, US" in home
    sign_in(client, "us-analyst")
    us_home = client.get("/").text
    in_counts = re.findall(r"<td>(\d+)</td>\s*<td><span class=\"mark", home)
    us_counts = re.findall(r"<td>(\d+)</td>\s*<td><span class=\"mark", us_home)
    assert in_counts and us_counts and in_counts != us_counts


def test_over_the_node_limit_the_dashboard_shows_counts_and_says_so(
    engine: Engine, sessions: sessionmaker[Session], world: Network
) -> None:
    settings = dataclasses.replace(TEST_SETTINGS, concern_countries=CONCERN, dashboard_nodes=5)
    for api in make_api(engine, sessions, settings, lambda session: build_world(session, world)):
        for user in ("in-analyst", "us-analyst"):
            sign_in(api.client, user)
            page = api.client.get("/")
            assert page.status_code == 200
            seen = len(visible_ids(world, api.principals[user]))
            note = re.search(r'data-testid="large-network">([^<]*)<', page.text)
            assert note and html.unescape(note.group(1)).startswith(f"You may see {seen} nodes of this network")
            assert sections(page.text) == {}
