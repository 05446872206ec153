"""Jobs from the attacker's side: another user of the same party, a user of the other party, a lowered
clearance; by id, in lists and counts, on the job page, through cancel and the CLI.

A job is its creator's alone, and a result derived from marked records only while they may still read
its marking: anyone else is answered exactly as for a job that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from clients import Api, create_users, make_api, sign_in
from principals import IN_ADMIN, US_ADMIN
from registry.world import RegistryWorld, build
from setu.accounts.tokens import issue_token
from setu.cli import app
from setu.db import transaction
from setu.models.accounts import User

Factory = sessionmaker[Session]
API = "/api/v1"
OTHERS = ("in-industry", "us-analyst", "us-industry", "auditor")
"""Users who did not queue the job: of the creator's party, and of the other one."""


@pytest.fixture
def reg(engine: Engine, sessions: Factory) -> Iterator[tuple[Api, RegistryWorld]]:
    """The app on the registry world, with the parties' admins too."""
    built: list[RegistryWorld] = []

    def prepare(session: Session) -> None:
        built.append(build(session))

    for api in make_api(engine, sessions, prepare=prepare):
        with transaction(sessions) as session:
            for name, user in create_users(session, {"in-admin": IN_ADMIN, "us-admin": US_ADMIN}).items():
                api.tokens[name] = issue_token(session, user, "api")
        yield api, built[0]


def what_if_job(api: Api, world: RegistryWorld, user: str = "in-analyst") -> dict[str, object]:
    """A what-if of the world's scenario with HAL Nashik, computed by a worker of the app."""
    body = {"scenario": world.scenario, "capability_id": world.capabilities["HAL Nashik"]}
    job = api.finished(user, api.post(user, f"{API}/registry/what-if", json=body))
    assert job["status"] == "succeeded", job
    return job


def same_as_missing(api: Api, user: str, job_id: int, path: str = "") -> None:
    """The answer about ``job_id`` is, word for word, the answer about a job that does not exist."""
    hidden = api.get(user, f"{API}/jobs/{job_id}{path}")
    missing = api.get(user, f"{API}/jobs/999999{path}")
    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert hidden.text.replace(str(job_id), "KEY") == missing.text.replace("999999", "KEY")


def test_only_the_creator_reads_lists_counts_or_cancels_a_job(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    job = what_if_job(api, world)
    job_id = int(str(job["id"]))
    assert job["result"] and "RESTRICTED" in str(job["result"])
    for user in OTHERS:
        same_as_missing(api, user, job_id)
        listing = api.get(user, f"{API}/jobs").json()
        assert listing["items"] == [] and listing["total"] == 0, user
        for status in ("succeeded", "queued"):
            assert api.get(user, f"{API}/jobs", params={"status": status}).json()["total"] == 0
        cancel = api.post(user, f"{API}/jobs/{job_id}/cancel")
        missing = api.post(user, f"{API}/jobs/999999/cancel")
        assert cancel.status_code == missing.status_code == 404
        assert cancel.text.replace(str(job_id), "KEY") == missing.text.replace("999999", "KEY")
    mine = api.get("in-analyst", f"{API}/jobs").json()
    assert mine["total"] == 1 and mine["items"][0]["id"] == job_id and "RESTRICTED" in mine["banner"]


def test_another_partys_admin_cannot_cancel_and_an_admin_learns_only_the_state(
    reg: tuple[Api, RegistryWorld],
) -> None:
    api, world = reg
    body = {"scenario": world.scenario, "capability_id": world.capabilities["HAL Nashik"]}
    # No worker takes it while the test looks: the app's workers are stopped for the moment.
    workers = api.app.state.run_jobs
    workers.shutdown()
    queued = api.post("in-analyst", f"{API}/registry/what-if", json=body)
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["id"]
    assert api.post("us-admin", f"{API}/jobs/{job_id}/cancel").status_code == 404
    same_as_missing(api, "in-admin", job_id)
    cancelled = api.post("in-admin", f"{API}/jobs/{job_id}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    answer = cancelled.json()
    assert answer["status"] == "cancelled" and answer["result"] is None and answer["error"] == ""
    assert api.get("in-analyst", f"{API}/jobs/{job_id}").json()["status"] == "cancelled"


def test_a_lowered_clearance_hides_a_result_computed_under_the_old_one(
    reg: tuple[Api, RegistryWorld], sessions: Factory
) -> None:
    api, world = reg
    job = what_if_job(api, world)
    job_id = int(str(job["id"]))
    client = api.client
    assert sign_in(client, "in-analyst").status_code == 303
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200 and 'data-testid="effect"' in page.text
    # The analyst's clearance drops below the result's RESTRICTED marking (their account changed).
    with transaction(sessions) as session:
        session.execute(update(User).where(User.username == "in-analyst").values(clearance=0))
    same_as_missing(api, "in-analyst", job_id)
    listing = api.get("in-analyst", f"{API}/jobs").json()
    assert listing["total"] == 0 and listing["items"] == []
    hidden, missing = client.get(f"/jobs/{job_id}"), client.get("/jobs/999999")
    assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    assert "PI" not in hidden.text and "RESTRICTED" not in hidden.text
    cancel = api.post("in-analyst", f"{API}/jobs/{job_id}/cancel")
    assert cancel.status_code == 404


def test_the_job_page_is_the_creators_alone(reg: tuple[Api, RegistryWorld]) -> None:
    api, world = reg
    job_id = int(str(what_if_job(api, world)["id"]))
    client = api.client
    for user in OTHERS:
        assert sign_in(client, user).status_code == 303
        hidden, missing = client.get(f"/jobs/{job_id}"), client.get("/jobs/999999")
        assert hidden.status_code == missing.status_code == 404 and hidden.text == missing.text
    client.cookies.clear()
    assert client.get(f"/jobs/{job_id}", follow_redirects=False).status_code in (303, 401, 404)


def test_the_cli_answers_only_the_creator(reg: tuple[Api, RegistryWorld], engine: Engine) -> None:
    api, world = reg
    job_id = int(str(what_if_job(api, world)["id"]))
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    mine = runner.invoke(app, ["jobs", "show", str(job_id), "--user", "in-analyst", "--database-url", url])
    assert mine.exit_code == 0, mine.output
    assert "succeeded" in mine.output and "pi_saved" in mine.output
    listed = runner.invoke(app, ["jobs", "list", "--user", "in-analyst", "--database-url", url])
    assert listed.exit_code == 0 and "1 job(s)" in listed.output
    for user in ("in-industry", "us-analyst"):
        shown = runner.invoke(app, ["jobs", "show", str(job_id), "--user", user, "--database-url", url])
        assert shown.exit_code == 2 and f"no such job: {job_id}" in shown.output and "pi_saved" not in shown.output
        listed = runner.invoke(app, ["jobs", "list", "--user", user, "--database-url", url])
        assert listed.exit_code == 0 and "0 job(s)" in listed.output
        cancelled = runner.invoke(app, ["jobs", "cancel", str(job_id), "--user", user, "--database-url", url])
        assert cancelled.exit_code == 2 and f"no such job: {job_id}" in cancelled.output
