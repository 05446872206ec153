"""Twenty run starts and twenty request transitions at once, over real HTTP: no 5xx, no stuck run, a whole log."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clients import TEST_SETTINGS, create_users
from principals import IN_ANALYST, IN_DESK, US_ANALYST, US_DESK
from setu import accounts
from setu.audit.verify import verify_log
from setu.db import transaction
from setu.models.stress import RunRecord
from sosa.test_endpoints import DRAFT
from sosa.world import build
from test_admission import serving

USERS = {"in-desk": IN_DESK, "us-desk": US_DESK, "in-analyst": IN_ANALYST, "us-analyst": US_ANALYST}


def test_twenty_run_starts_and_twenty_transitions_at_once(engine: Engine, sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        world = build(session)
        tokens = {
            name: accounts.issue_token(session, user, "api") for name, user in create_users(session, USERS).items()
        }
    settings = replace(TEST_SETTINGS, max_active_runs=20, run_queue=40, max_in_flight=48, run_workers=2)

    with serving(engine, settings) as base:

        def call(user: str, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[user]}"}
            return httpx.request(method, f"{base}/api/v1{path}", json=body, headers=headers, timeout=60)

        drafts = [call("in-desk", "POST", "/sosa", DRAFT).json() for _ in range(20)]
        assert all("id" in draft for draft in drafts), drafts[0]
        run = {"network_id": world["network"], "sweep": True, "ttr": 2}

        def start(index: int) -> int:
            return call("in-analyst" if index % 2 else "us-analyst", "POST", "/runs", run).status_code

        def submit(draft: dict[str, Any]) -> int:
            body = {"action": "submit", "fields": {}, "version": draft["version"]}
            return call("in-desk", "POST", f"/sosa/{draft['id']}/transitions", body).status_code

        with ThreadPoolExecutor(40) as pool:
            starts = [pool.submit(start, index) for index in range(20)]
            moves = [pool.submit(submit, draft) for draft in drafts]
            started = [future.result() for future in starts]
            moved = [future.result() for future in moves]
        assert started == [202] * 20 and moved == [200] * 20, (started, moved)
        deadline = time.monotonic() + 120
        while True:
            with sessions() as session:
                open_runs = session.scalars(select(RunRecord.status).where(RunRecord.status.in_(("queued", "running"))))
                if not list(open_runs):
                    break
            assert time.monotonic() < deadline, "runs left queued or running"
            time.sleep(0.2)
        with sessions() as session:
            statuses = set(session.scalars(select(RunRecord.status)))
            assert statuses == {"completed"}, statuses
            assert verify_log(session).ok
