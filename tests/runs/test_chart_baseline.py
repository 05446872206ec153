"""The run page's chart counts the same scenarios at risk as the run does, on a view that runs short undisrupted.

Plain TTS on such a view is the baseline's own for nearly every scenario: charted plainly, every point falls
under the diagonal while the run says few are at risk. The chart plots TTS measured from the baseline.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker

from clients import Api, execute_here, sign_in
from principals import US_ANALYST
from setu.db import transaction
from setu.runs.reference import start_reference_sweep


def test_the_chart_and_the_count_agree_on_a_short_view(web: Api, sessions: sessionmaker[Session]) -> None:
    nid = web.get("us-analyst", "/api/v1/networks").json()["items"][0]["id"]
    with transaction(sessions) as session:
        run_id = start_reference_sweep(session, US_ANALYST, nid).id
    execute_here(sessions, run_id, US_ANALYST)
    run = web.get("us-analyst", f"/api/v1/runs/{run_id}").json()
    assert run["baseline"] and run["baseline"]["short"], "the US view of the world runs short undisrupted"
    sign_in(web.client, "us-analyst")
    page = web.client.get(f"/runs/{run_id}").text
    at_risk, everything = map(int, re.search(r"<strong>(\d+)</strong> of (\d+) scenario", page).groups())  # type: ignore[union-attr]
    charted_risky, charted = map(int, re.search(r'data-testid="chart-summary">(\d+) of the (\d+)', page).groups())  # type: ignore[union-attr]
    assert charted == everything and charted_risky == at_risk < everything
    assert "Time to survive (measured from the baseline)" in page
