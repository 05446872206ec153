"""The world map of a network: every visible site placed, nothing hidden drawn or named, nothing fetched elsewhere."""

from __future__ import annotations

import re

from sqlalchemy import update

from clients import Api, sign_in
from networks.world import SECRET_WORDS
from setu.models.networks import NodeRecord


def _network(web: Api) -> int:
    return int(web.get("in-analyst", "/api/v1/networks").json()["items"][0]["id"])


def test_the_map_places_every_visible_site_and_names_nothing_hidden(web: Api) -> None:
    nid = _network(web)
    sign_in(web.client, "in-analyst")
    page = web.client.get(f"/networks/{nid}/geo")
    assert page.status_code == 200
    html = page.text
    assert '<svg class="geo"' in html and "no reference sweep of your view yet" in html
    assert "Nashik Secret Forge" in html  # India sees its own India-only site
    # Nothing on the page is loaded from anywhere but this server (the SVG namespace is a name, not a fetch).
    assert set(re.findall(r"(?:src|href)=\"(https?:[^\"]+)\"", html)) == set()
    assert len(re.findall(r'<circle class="site"', html)) == len(re.findall(r"<tr>\s*<td><a href", html))

    sign_in(web.client, "us-analyst")
    theirs = web.client.get(f"/networks/{nid}/geo").text
    assert '<svg class="geo"' in theirs and not [w for w in SECRET_WORDS if w in theirs]
    assert web.client.get(f"/networks/{nid + 50}/geo").status_code == 404


def test_a_site_with_coordinates_is_drawn_there_and_the_rest_by_country(web: Api) -> None:
    nid = _network(web)
    sign_in(web.client, "in-analyst")
    before = web.client.get(f"/networks/{nid}/geo").text
    placed = int(re.search(r"(\d+) of (\d+) sites have no coordinates", before).group(1))  # type: ignore[union-attr]
    with web.sessions() as session, session.begin():
        session.execute(update(NodeRecord).where(NodeRecord.node_id == "T1_1").values(latitude=12.97, longitude=77.59))
    after = web.client.get(f"/networks/{nid}/geo").text
    # T1_1 shares its site (Bengaluru) with other nodes: the site is drawn at the mean of its nodes' coordinates.
    assert f"{placed - 1} of " in after and "Bengaluru, IN (India)" in after and "at its coordinates" in after


def test_names_from_a_file_are_text_on_the_map_never_markup(web: Api) -> None:
    nid = _network(web)
    evil = '<script>alert(1)</script>" onmouseover="x'
    with web.sessions() as session, session.begin():
        session.execute(update(NodeRecord).where(NodeRecord.node_id == "T2_7").values(site=evil, node_id=evil))
    sign_in(web.client, "in-analyst")
    html = web.client.get(f"/networks/{nid}/geo").text
    assert "<script>alert(1)" not in html and '" onmouseover="x' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
