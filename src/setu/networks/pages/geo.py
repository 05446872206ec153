"""The geographic map of a network: its sites where they are, coloured by risk, with supply links and chokepoints.

Drawn on the server as one SVG from :func:`setu.networks.graph.network_graph` (the visible nodes and
edges, stand-ins only for readers who compute with them) and the reader's reference sweep; country
outlines and centres come from an installed package (:mod:`setu.network.geo`), so the page loads nothing
from anywhere else. A table below the map lists the same sites for readers who cannot see it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from setu.deps import StateDep
from setu.errors import NotFound
from setu.models.networks import NodeRecord
from setu.network.countries import country_code, country_label
from setu.network.geo import (
    HEIGHT,
    WIDTH,
    SiteSpot,
    chokepoint_at,
    country_outlines,
    outline_path,
    place_sites,
    project,
)
from setu.networks.graph import network_graph
from setu.networks.pages.map import node_risk
from setu.networks.reads import get_network
from setu.report.charts import fmt
from setu.web.shell import PageDep

router = APIRouter(include_in_schema=False)

MAX_LINKS = 3_000
"""Supply links drawn between sites (the heaviest first); the rest are counted in the note."""
RISK_COLOURS = ("#2e7d4f", "#f2c14e", "#e8833a", "#c8412b", "#7f1d1d")
"""No loss beyond the baseline, then four steps of the worst loss at a site over the worst on the map."""
UNKNOWN_COLOUR = "#7b8794"
TABLE_SITES = 300
"""Sites the table under the map lists (the riskiest first); the node table has every node."""


@dataclass
class Site:
    """The visible nodes at one site (a node with no site is its own), with where the map draws them."""

    key: str
    name: str
    country: str
    nodes: list[NodeRecord] = field(default_factory=list)
    loss: float | None = None
    at_risk: bool = False
    x: float = 0.0
    y: float = 0.0
    by_country: bool = True
    colour: str = UNKNOWN_COLOUR


def _site_key(node: NodeRecord) -> str:
    return f"site:{node.site}|{node.country}" if node.site else f"node:{node.node_id}"


def _colour(loss: float | None, worst: float) -> str:
    if loss is None:
        return UNKNOWN_COLOUR
    if loss <= 0 or worst <= 0:
        return RISK_COLOURS[0]
    return RISK_COLOURS[min(4, 1 + int(3.999 * loss / worst))]


def build_sites(nodes: list[NodeRecord], risk: dict[str, tuple[float, float]]) -> tuple[list[Site], list[Site]]:
    """The sites of ``nodes`` placed on the map, and those that could not be (no coordinates, no known country)."""
    sites: dict[str, Site] = {}
    for node in nodes:
        key = _site_key(node)
        site = sites.setdefault(key, Site(key, node.site or node.name or node.node_id, node.country))
        site.nodes.append(node)
        found = risk.get(node.node_id)
        if found is not None:
            site.loss = max(site.loss or 0.0, found[0])
    spots = []
    for site in sites.values():
        located = [n for n in site.nodes if n.latitude is not None and n.longitude is not None]
        lat = sum(n.latitude or 0.0 for n in located) / len(located) if located else None
        lon = sum(n.longitude or 0.0 for n in located) / len(located) if located else None
        spots.append(SiteSpot(site.key, site.country, lat, lon))
    placed = place_sites(spots)
    worst = max((s.loss or 0.0 for s in sites.values()), default=0.0)
    drawn, unplaced = [], []
    for site in sorted(sites.values(), key=lambda s: s.key):
        spot = placed.get(site.key)
        if spot is None:
            unplaced.append(site)
            continue
        site.x, site.y = project(spot.latitude, spot.longitude)
        site.by_country = spot.by_country
        site.colour = _colour(site.loss, worst)
        drawn.append(site)
    return drawn, unplaced


@lru_cache(maxsize=8)
def _land(concern: frozenset[str]) -> str:
    """Every country's outline (those of ``concern`` shaded), drawn once per process and set of countries."""
    parts = []
    for code, rings in sorted(country_outlines().items()):
        css = "land concern" if code in concern else "land"
        label = escape(country_label(code)) + (": a country of concern" if code in concern else "")
        parts.append(f'<path class="{css}" d="{outline_path(rings)}"><title>{label}</title></path>')
    return "".join(parts)


