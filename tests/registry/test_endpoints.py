"""Registry over HTTP: markings on every item, hidden == missing, roles, bad input, sources, alternates, what-if."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, make_api
from principals import IN_HAL, US_GE
from registry.world import RegistryWorld, build
from setu.registry.codes import CODES

Factory = sessionmaker[Session]


@pytest.fixture
def reg(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, RegistryWorld]]:
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))

    for api in make_api(engine, sessions, prepare=prepare):
        yield api, built[0]


def test_codes_and_site_lists_carry_markings_and_hide_what_the_reader_may_not_see(
    reg: tuple[Api, RegistryWorld],
) -> None:
    api, world = reg
    codes = api.get("us-analyst", "/api/v1/registry/codes")
    assert codes.status_code == 200 and len(codes.json()) == len(CODES)
    page = api.get("us-analyst", "/api/v1/registry/sites").json()
    assert {s["name"] for s in page["items"]} == set(world.sites) - {"HAL Koraput", "BEL Pune"}
    assert page["total"] == 4 and all(s["marking"]["banner"] for s in page["items"])
    hal = api.get("in-analyst", "/api/v1/registry/sites", params={"q": "koraput"}).json()
    assert [s["name"] for s in hal["items"]] == ["HAL Koraput"] and "PROPRIETARY HAL" in hal["banner"]
    assert hal["items"][0]["code_of_conduct"] is True
    hidden, missing = world.sites["HAL Koraput"], 999999
    answers = [api.get("us-analyst", f"/api/v1/registry/sites/{key}") for key in (hidden, missing)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json()["detail"] == f"no such site: {hidden}"
    cap = api.get("us-industry", f"/api/v1/registry/capabilities/{world.capabilities['BEL Pune']}")
    assert cap.status_code == 404
    caps = api.get("us-analyst", "/api/v1/registry/capabilities", params={"material": "M"}).json()
    assert caps["total"] == 3 and {c["headroom"] for c in caps["items"]} == {4.0, 10.0, 100.0}


def test_industry_users_keep_their_own_sites(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    created = api.post(
        "in-industry",
        "/api/v1/registry/sites",
        json={"organization_id": IN_HAL, "name": "HAL Lucknow", "country": "in", "proprietary": True},
    )
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["country"] == "IN" and "PROPRIETARY HAL" in site["marking"]["banner"]
    assert api.get("us-analyst", f"/api/v1/registry/sites/{site['id']}").status_code == 404
    other = api.post("in-industry", "/api/v1/registry/sites", json={"organization_id": US_GE, "name": "X"})
    assert other.status_code == 403
    analyst = api.post("in-analyst", "/api/v1/registry/sites", json={"organization_id": IN_HAL, "name": "Y"})
    assert analyst.status_code == 403
    bad = api.post(
        "in-industry", "/api/v1/registry/sites", json={"organization_id": IN_HAL, "name": "Z", "country": "India"}
    )
    assert bad.status_code == 422 and bad.json()["problems"][0]["where"] == "country"
    cap = api.post(
        "in-industry",
        f"/api/v1/registry/sites/{site['id']}/capabilities",
        json={"code": "met-cast", "material": "turbine_blade", "capacity": 100, "committed": 20, "unit": "ea"},
    )
    assert cap.status_code == 201, cap.text
    assert cap.json()["code"] == "MET-CAST" and cap.json()["headroom"] == 80.0
    bad_code = api.post(
        "in-industry",
        f"/api/v1/registry/sites/{site['id']}/capabilities",
        json={"code": "NOPE", "material": "x", "capacity": 1},
    )
    assert bad_code.status_code == 422 and bad_code.json()["problems"][0]["where"] == "code"
    patched = api.client.patch(
        f"/api/v1/registry/capabilities/{cap.json()['id']}", headers=api.auth("in-industry"), json={"committed": 90}
    )
    assert patched.status_code == 200 and patched.json()["headroom"] == 10.0
    denied = api.client.patch(
        f"/api/v1/registry/sites/{world.sites['GE Lynn']}", headers=api.auth("in-industry"), json={"region": "x"}
    )
    assert denied.status_code == 403
    gone = api.client.delete(f"/api/v1/registry/sites/{site['id']}", headers=api.auth("in-industry"))
    assert gone.status_code == 204
    assert api.get("in-industry", f"/api/v1/registry/capabilities/{cap.json()['id']}").status_code == 404


def test_sources_alternates_and_what_if(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    sources = api.get("in-analyst", "/api/v1/registry/sources", params={"material": "m"}).json()
    assert [s["site"]["name"] for s in sources["items"]] == [
        "HAL Koraput",
        "HAL Nashik",
        "BEL Pune",
        "GE Lynn",
        "GE Baotou",
    ]
    assert sources["items"][-1]["concern"] is True and "IN ONLY" in sources["banner"]
    alternates = api.get("us-analyst", "/api/v1/registry/alternates", params={"scenario": world.scenario}).json()
    assert [m["material"] for m in alternates["lost"]] == ["m"]
    assert {a["source"]["site"]["name"] for a in alternates["items"]} == {"HAL Nashik", "GE Lynn"}
    answer = api.post(
        "in-analyst",
        "/api/v1/registry/what-if",
        json={"scenario": world.scenario, "capability_id": world.capabilities["HAL Nashik"]},
    )
    job = api.finished("in-analyst", answer)
    assert job["status"] == "succeeded", job
    body = job["result"]
    # The hand case c = 4 (6 - 2 committed), q = 3: PI 50 -> 22, TTS 5 -> 38 / 6.
    assert body["pi_without"] == pytest.approx(50.0) and body["pi_with"] == pytest.approx(22.0)
    assert body["tts_without"] == pytest.approx(5.0) and body["tts_with"] == pytest.approx(38.0 / 6.0)
    assert body["capacity"] == 4.0 and body["qualification_weeks"] == 3.0 and not body["closes_gap"]
    lynn = api.finished(
        "us-analyst",
        api.post(
            "us-analyst",
            "/api/v1/registry/what-if",
            json={"scenario": world.scenario, "capability_id": world.capabilities["GE Lynn"]},
        ),
    )["result"]
    assert lynn["tts_with"] is None and lynn["tts_with_infinite"] and lynn["tts_gained"] is None
    assert lynn["closes_gap"]
    hidden = api.post(
        "us-analyst",
        "/api/v1/registry/what-if",
        json={"scenario": world.scenario, "capability_id": world.capabilities["BEL Pune"]},
    )
    assert hidden.status_code == 404
    assert api.get("us-analyst", "/api/v1/registry/alternates", params={"scenario": 99999}).status_code == 404
