"""Registry pages: site list and filters, site details and edit forms, codes, sources and the mitigation what-if.

Every page runs on the registry test world (tests/registry/world.py): HAL Koraput is proprietary to HAL,
BEL Pune is India-only, GE Baotou is in a country of concern; the hand network's S-out scenario loses ``m``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, create_users, csrf_of, make_api, sign_in, wait_job_page
from principals import IN_ADMIN, IN_BEL_INDUSTRY
from registry.world import RegistryWorld, build
from setu.deps import Marker
from setu.models.registry import Capability, RegistrySite
from setu.registry.codes import CODES
from setu.registry.mitigation import what_if
from setu.report.charts import fmt
from setu.sharing.markings import LEVELS

Factory = sessionmaker[Session]
SITE_ROW = re.compile(r'<tr data-site="(\d+)">\s*<td><a href="/registry/sites/\d+">([^<]+)</a>')
SOURCE_ROW = re.compile(r'<tr data-capability="(\d+)">.*?<a href="/registry/sites/\d+">([^<]+)</a>', re.S)
HIDDEN = ("HAL Koraput", "BEL Pune")


@pytest.fixture
def reg(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, RegistryWorld]]:
    """The app on the registry world, with the API test users plus an Indian admin and a BEL industry user.

    The two extra users are tests/principals.py's ``IN_ADMIN`` and ``IN_BEL_INDUSTRY``.
    """
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))
        create_users(session, {"in-admin": IN_ADMIN, "bel-industry": IN_BEL_INDUSTRY})

    for api in make_api(engine, sessions, prepare=prepare):
        yield api, built[0]


def as_user(api: Api, username: str) -> TestClient:
    answer = sign_in(api.client, username)
    assert answer.status_code == 303, answer.text
    return api.client


def site_names(page: str) -> list[str]:
    return [html.unescape(name) for _id, name in SITE_ROW.findall(page)]


def registry_rows(sessions: Factory) -> tuple[int, int]:
    with sessions() as session:
        sites = session.scalar(select(func.count()).select_from(RegistrySite)) or 0
        caps = session.scalar(select(func.count()).select_from(Capability)) or 0
    return sites, caps


def test_site_list_filters_and_hides_what_the_reader_may_not_see(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    client = as_user(api, "in-analyst")
    page = client.get("/registry")
    assert page.status_code == 200, page.text
    assert sorted(site_names(page.text)) == sorted(world.sites)
    assert "of 6 you may see" in page.text and "PROPRIETARY HAL" in page.text
    # HAL joined the code of conduct (a text badge); GE did not.
    hal = page.text[page.text.index(">HAL <small>") : page.text.index("Sites of HAL")]
    ge = page.text[page.text.index(">GE Aerospace <small>") : page.text.index("Sites of GE Aerospace")]
    assert "SoSA code of conduct" in hal and "SoSA code of conduct" not in ge
    assert sorted(site_names(client.get("/registry", params={"coc": "true"}).text)) == ["HAL Koraput", "HAL Nashik"]
    assert site_names(client.get("/registry", params={"country": "cn"}).text) == ["GE Baotou"]
    assert site_names(client.get("/registry", params={"code": "MAT-REMAG"}).text) == ["GE Evendale"]
    assert len(site_names(client.get("/registry", params={"code": "MET"}).text)) == 5
    assert site_names(client.get("/registry", params={"q": "maharash"}).text) == ["HAL Nashik"]
    party = client.get("/registry", params={"party": "US", "code": "MET-FORGE"}).text
    assert sorted(site_names(party)) == ["GE Baotou", "GE Lynn"]
    # The capability count of a row counts the site's visible capabilities.
    evendale = re.search(
        rf'<tr data-site="{world.sites["GE Evendale"]}">.*?<td class="num">(\d+)</td>', page.text, re.S
    )
    assert evendale and evendale.group(1) == "1"

    client = as_user(api, "us-analyst")
    page = client.get("/registry")
    assert sorted(site_names(page.text)) == sorted(set(world.sites) - set(HIDDEN))
    assert "of 4 you may see" in page.text
    for text in (page.text, client.get("/registry", params={"q": "koraput"}).text):
        assert not any(word in text for word in (*HIDDEN, "Koraput", "PROPRIETARY", "IN ONLY"))
    assert "No site you may see matches" in client.get("/registry", params={"q": "pune"}).text
    # Only the visible HAL site counts for the code-of-conduct filter and the party filter.
    assert site_names(client.get("/registry", params={"coc": "true"}).text) == ["HAL Nashik"]
    assert "of 1 you may see" in client.get("/registry", params={"party": "IN"}).text

    # A proprietary site is hidden from another firm of the same party too.
    client = as_user(api, "bel-industry")
    names = site_names(client.get("/registry").text)
    assert "HAL Koraput" not in names and "BEL Pune" in names


def test_hidden_sites_answer_exactly_like_missing_ones(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    client = as_user(api, "us-analyst")
    answers = [
        client.get(f"/registry/sites/{key}")
        for key in (world.sites["HAL Koraput"], world.sites["BEL Pune"], 999_999, 0)
    ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert len({a.text for a in answers}) == 1
    assert not any(word in answers[0].text for word in (*HIDDEN, "PROPRIETARY"))
    assert client.get("/registry/sites/abc").status_code == 404
    shown = client.get(f"/registry/sites/{world.sites['GE Lynn']}")
    assert shown.status_code == 200 and "MET-FORGE" in shown.text and "Precision" not in shown.text
    assert "Forgings" in shown.text  # the code's name from the code list
    # Another firm of the owner's party may not see the proprietary site either.
    client = as_user(api, "bel-industry")
    assert client.get(f"/registry/sites/{world.sites['HAL Koraput']}").status_code == 404
    client = as_user(api, "in-analyst")
    koraput = client.get(f"/registry/sites/{world.sites['HAL Koraput']}")
    assert koraput.status_code == 200 and "PROPRIETARY HAL" in koraput.text


def test_codes_page_lists_every_code(reg: tuple[Api, RegistryWorld]) -> None:
    api, _world = reg
    page = as_user(api, "us-industry").get("/registry/codes")
    assert page.status_code == 200
    assert len(re.findall(r'<tr id="[A-Z]+-[A-Z]+">', page.text)) == len(CODES)
    assert all(html.escape(c.name) in page.text for c in CODES)


def test_sources_are_ranked_flagged_and_filtered_by_markings(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    client = as_user(api, "in-analyst")
    page = client.get("/registry/sources", params={"material": "m"})
    assert page.status_code == 200, page.text
    rows = SOURCE_ROW.findall(page.text)
    assert [name for _id, name in rows] == ["HAL Koraput", "HAL Nashik", "BEL Pune", "GE Lynn", "GE Baotou"]
    baotou = page.text[page.text.index(f'<tr data-capability="{world.capabilities["GE Baotou"]}">') :]
    assert "Country of concern" in baotou[: baotou.index("</tr>")]
    assert page.text.count('data-testid="concern"') == 1
    assert "IN ONLY" in page.text and "PROPRIETARY HAL" in page.text

    client = as_user(api, "us-analyst")
    page = client.get("/registry/sources", params={"material": "m"})
    assert [name for _id, name in SOURCE_ROW.findall(page.text)] == ["HAL Nashik", "GE Lynn", "GE Baotou"]
    assert not any(word in page.text for word in (*HIDDEN, "PROPRIETARY", "IN ONLY"))
    only_us = client.get("/registry/sources", params={"material": "m", "party": "US", "min_headroom": "50"})
    assert [name for _id, name in SOURCE_ROW.findall(only_us.text)] == ["GE Baotou"]
    bad = client.get("/registry/sources", params={"material": "m", "min_headroom": "lots"})
    assert bad.status_code == 422 and "expected a number" in bad.text
    by_code = client.get("/registry/sources", params={"material": "ndfeb_magnet"})
    assert [name for _id, name in SOURCE_ROW.findall(by_code.text)] == ["GE Evendale"] and "by code" in by_code.text


def test_write_forms_only_for_users_who_may_write(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    forms = ('data-testid="add-capability"', 'data-testid="edit-site"', 'data-testid="edit-capability"')
    cases = [
        ("in-industry", "HAL Nashik", True),
        ("in-industry", "GE Lynn", False),
        ("in-admin", "BEL Pune", True),
        ("in-admin", "GE Lynn", False),
        ("us-industry", "GE Lynn", True),
        ("us-analyst", "GE Lynn", False),
        ("bel-industry", "HAL Nashik", False),
    ]
    for user, site, allowed in cases:
        page = as_user(api, user).get(f"/registry/sites/{world.sites[site]}").text
        assert all((form in page) is allowed for form in forms), (user, site)
    assert 'data-testid="add-site"' in as_user(api, "in-industry").get("/registry").text
    client = as_user(api, "us-analyst")
    assert 'data-testid="add-site"' not in client.get("/registry").text
    assert client.get("/registry/sites/new").status_code == 403
    # An admin may add sites for every firm of their own party, and only those.
    new = as_user(api, "in-admin").get("/registry/sites/new").text
    assert re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', new) == ["BEL (IN)", "HAL (IN)"]


def test_forged_and_forbidden_writes_store_nothing(reg: tuple[Api, RegistryWorld], sessions: Factory) -> None:
    api, world = reg
    before = registry_rows(sessions)
    client = as_user(api, "in-industry")
    own = world.sites["HAL Nashik"]
    token = csrf_of(client.get(f"/registry/sites/{own}").text)
    capability = {"code": "MET-CAST", "material": "turbine_blade", "capacity": "10", "committed": "1"}
    forged = client.post(f"/registry/sites/{own}/capabilities", data={**capability, "csrf": "0" * 64})
    assert forged.status_code == 403
    missing = client.post(f"/registry/sites/{own}/capabilities", data=capability)
    assert missing.status_code == 403
    other_firm = client.post(
        f"/registry/sites/{world.sites['GE Lynn']}/capabilities", data={**capability, "csrf": token}
    )
    assert other_firm.status_code == 403 and "may not change" in other_firm.text
    edit = client.post(f"/registry/sites/{world.sites['GE Lynn']}/edit", data={"name": "Mine", "csrf": token})
    assert edit.status_code == 403
    delete = client.post(f"/registry/capabilities/{world.capabilities['GE Lynn']}/delete", data={"csrf": token})
    assert delete.status_code == 403
    new_site = client.post("/registry/sites/new", data={"organization_id": "5", "name": "X", "csrf": token})
    assert new_site.status_code == 403
    # A hidden site or capability answers 404, as a missing one.
    client = as_user(api, "us-industry")
    token = csrf_of(client.get("/registry").text)
    koraput = client.post(f"/registry/sites/{world.sites['HAL Koraput']}/edit", data={"name": "x", "csrf": token})
    gone = client.post("/registry/sites/999999/edit", data={"name": "x", "csrf": token})
    assert koraput.status_code == gone.status_code == 404 and koraput.text == gone.text
    hidden_cap = client.post(f"/registry/capabilities/{world.capabilities['BEL Pune']}/delete", data={"csrf": token})
    assert hidden_cap.status_code == 404
    client = as_user(api, "in-analyst")
    token = csrf_of(client.get("/registry").text)
    analyst = client.post(f"/registry/sites/{own}/capabilities", data={**capability, "csrf": token})
    assert analyst.status_code == 403
    assert registry_rows(sessions) == before
    with sessions() as session:
        stored = session.get(RegistrySite, world.sites["GE Lynn"])
        assert stored is not None and stored.name == "GE Lynn"


def test_bad_fields_show_the_form_again_and_store_nothing(reg: tuple[Api, RegistryWorld], sessions: Factory) -> None:
    api, world = reg
    before = registry_rows(sessions)
    client = as_user(api, "in-industry")
    own = world.sites["HAL Nashik"]
    token = csrf_of(client.get(f"/registry/sites/{own}").text)
    bad = client.post(
        f"/registry/sites/{own}/capabilities",
        data={"csrf": token, "code": "NOPE-X", "material": "blade", "capacity": "ten", "committed": "0"},
    )
    assert bad.status_code == 422
    assert 'id="new-cap-capacity-error"' in bad.text and "expected a number" in bad.text
    assert 'value="blade"' in bad.text  # what was typed is kept
    service_errors = client.post(
        f"/registry/sites/{own}/capabilities",
        data={"csrf": token, "code": "NOPE-X", "material": "blade", "capacity": "5", "committed": "9"},
    )
    assert service_errors.status_code == 422
    assert 'id="new-cap-code-error"' in service_errors.text and "unknown capability code" in service_errors.text
    over = client.post(
        f"/registry/capabilities/{world.capabilities['HAL Nashik']}/edit",
        data={"csrf": token, "code": "MET-FORGE", "material": "m", "capacity": "6", "committed": "60"},
    )
    assert over.status_code == 422 and f'id="cap-{world.capabilities["HAL Nashik"]}-committed-error"' in over.text
    site = client.post(f"/registry/sites/{own}/edit", data={"csrf": token, "name": "HAL Nashik", "country": "India"})
    assert site.status_code == 422 and 'id="site-country-error"' in site.text
    new = client.post("/registry/sites/new", data={"csrf": token, "organization_id": "2", "name": " ", "latitude": "x"})
    assert new.status_code == 422 and 'id="site-latitude-error"' in new.text
    assert registry_rows(sessions) == before
    with sessions() as session:
        stored = session.get(Capability, world.capabilities["HAL Nashik"])
        assert stored is not None and stored.committed == 2.0


def test_allowed_writes_through_the_forms(reg: tuple[Api, RegistryWorld], sessions: Factory) -> None:
    api, world = reg
    client = as_user(api, "in-industry")
    token = csrf_of(client.get("/registry/sites/new").text)
    made = client.post(
        "/registry/sites/new",
        data={"csrf": token, "organization_id": "2", "name": "HAL Lucknow", "country": "in", "proprietary": "true"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    site_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    added = client.post(
        f"/registry/sites/{site_id}/capabilities",
        data={"csrf": token, "code": "MET-CAST", "material": "turbine_blade", "capacity": "100", "committed": "20"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/registry/sites/{site_id}").text
    assert "PROPRIETARY HAL" in page and "Investment castings" in page
    with sessions() as session:
        cap = session.scalars(select(Capability).where(Capability.site_id == site_id)).one()
        assert (cap.code, cap.capacity, cap.committed) == ("MET-CAST", 100.0, 20.0)
        cap_id = cap.id
    assert re.search(r'<td class="num">80</td>', page)  # headroom
    edited = client.post(
        f"/registry/capabilities/{cap_id}/edit",
        data={"csrf": token, "code": "MET-CAST", "material": "turbine_blade", "capacity": "100", "committed": "90"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    with sessions() as session:
        changed = session.get(Capability, cap_id)
        assert changed is not None and changed.committed == 90.0
    # The proprietary site is the firm's: the other party and another firm of its own party see nothing.
    assert as_user(api, "us-analyst").get(f"/registry/sites/{site_id}").status_code == 404
    assert "HAL Lucknow" not in as_user(api, "bel-industry").get("/registry").text
    client = as_user(api, "in-industry")
    token = csrf_of(client.get("/registry").text)
    removed = client.post(f"/registry/capabilities/{cap_id}/delete", data={"csrf": token}, follow_redirects=False)
    assert removed.status_code == 303
    with sessions() as session:
        assert session.get(Capability, cap_id) is None
    # An admin keeps the sites of their party's firms.
    client = as_user(api, "in-admin")
    token = csrf_of(client.get("/registry").text)
    renamed = client.post(
        f"/registry/sites/{world.sites['BEL Pune']}/edit",
        data={"csrf": token, "name": "BEL Pune II", "country": "IN"},
        follow_redirects=False,
    )
    assert renamed.status_code == 303
    assert "BEL Pune II" in client.get(f"/registry/sites/{world.sites['BEL Pune']}").text


def test_what_if_page_shows_the_services_answer(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    client = as_user(api, "in-analyst")
    library = client.get("/runs/scenarios").text
    assert f'href="/registry/what-if?scenario={world.scenario}"' in library
    page = client.get("/registry/what-if", params={"scenario": world.scenario})
    assert page.status_code == 200, page.text
    names = [name for _id, name in SOURCE_ROW.findall(page.text)]
    # Country-of-concern sites are never alternates; the reader's hidden ones never appear.
    assert "GE Baotou" not in names and set(names) == {"HAL Koraput", "HAL Nashik", "BEL Pune", "GE Lynn"}
    assert page.text.count('data-testid="qualify"') == 4
    token = csrf_of(page.text)
    capability = world.capabilities["HAL Nashik"]
    queued = client.post(
        "/registry/what-if",
        data={"csrf": token, "scenario": str(world.scenario), "capability_id": str(capability), "material": "m"},
        follow_redirects=False,
    )
    # The what-if is a job: the form leads to its page, which shows the answer once a worker computed it.
    assert queued.status_code == 303 and queued.headers["location"].startswith("/jobs/"), queued.text
    answer = wait_job_page(client, queued.headers["location"])
    with api.sessions() as session:
        expected = what_if(session, api.principals["in-analyst"], world.scenario, capability, material="m")
        label = Marker(session, api.principals["in-analyst"]).banner(expected.marking)
        session.rollback()
    e = expected.effect
    shown = {
        key: re.search(rf'data-testid="{key}">([^<]+)</td>', answer.text)
        for key in ("pi-without", "pi-with", "pi-saved", "tts-without", "tts-with", "tts-gained", "qualification")
    }
    values = {key: found.group(1) if found else None for key, found in shown.items()}
    assert values == {
        "pi-without": fmt(e.pi_without),
        "pi-with": fmt(e.pi_with),
        "pi-saved": f"{fmt(e.pi_saved)} saved",
        "tts-without": fmt(e.tts_without),
        "tts-with": fmt(e.tts_with),
        "tts-gained": f"{fmt(e.tts_gained)} gained",
        "qualification": fmt(e.qualification),
    }
    # The hand case: c = 4, q = 3; PI 50 -> 22, TTS 5 -> 38/6.
    assert (values["pi-without"], values["pi-with"]) == ("50.00", "22.00")
    result = answer.text[answer.text.index('data-testid="what-if"') :]
    level = LEVELS[expected.marking.classification].lower()
    assert f'Marked <span class="mark mark-{level}">{html.escape(label)}</span>' in result
    # Forged form token, hidden capability, hidden scenario: refused, nothing shown.
    assert (
        client.post("/registry/what-if", data={"scenario": str(world.scenario), "capability_id": "1"}).status_code
        == 403
    )
    client = as_user(api, "us-analyst")
    token = csrf_of(client.get("/registry/what-if", params={"scenario": world.scenario}).text)
    hidden = client.post(
        "/registry/what-if",
        data={"csrf": token, "scenario": str(world.scenario), "capability_id": str(world.capabilities["HAL Koraput"])},
    )
    missing = client.post(
        "/registry/what-if", data={"csrf": token, "scenario": str(world.scenario), "capability_id": "999999"}
    )
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    alternates = client.get("/registry/what-if", params={"scenario": world.scenario}).text
    assert {name for _id, name in SOURCE_ROW.findall(alternates)} == {"HAL Nashik", "GE Lynn"}
    assert not any(word in alternates for word in (*HIDDEN, "PROPRIETARY", "IN ONLY"))
    assert client.get("/registry/what-if", params={"scenario": 999_999}).status_code == 404
    assert client.get("/registry/what-if", params={"scenario": "x1"}).status_code == 404
    assert "scenario library" in client.get("/registry/what-if").text
