"""Schemathesis against the live OpenAPI schema, as a signed-in analyst: no server error, answers as documented."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session, sessionmaker

from clients import Api
from setu.audit.checkpoints import issue_checkpoint

if TYPE_CHECKING:
    from schemathesis.schemas import APIOperation

POSITIVE_EXAMPLES = int(os.environ.get("SETU_FUZZ_EXAMPLES", "15"))
"""Generated requests per operation; ``SETU_FUZZ_EXAMPLES`` raises it for a longer, randomized hunt."""
NEGATIVE_EXAMPLES = max(1, POSITIVE_EXAMPLES // 3)
DERANDOMIZE = "SETU_FUZZ_EXAMPLES" not in os.environ
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzzed(web: Api, sessions: sessionmaker[Session]) -> Api:
    """The world network (ids 1.. exist), a scenario, a completed run and a checkpoint to find."""
    made = web.post(
        "in-analyst", "/api/v1/runs/scenarios", json={"network_id": 1, "kind": "country", "value": "US", "ttr": 2}
    )
    assert made.status_code == 201, made.text
    run = web.post("in-analyst", "/api/v1/runs", json={"network_id": 1, "scenario_ids": [made.json()["id"]]})
    assert web.wait("in-analyst", run.json()["id"])["status"] == "completed"
    with sessions() as session, session.begin():
        issue_checkpoint(session, "IN")
    return web


def fuzz(api: Api, operation: APIOperation, mode: GenerationMode, examples: int) -> None:
    """Send ``examples`` generated requests to one operation and check every answer."""
    user = "auditor" if operation.path.startswith("/api/v1/audit") else "in-analyst"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(app=api.app, headers=api.auth(user), checks=CHECKS)

    check()


def test_the_api_keeps_its_schema(fuzzed: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/accounts/logout":  # it would revoke the token the rest of the run uses
            continue
        operations += 1
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):
            try:
                fuzz(fuzzed, operation, mode, examples)
            except Unsatisfiable:  # nothing to get wrong: the operation takes no input
                assert mode == GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
