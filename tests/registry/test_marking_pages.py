"""Attacks on registry markings through the pages and the API: nothing released by leaving a box or field out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, create_users, csrf_of, make_api, sign_in
from principals import IN_ADMIN, IN_BEL_INDUSTRY
from registry.world import RegistryWorld, build
from setu.models.registry import RegistrySite
from setu.registry.access import marking_of

API = "/api/v1/registry"


@pytest.fixture
def reg(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[tuple[Api, RegistryWorld]]:
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))
        create_users(session, {"in-admin": IN_ADMIN, "bel-industry": IN_BEL_INDUSTRY})

    for api in make_api(engine, sessions, prepare=prepare):
        yield api, built[0]


def test_a_site_added_through_the_form_without_ticking_anything_stays_with_its_firm(
    reg: tuple[Api, RegistryWorld], sessions: sessionmaker[Session]
) -> None:
    api, _world = reg
    sign_in(api.client, "in-industry")
    form = api.client.get("/registry/sites/new").text
    assert 'name="proprietary" value="true" checked' in form and "releasable to every party" not in form
    made = api.client.post(
        "/registry/sites/new",
        data={"csrf": csrf_of(form), "organization_id": "2", "name": "HAL Ozar", "country": "IN"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    site_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    with sessions() as session:
        spec = marking_of(session.get_one(RegistrySite, site_id))
        assert spec.national_only and spec.effective_releases == {"IN"}
    for user in ("us-analyst", "us-industry"):
        assert api.get(user, f"{API}/sites/{site_id}").status_code == 404
        assert "HAL Ozar" not in api.get(user, f"{API}/sites", params={"limit": 1000}).text


def test_an_api_marking_without_releases_is_the_writers_party_only(reg: tuple[Api, RegistryWorld]) -> None:
    api, _world = reg
    marking = {"classification": "RESTRICTED"}
    body = {"organization_id": 2, "name": "HAL Korwa", "country": "IN", "marking": marking, "proprietary": True}
    made = api.post("in-industry", f"{API}/sites", json=body)
    assert made.status_code == 201, made.text
    assert "REL TO IN, US" not in made.json()["marking"]["banner"]
    assert api.get("us-analyst", f"{API}/sites/{made.json()['id']}").status_code == 404
    # A firm's user may not release a new site beyond its own firm either: that is its government's call.
    for wider in ({**marking, "releases": ["IN", "US"]}, marking):
        body = {"organization_id": 2, "name": "HAL Korwa II", "country": "IN", "marking": wider}
        assert api.post("in-industry", f"{API}/sites", json=body).status_code == 403


def test_an_industry_user_cannot_untick_the_proprietary_mark_an_admin_set(
    reg: tuple[Api, RegistryWorld], sessions: sessionmaker[Session]
) -> None:
    api, world = reg
    koraput = world.sites["HAL Koraput"]  # proprietary to HAL
    sign_in(api.client, "in-industry")
    token = csrf_of(api.client.get(f"/registry/sites/{koraput}").text)
    edited = api.client.post(
        f"/registry/sites/{koraput}/edit",
        data={"csrf": token, "name": "HAL Koraput", "country": "IN"},  # the box left unticked
        follow_redirects=False,
    )
    assert edited.status_code == 403
    api.client.cookies.clear()
    patched = api.client.patch(f"{API}/sites/{koraput}", json={"proprietary": False}, headers=api.auth("in-industry"))
    assert patched.status_code == 403, patched.text
    with sessions() as session:
        assert marking_of(session.get_one(RegistrySite, koraput)).owners
    sign_in(api.client, "bel-industry")
    assert "HAL Koraput" not in api.client.get("/registry").text
