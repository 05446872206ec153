"""Logins under attack, on SQLite and PostgreSQL: guesses fired at once, locking other people's names,
telling names apart by the locked answer, spraying from one address, flooding argon2.

Each test is written from the attacker's side; the concurrent ones go over real HTTP (uvicorn in a
thread), as the review's did.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from importlib import import_module

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clients import PASSWORD, TEST_SETTINGS, Api, add_users, make_api
from principals import seed
from setu.accounts import MAX_FAILED_LOGINS
from setu.accounts.lookups import get_user
from setu.accounts.passwords import HashGate, configure_hash_gate, configure_hasher, hash_gate
from setu.accounts.throttle import source_key
from setu.api import create_app
from setu.audit.log import integrate
from setu.db import transaction
from setu.errors import Unavailable
from setu.models.audit import AuditEntry
from setu.settings import ApiSettings

from .world import at_once, served

login_module = import_module("setu.accounts.login")  # the package's ``login`` is the function
LOGIN = "/api/v1/accounts/login"
ME = "/api/v1/accounts/me"
GUESSES = 40
ROOMY = replace(
    TEST_SETTINGS, max_concurrent_hashes=8, hash_queue=GUESSES, hash_wait_seconds=120, login_source_max_failures=1000
)
"""A gate that lets every guess through, and a roomy source limit, so the lockout of the name alone has to hold."""


@pytest.fixture(autouse=True)
def default_gate() -> Iterator[None]:
    """Each test's apps set the process's hash gate; the default comes back afterwards."""
    yield
    default = ApiSettings()
    configure_hash_gate(default.max_concurrent_hashes, default.hash_queue, default.hash_wait_seconds)


@pytest.fixture
def server(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[tuple[str, dict[str, str]]]:
    """The app over real HTTP with the test users; its URL and the users' API tokens."""
    with transaction(sessions) as session:
        seed(session)
    tokens, _ = add_users(sessions)
    with served(create_app(engine, settings=ROOMY)) as url:
        yield url, tokens


def post_login(url: str, username: str, password: str) -> httpx.Response:
    return httpx.post(url + LOGIN, json={"username": username, "password": password}, timeout=120)


def login_denials(sessions: sessionmaker[Session]) -> Counter[str]:
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        rows = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "login", AuditEntry.decision == "deny")
        )
        return Counter(json.loads(details)["reason"] for details in rows)


