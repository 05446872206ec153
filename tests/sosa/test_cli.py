"""``setu sosa``: list, show, overdue and the calendar commands, as a named user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from clients import create_users
from principals import IN_ANALYST, IN_DESK, US_ADMIN
from setu import accounts
from setu.cli import app
from setu.db import transaction
from setu.sharing.markings import MarkingSpec
from setu.sosa import service
from sosa.world import DRAFT, TO_ORDER, TODAY, advance, build


@pytest.fixture
def setu(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[CliRunner]:
    with transaction(sessions) as session:
        build(session)
        create_users(session, {"asha": IN_ANALYST, "sam": US_ADMIN})
    with transaction(sessions) as session:
        ordered = service.create_request(session, IN_DESK, "US", {**DRAFT, "title": "Turbine blades"}).id
        service.create_request(
            session, IN_DESK, "US", {**DRAFT, "title": "Vikram secret"}, marking=MarkingSpec(0, "IN", frozenset({"IN"}))
        )
    with transaction(sessions) as session:
        advance(session, ordered, TO_ORDER)
    url = engine.url.render_as_string(hide_password=False)
    yield CliRunner(env={"SETU_DATABASE_URL": url, "COLUMNS": "200"})


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, ["sosa", *args])


def test_list_show_and_overdue_as_each_user(setu: CliRunner) -> None:
    indian = run(setu, "list", "--as", "asha")
    assert indian.exit_code == 0, indian.output
    assert "2 requests" in indian.output and "Vikram secret" in indian.output
    american = run(setu, "list", "--as", "sam")
    assert "1 request" in american.output and "Vikram" not in american.output
    shown = run(setu, "show", "1", "--as", "sam")
    assert shown.exit_code == 0 and "RATED_ORDER_ISSUED" in shown.output and "response due: 2025-11-07" in shown.output
    assert run(setu, "show", "2", "--as", "sam").output.strip() == "error: no such request: 2"
    late = run(setu, "overdue", "--as", "asha", "--today", "2025-11-10")
    assert "1 overdue" in late.output and "OVERDUE" in late.output
    assert "0 overdue" in run(setu, "overdue", "--as", "asha", "--today", "2025-11-07").output
    nobody = run(setu, "list")
    assert nobody.exit_code == 2 and "--as USERNAME" in nobody.output


def test_calendar_commands(setu: CliRunner) -> None:
    added = run(setu, "calendar-add", "US", "2025-12-24", "--as", "sam", "--name", "Closed")
    assert added.exit_code == 0 and "added 2025-12-24 to US as a non-working day" in added.output
    refused = run(setu, "calendar-add", "US", "2025-12-26", "--as", "asha")
    assert refused.exit_code == 2 and "only an admin of party US" in refused.output
    listed = run(setu, "calendar-list", "US", "--as", "asha", "--year", "2025")
    assert "1 calendar entries of US" in listed.output and "Closed" in listed.output
    assert run(setu, "calendar-add", "US", "24-12-2025", "--as", "sam").exit_code == 2


def test_show_names_no_user_the_reader_may_not_read(setu: CliRunner, sessions: sessionmaker[Session]) -> None:
    """The attacker's side: the U.S. admin shows a request an Indian officer acted on; only India's party shows."""
    with transaction(sessions) as session:
        officer = create_users(session, {"in-officer": IN_DESK}, display_name="Asha Rao")["in-officer"]
        request_id = service.create_request(session, accounts.principal_of(officer), "US", DRAFT).id
    with transaction(sessions) as session:
        officer = accounts.get_user(session, "in-officer")
        service.transition(session, accounts.principal_of(officer), request_id, "submit", {}, 1, today=TODAY)
    shown = run(setu, "show", str(request_id), "--as", "sam")
    assert shown.exit_code == 0, shown.output
    assert "SUBMITTED" in shown.output and "IN" in shown.output
    assert "Asha" not in shown.output and "in-officer" not in shown.output


def test_the_commands_are_under_setu_sosa_only(setu: CliRunner) -> None:
    """Issue 9 renamed `setu requests` to `setu sosa`: the old group is no command."""
    assert run(setu, "list", "--as", "asha").exit_code == 0
    old = setu.invoke(app, ["requests", "list", "--as", "asha"])
    assert old.exit_code == 2 and "No such command 'requests'" in old.output