def _svg(
    sites: list[Site],
    links: list[tuple[Site, Site, int]],
    chokepoints: dict[str, int],
    concern: frozenset[str],
    network_id: int,
) -> str:
    """The map: countries (those of concern shaded), links, chokepoints, then sites on top."""
    parts = [
        f'<svg class="geo" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" role="group" aria-labelledby="geo-title geo-desc" '
        'xmlns="http://www.w3.org/2000/svg"><title id="geo-title">Sites on the world map</title>'
        f'<desc id="geo-desc">{len(sites)} sites, {len(links)} supply links, {len(chokepoints)} chokepoints; '
        "the table below lists the same sites.</desc>"
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" class="sea"/>'
    ]
    parts.append(_land(concern))
    for a, b, count in links:
        parts.append(
            f'<line class="link" x1="{a.x:g}" y1="{a.y:g}" x2="{b.x:g}" y2="{b.y:g}" '
            f'stroke-width="{min(3.0, 0.4 + 0.3 * count):.1f}"/>'
        )
    for name, count in sorted(chokepoints.items()):
        where = chokepoint_at(name)
        if where is None:
            continue
        x, y = project(*where)
        parts.append(
            f'<g class="chokepoint"><path d="M{x:g},{y - 6:g}L{x + 6:g},{y:g}L{x:g},{y + 6:g}L{x - 6:g},{y:g}Z"/>'
            f"<title>{escape(name)}: on the outbound route of {count} node{'s' if count != 1 else ''}</title></g>"
        )
    for site in sorted(sites, key=lambda s: s.loss or 0.0):
        radius = min(9.0, 2.5 + 1.2 * len(site.nodes) ** 0.5)
        loss = "no risk figure" if site.loss is None else f"worst loss beyond the baseline {fmt(site.loss)}"
        placed = "placed at its country's centre" if site.by_country else "at its coordinates"
        title = f"{site.name}, {country_label(site.country)}: {len(site.nodes)} node(s), {loss}; {placed}"
        href = escape(f"/networks/{network_id}/nodes/{quote(site.nodes[0].node_id, safe='')}", quote=True)
        parts.append(
            f'<a href="{href}"><circle class="site" cx="{site.x:g}" cy="{site.y:g}" r="{radius:.1f}" '
            f'fill="{site.colour}"><title>{escape(title)}</title></circle></a>'
        )
    parts.append("</svg>")
    return "".join(parts)


@router.get("/networks/{network_id}/geo", response_class=HTMLResponse)
def geo_page(request: Request, page: PageDep, state: StateDep, network_id: int) -> Response:
    """The visible sites of a network on the world map, coloured by the reader's reference sweep."""
    try:
        network = get_network(page.session, page.principal, network_id)
        graph = network_graph(page.session, page.principal, network_id, limit=state.settings.map_nodes)
    except NotFound:
        return page.not_found(request)
    for node in graph.nodes:
        page.label(node)
    for spec in graph.markings:
        page.label_spec(spec)
    risk = node_risk(page, network_id, {n.node_id for n in graph.nodes})
    sites, unplaced = build_sites(graph.nodes, risk.by_node)
    site_of = {n.id: s for s in sites for n in s.nodes}
    counted: dict[tuple[str, str], int] = defaultdict(int)
    for s, c in zip(graph.suppliers, graph.customers, strict=True):
        a, b = site_of.get(graph.nodes[s].id), site_of.get(graph.nodes[c].id)
        if a is not None and b is not None and a is not b:
            counted[a.key, b.key] += 1
    by_key = {s.key: s for s in sites}
    heaviest = sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    links = [(by_key[a], by_key[b], n) for (a, b), n in heaviest[:MAX_LINKS]]
    chokepoints: dict[str, int] = defaultdict(int)
    for node in graph.nodes:
        for name in filter(None, node.chokepoints.split(";")):
            chokepoints[name] += 1
    concern = frozenset(c for c in (country_code(x) or x for x in state.settings.concern_countries) if c)
    ranked = sorted(sites, key=lambda s: (-(s.loss or 0.0), s.key))
    table: list[dict[str, Any]] = [
        {
            "site": s,
            "country": country_label(s.country),
            "loss": "" if s.loss is None else fmt(s.loss),
            "concern": (country_code(s.country) or s.country) in concern,
        }
        for s in ranked[:TABLE_SITES]
    ]
    return page.render(
        request,
        "networks/geo.html",
        network=network,
        network_marking=page.label(network),
        svg=Markup(_svg(sites, links, dict(chokepoints), concern, network_id)),
        sites=table,
        sites_total=len(sites),
        unplaced=unplaced,
        links_drawn=len(links),
        links_total=len(counted),
        chokepoints=sorted(chokepoints.items(), key=lambda item: (-item[1], item[0])),
        unknown_chokepoints=sorted(name for name in chokepoints if chokepoint_at(name) is None),
        by_country=sum(s.by_country for s in sites),
        run=risk.run,
        colours=list(
            zip(RISK_COLOURS, ("none", "up to a quarter", "up to half", "up to three quarters", "most"), strict=True)
        ),
        unknown_colour=UNKNOWN_COLOUR,
        partial=graph.partial,
        shown=len(graph.nodes),
        total=graph.total,
        concern=sorted(concern),
    )