def test_forty_guesses_at_once_check_five_passwords_then_the_right_one_is_refused(
    server: tuple[str, dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    url, _ = server
    answers = at_once(GUESSES, lambda i: post_login(url, "in-analyst", f"wrong guess number {i}"))
    statuses = Counter(answer.status_code for answer in answers)
    # Four plain failures, the fifth locks (423), every later one is refused unchecked (423).
    assert statuses == {401: MAX_FAILED_LOGINS - 1, 423: GUESSES - MAX_FAILED_LOGINS + 1}, statuses
    assert login_denials(sessions) == {"bad_password": MAX_FAILED_LOGINS, "locked": GUESSES - MAX_FAILED_LOGINS}
    with transaction(sessions) as session:
        assert get_user(session, "in-analyst").failed_logins == MAX_FAILED_LOGINS
    right = post_login(url, "in-analyst", PASSWORD)
    assert right.status_code == 423 and right.json()["detail"].startswith("account locked until ")
    assert int(right.headers["retry-after"]) > 0


def test_guesses_at_a_name_sign_its_owner_out_of_nothing(
    server: tuple[str, dict[str, str]], sessions: sessionmaker[Session]
) -> None:
    url, tokens = server
    victim = httpx.Client(base_url=url, timeout=60)
    signed_in = victim.post(LOGIN, json={"username": "us-analyst", "password": PASSWORD})
    assert signed_in.status_code == 200
    at_once(2 * MAX_FAILED_LOGINS, lambda i: post_login(url, "us-analyst", f"attacker guess {i}"))
    assert post_login(url, "us-analyst", PASSWORD).status_code == 423  # new logins wait out the lockout
    # The victim's bearer tokens and session cookie all still work.
    for token in (tokens["us-analyst"], signed_in.json()["token"]):
        assert httpx.get(url + ME, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert victim.get(ME).status_code == 200
    with transaction(sessions) as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        revoked = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")).all()
    assert revoked == []


def test_a_locked_name_answers_alike_whether_it_exists_or_not(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[str] = []  # the argon2 work each attempt costs: a real check, or the stand-in for an unknown name
    real_verify, real_dummy = login_module.verify_password, login_module.dummy_verify
    monkeypatch.setattr(login_module, "verify_password", lambda h, p: checks.append("check") or real_verify(h, p))
    monkeypatch.setattr(login_module, "dummy_verify", lambda p: checks.append("check") or real_dummy(p))

    def lock(username: str) -> tuple[list[httpx.Response], int]:
        checks.clear()
        answers = [api.client.post(LOGIN, json={"username": username, "password": "wrong guess"}) for _ in range(7)]
        return answers, len(checks)

    (real, real_work), (ghost, ghost_work) = lock("auditor"), lock("no-such-user")
    assert real_work == ghost_work == MAX_FAILED_LOGINS  # one check per attempt until locked, none after
    assert [a.status_code for a in real] == [a.status_code for a in ghost] == [401] * 4 + [423] * 3
    for mine, theirs in zip(real, ghost, strict=True):
        assert mine.json()["detail"] == theirs.json()["detail"]
        assert sorted(mine.headers) == sorted(theirs.headers)
    assert real[-1].json()["detail"].startswith("account locked until ")
    # Even the right password of the real name gets the same answer as any password of the ghost.
    right = api.client.post(LOGIN, json={"username": "auditor", "password": PASSWORD})
    other = api.client.post(LOGIN, json={"username": "no-such-user", "password": PASSWORD})
    assert (right.status_code, right.json()) == (other.status_code, other.json())


def test_spraying_names_from_one_address_is_throttled_with_retry_after(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    apis = make_api(engine, sessions, replace(TEST_SETTINGS, login_source_max_failures=3))
    with contextlib.closing(apis):
        spray(next(apis), sessions)


def spray(api: Api, sessions: sessionmaker[Session]) -> None:
    names = ["in-analyst", "us-analyst", "in-industry", "us-industry", "auditor"]
    answers = [api.client.post(LOGIN, json={"username": name, "password": "Summer2026!"}) for name in names]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert int(answers[-1].headers["retry-after"]) > 0
    assert "too many failed logins from your address" in answers[-1].json()["detail"]
    # The throttled address gets 429 with the right password too; no account was charged for those.
    assert api.client.post(LOGIN, json={"username": "auditor", "password": PASSWORD}).status_code == 429
    assert login_denials(sessions) == {"bad_password": 3, "throttled": 3}


def test_a_full_hash_gate_answers_503_and_counts_nothing(api: Api, sessions: sessionmaker[Session]) -> None:
    configure_hash_gate(1, 0, 1)
    with hash_gate().held():  # every slot busy, no room to queue
        answer = api.client.post(LOGIN, json={"username": "in-analyst", "password": "wrong guess"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert api.client.get(ME, headers=api.auth("in-analyst")).status_code == 200  # other requests go on
    with transaction(sessions) as session:
        assert get_user(session, "in-analyst").failed_logins == 0
    assert api.client.post(LOGIN, json={"username": "in-analyst", "password": PASSWORD}).status_code == 200


def test_a_flood_of_sign_ins_past_the_gate_and_its_queue_is_answered_503(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    configure_hasher(time_cost=3, memory_cost=32768, parallelism=1)  # slow enough that the flood overlaps
    with transaction(sessions) as session:
        seed(session)
    tokens, _ = add_users(sessions)
    settings = replace(ROOMY, max_concurrent_hashes=1, hash_queue=1, hash_wait_seconds=60)
    with served(create_app(engine, settings=settings)) as url:
        answers = at_once(12, lambda i: post_login(url, f"ghost-{i}", "some guess"))
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses[503] >= 1 and set(statuses) <= {401, 503}, statuses
        assert all(a.headers["retry-after"] == "60" for a in answers if a.status_code == 503)
        # The refused ones were never checked, so never counted: only the admitted ones are in the audit.
        assert login_denials(sessions) == {"unknown_user": statuses[401]}
        me = httpx.get(url + ME, headers={"Authorization": f"Bearer {tokens['auditor']}"})
        assert me.status_code == 200


def test_hash_gate_runs_slots_at_once_queues_some_and_refuses_the_rest() -> None:
    gate = HashGate(slots=1, queue=1, wait=30)
    inside, release = threading.Event(), threading.Event()
    outcomes: list[str] = []

    def hold() -> None:
        with gate.held():
            inside.set()
            release.wait(30)

    def queued() -> None:
        with gate.held():
            outcomes.append("queued one ran")

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(30)
    waiter = threading.Thread(target=queued)
    waiter.start()
    while gate.waiting < 1:  # the second caller is in the queue
        threading.Event().wait(0.01)
    with pytest.raises(Unavailable, match="too many sign-ins at once") as refused, gate.held():
        pass
    assert refused.value.http_status == 503 and refused.value.http_headers == {"Retry-After": "30"}
    release.set()
    holder.join(30)
    waiter.join(30)
    assert outcomes == ["queued one ran"]


def test_settings_read_the_login_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETU_LOGIN_MAX_FAILURES", "7")
    monkeypatch.setenv("SETU_MAX_CONCURRENT_HASHES", "3")
    settings = ApiSettings.from_env()
    assert (settings.login_max_failures, settings.max_concurrent_hashes, settings.hash_queue) == (7, 3, 64)


def test_an_ipv6_host_cannot_rotate_through_its_64_to_escape_the_source_throttle() -> None:
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "source:2001:db8:1:2::/64"
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:192.0.2.7") == source_key("192.0.2.7") == "source:192.0.2.7"
    assert source_key("testclient") == "source:testclient"


def test_thirty_names_sprayed_at_once_from_one_address_check_only_the_source_allowance(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with transaction(sessions) as session:
        seed(session)
    add_users(sessions)
    with served(create_app(engine, settings=replace(ROOMY, login_source_max_failures=5))) as url:
        answers = at_once(30, lambda i: post_login(url, f"sprayed-{i}", "Summer2026!"))
    assert Counter(a.status_code for a in answers) == {401: 5, 429: 25}
    assert login_denials(sessions) == {"unknown_user": 5, "throttled": 25}
