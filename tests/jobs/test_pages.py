"""The job page: it follows a queued job (script and no-script refresh), cancels it, and shows how it ended."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, Api, csrf_of, make_api, sign_in
from registry.world import RegistryWorld, build

Factory = sessionmaker[Session]
IDLE = replace(TEST_SETTINGS, run_workers=0)
"""No worker thread: a queued job waits for the test."""


@pytest.fixture
def idle(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, RegistryWorld]]:
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))

    for api in make_api(engine, sessions, IDLE, prepare):
        yield api, built[0]


def test_a_queued_job_is_followed_then_cancelled_from_its_page(idle: tuple[Api, RegistryWorld]) -> None:
    api, world = idle
    client = api.client
    assert sign_in(client, "in-analyst").status_code == 303
    form = client.get("/registry/what-if", params={"scenario": world.scenario})
    queued = client.post(
        "/registry/what-if",
        data={
            "csrf": csrf_of(form.text),
            "scenario": str(world.scenario),
            "capability_id": str(world.capabilities["GE Lynn"]),
        },
        follow_redirects=False,
    )
    assert queued.status_code == 303 and queued.headers["location"].startswith("/jobs/")
    location = queued.headers["location"]
    page = client.get(location)
    assert page.status_code == 200 and 'data-status="queued"' in page.text
    assert "Queued: waiting for a worker." in page.text and "Registry what-if" in page.text
    assert '<script src="/static/job.js" defer></script>' in page.text
    assert '<meta http-equiv="refresh" content="3">' in page.text
    cancelled = client.post(f"{location}/cancel", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert cancelled.status_code == 303 and cancelled.headers["location"] == location
    page = client.get(location)
    assert 'data-status="cancelled"' in page.text and "job.js" not in page.text and "cancel-form" not in page.text
    again = client.post(f"{location}/cancel", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert again.status_code == 409 and "The job already ended: cancelled." in again.text
    forged = client.post(f"{location}/cancel", data={"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403


def test_the_job_static_script_is_served(idle: tuple[Api, RegistryWorld]) -> None:
    api, _world = idle
    script = api.client.get("/static/job.js")
    assert script.status_code == 200 and "/api/v1/jobs/" in script.text
