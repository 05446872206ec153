"""From a what-if to a priority request: the result's page drafts the request, filled in, for who may file one."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import Api, create_users, csrf_of, make_api, sign_in, wait_job_page
from principals import IN_ADMIN
from registry.world import RegistryWorld, build


@pytest.fixture
def reg(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[tuple[Api, RegistryWorld]]:
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))
        create_users(session, {"in-admin": IN_ADMIN})

    for api in make_api(engine, sessions, prepare=prepare):
        yield api, built[0]


def _what_if(api: Api, world: RegistryWorld, user: str, site: str = "GE Lynn") -> str:
    sign_in(api.client, user)
    page = api.client.get("/registry/what-if", params={"scenario": world.scenario})
    queued = api.client.post(
        "/registry/what-if",
        data={
            "csrf": csrf_of(page.text),
            "scenario": str(world.scenario),
            "capability_id": str(world.capabilities[site]),
            "material": "m",
        },
        follow_redirects=False,
    )
    assert queued.status_code == 303, queued.text
    return wait_job_page(api.client, queued.headers["location"]).text


def test_a_what_if_drafts_the_priority_request_it_argues_for(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    result = _what_if(api, world, "in-admin")
    found = re.search(r'data-testid="what-if-request"><a href="([^"]+)"', result)
    assert found, "an admin may file requests: the result on a US site offers to draft one"
    link = html.unescape(found.group(1))
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert query["site"] == "GE Lynn" and query["scenario"] == str(world.scenario)
    pi = {k: re.search(rf'data-testid="{k}">([^<]+)</td>', result).group(1) for k in ("pi-without", "pi-with")}  # type: ignore[union-attr]
    figures = f"from {pi['pi-without']} to {pi['pi-with']}"
    assert figures in query["justification"]  # the figures the page shows, quoted
    form = api.client.get(link)
    assert form.status_code == 200
    text = form.text
    assert 'value="GE Lynn"' in text and figures in text and 'value="US" selected' in text
    assert re.search(rf'<option value="{query["supplier"]}" selected>', text)
    assert re.search(rf'<option value="{world.scenario}"[^>]* selected>', text)


def test_no_request_is_offered_to_who_may_not_file_or_for_a_firm_of_ones_own_party(
    reg: tuple[Api, RegistryWorld],
) -> None:
    api, world = reg
    for user, site in (("in-analyst", "GE Lynn"), ("in-admin", "HAL Nashik")):
        result = _what_if(api, world, user, site)
        assert 'data-testid="what-if-request"' not in result and 'data-testid="what-if-no-request"' in result
