"""Where a network's sites are on a world map: coordinates or country centres, country outlines, chokepoints.

Country outlines and centres come from the ``countryinfo`` package's data (installed with Setu; nothing is
fetched). A site is placed at the mean of its nodes' coordinates when the network file gives them, else
near its country's centre: the sites of one country without coordinates spread on a small spiral around
it (so they do not hide each other), and the map says they are placed by country.

Examples
--------
>>> spots = place_sites([SiteSpot("Pune", "IN"), SiteSpot("Nagpur", "India"), SiteSpot("Lynn", "US", 42.47, -70.95)])
>>> spots["Lynn"].by_country, round(spots["Lynn"].latitude, 2)
(False, 42.47)
>>> spots["Pune"].by_country and spots["Pune"] != spots["Nagpur"]
True
>>> project(0.0, 0.0)
(500.0, 222.22)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from setu.network.countries import country_code

WIDTH = 1000.0
"""Width of the map in SVG units; the height follows from :data:`NORTH` and :data:`SOUTH`."""
NORTH, SOUTH = 80.0, -60.0
"""Latitudes the map shows (the Antarctic and the high Arctic hold no supplier)."""
HEIGHT = WIDTH * (NORTH - SOUTH) / 360.0
SPIRAL_DEGREES = 1.1
"""Spacing of the sites placed around one country's centre, in degrees."""

CHOKEPOINTS: dict[str, tuple[float, float]] = {
    # Approximate centre of each passage (latitude, longitude), by the names networks use for them.
    "strait of malacca": (2.5, 101.2),
    "strait of hormuz": (26.57, 56.25),
    "bab-el-mandeb": (12.58, 43.33),
    "suez canal": (30.6, 32.33),
    "taiwan strait": (24.2, 119.4),
    "panama canal": (9.08, -79.68),
    "strait of gibraltar": (35.97, -5.5),
    "bosporus": (41.12, 29.07),
    "dover strait": (51.0, 1.45),
    "cape of good hope": (-34.36, 18.47),
    "lombok strait": (-8.47, 115.72),
    "sunda strait": (-5.92, 105.88),
    "luzon strait": (20.6, 121.0),
    "danish straits": (55.6, 12.7),
    "red sea": (20.0, 38.6),
    "south china sea": (12.0, 114.0),
}
"""Known chokepoints; a node's chokepoint not listed here is named on the map's list but not drawn."""


@dataclass(frozen=True, slots=True)
class SiteSpot:
    """A site to place: its key, its country (code or name) and, if known, its coordinates."""

    key: str
    country: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a site is drawn, and whether that is its country's centre (no coordinates given)."""

    latitude: float
    longitude: float
    by_country: bool


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """SVG coordinates of a point (equirectangular, :data:`WIDTH` wide), rounded to 0.01."""
    x = (longitude + 180.0) / 360.0 * WIDTH
    y = (NORTH - latitude) / (NORTH - SOUTH) * HEIGHT
    return round(x, 2), round(y, 2)


@lru_cache(maxsize=1)
def _countries() -> dict[str, dict[str, Any]]:
    """Each country's data by ISO alpha-2 code (read once per process)."""
    from countryinfo import CountryInfo

    out: dict[str, dict[str, Any]] = {}
    for info in CountryInfo.all().values():
        code = (info.get("ISO") or {}).get("alpha2")
        if not code:
            continue
        # A country may come twice (Myanmar and Burma): each field from whichever entry has it.
        merged = out.setdefault(str(code), {})
        for key, value in info.items():
            if value and not merged.get(key):
                merged[key] = value
    return out


def country_centre(country: str) -> tuple[float, float] | None:
    """(latitude, longitude) of the centre of ``country`` (a code or a name), or None if unknown."""
    code = country_code(country) if country else None
    info = _countries().get(code or "")
    latlng = info.get("latlng") if info else None
    if not latlng or len(latlng) != 2:
        return None
    return float(latlng[0]), float(latlng[1])


def country_outlines() -> dict[str, list[list[tuple[float, float]]]]:
    """Every country's outline as rings of (latitude, longitude), by alpha-2 code."""
    return _outlines()


@lru_cache(maxsize=1)
def _outlines() -> dict[str, list[list[tuple[float, float]]]]:
    rings: dict[str, list[list[tuple[float, float]]]] = {}
    for code, info in _countries().items():
        for feature in (info.get("geoJSON") or {}).get("features", []):
            geometry = feature.get("geometry") or {}
            polygons = geometry.get("coordinates", [])
            if geometry.get("type") == "Polygon":
                polygons = [polygons]
            elif geometry.get("type") != "MultiPolygon":
                continue
            for polygon in polygons:
                rings.setdefault(code, []).extend([[(lat, lon) for lon, lat in ring] for ring in polygon])
    return rings


def outline_path(rings: Iterable[Sequence[tuple[float, float]]]) -> str:
    """An SVG path drawing ``rings`` (latitude, longitude), clipped to the map's latitudes."""
    parts = []
    for ring in rings:
        points = [project(max(SOUTH, min(NORTH, lat)), lon) for lat, lon in ring]
        if len(points) >= 3:
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z")
    return "".join(parts)


def chokepoint_at(name: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a known chokepoint named ``name`` (any case), else None."""
    return CHOKEPOINTS.get(name.strip().casefold())


def place_sites(sites: Sequence[SiteSpot]) -> dict[str, Placed]:
    """Where each site is drawn: its coordinates, else a spot on a spiral around its country's centre.

    Sites with neither coordinates nor a known country are left out of the answer (the map lists them).
    The spiral order is by site key, so the same sites always land on the same spots.
    """
    placed: dict[str, Placed] = {}
    around: dict[tuple[float, float], list[str]] = defaultdict(list)
    for site in sorted(sites, key=lambda s: s.key):
        if site.latitude is not None and site.longitude is not None:
            placed[site.key] = Placed(site.latitude, site.longitude, False)
            continue
        centre = country_centre(site.country)
        if centre is not None:
            around[centre].append(site.key)
    golden = math.pi * (3.0 - math.sqrt(5.0))
    for (lat, lon), keys in around.items():
        for i, key in enumerate(keys):
            radius = SPIRAL_DEGREES * math.sqrt(i)
            placed[key] = Placed(
                max(SOUTH, min(NORTH, lat + radius * math.sin(i * golden))), lon + radius * math.cos(i * golden), True
            )
    return placed
