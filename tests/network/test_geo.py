"""Placing sites on the world map: coordinates first, else around the country's centre; outlines and chokepoints."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from setu.network.geo import (
    HEIGHT,
    WIDTH,
    SiteSpot,
    chokepoint_at,
    country_centre,
    country_outlines,
    outline_path,
    place_sites,
    project,
)


def test_coordinates_win_and_sites_without_them_spread_around_their_country() -> None:
    spots = place_sites(
        [SiteSpot("Lynn", "US", 42.47, -70.95), *(SiteSpot(f"IN-{i}", "India") for i in range(12)), SiteSpot("?", "XX")]
    )
    assert (spots["Lynn"].latitude, spots["Lynn"].longitude, spots["Lynn"].by_country) == (42.47, -70.95, False)
    india = [spots[f"IN-{i}"] for i in range(12)]
    centre = country_centre("IN")
    assert centre is not None and all(s.by_country for s in india)
    assert len({(round(s.latitude, 3), round(s.longitude, 3)) for s in india}) == 12  # none hides another
    assert max(math.dist((s.latitude, s.longitude), centre) for s in india) < 5  # and they stay near the centre
    assert "?" not in spots  # no coordinates, no known country: not placed (the page lists it)


def test_country_names_and_codes_find_the_same_centre_and_outline() -> None:
    assert country_centre("India") == country_centre("IN") == country_centre("ind")
    outlines = country_outlines()
    assert len(outlines) > 150 and {"IN", "US", "CN", "RU", "GB"} <= set(outlines)
    # The package lists some countries twice (Wales under GB, Burma beside Myanmar): the fuller entry wins.
    assert country_centre("GB") == (54.0, -2.0) and country_centre("MM") is not None
    path = outline_path(outlines["IN"])
    assert path.startswith("M") and path.endswith("Z")


def test_chokepoints_are_found_whatever_the_case() -> None:
    assert chokepoint_at("Strait of Malacca") == chokepoint_at(" strait of MALACCA ") is not None
    assert chokepoint_at("Strait of Nowhere") is None


@settings(max_examples=100, deadline=None)
@given(st.floats(-60, 80), st.floats(-180, 180))
def test_every_point_of_the_map_lands_inside_it(latitude: float, longitude: float) -> None:
    x, y = project(latitude, longitude)
    assert 0 <= x <= WIDTH and 0 <= y <= HEIGHT + 0.01
