"""Logging in and out, who am I, bearer tokens and the session cookie, lockout, health, role checks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clients import PASSWORD, TEST_SETTINGS, Api, make_api
from setu.accounts import MAX_FAILED_LOGINS, SESSION_COOKIE, disable_user, get_user
from setu.audit.log import integrate
from setu.db import transaction
from setu.models.audit import AuditEntry
from setu.settings import ApiSettings

ME = "/api/v1/accounts/me"
LOGIN = "/api/v1/accounts/login"


def login(api: Api, username: str, password: str = PASSWORD) -> tuple[int, dict[str, object], dict[str, str]]:
    answer = api.client.post(LOGIN, json={"username": username, "password": password})
    return answer.status_code, answer.json(), dict(answer.headers)


def test_health_needs_no_login(api: Api) -> None:
    answer = api.client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "version": "0.1.0"}


def test_login_gives_a_bearer_token_and_a_session_cookie(api: Api) -> None:
    answer = api.client.post(LOGIN, json={"username": "IN-Analyst", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and len(body["token"]) > 30
    assert body["user"]["username"] == "in-analyst"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # the tests' settings turn it off; the default sends it

    me = api.client.get(ME, headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    user = me.json()
    assert {k: user[k] for k in ("username", "party", "roles", "clearance", "clearance_level", "groups")} == {
        "username": "in-analyst",
        "party": "IN",
        "roles": ["analyst"],
        "clearance": "CONFIDENTIAL",
        "clearance_level": 2,
        "groups": ["ENGINE"],
    }
    assert user["organization"] == {"id": 1, "name": "Ministry of Defence"}
    assert user["marking"] == {
        "classification": "UNCLASSIFIED",
        "banner": "UNCLASSIFIED // REL TO IN",
        "releases": ["IN"],
        "national_only": False,
        "groups": [],
    }

    # The cookie alone signs the browser in (TestClient keeps it).
    assert api.client.get(ME).json()["username"] == "in-analyst"


def test_the_cookie_is_secure_by_default(engine: Engine, sessions: sessionmaker[Session]) -> None:
    settings = ApiSettings(max_upload_bytes=TEST_SETTINGS.max_upload_bytes)
    api = next(make_api(engine, sessions, settings))
    try:
        answer = api.client.post(LOGIN, json={"username": "us-analyst", "password": PASSWORD})
        assert answer.status_code == 200
        assert "Secure" in answer.headers["set-cookie"]
    finally:
        api.client.__exit__(None, None, None)


def test_logout_revokes_the_token_and_the_cookie(api: Api) -> None:
    status, body, _ = login(api, "us-analyst")
    assert status == 200
    token = str(body["token"])
    bearer = {"Authorization": f"Bearer {token}"}
    cookie_token = api.client.cookies.get(SESSION_COOKIE)
    assert cookie_token
    out = api.client.post("/api/v1/accounts/logout", headers=bearer)
    assert out.status_code == 204 and out.content == b""
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    api.client.cookies.clear()
    assert api.client.get(ME, headers=bearer).status_code == 401
    api.client.cookies.set(SESSION_COOKIE, cookie_token)
    assert api.client.get(ME).status_code == 401


def test_bearer_logout_ends_the_cookie_of_the_same_login(api: Api) -> None:
    status, body, _ = login(api, "us-analyst")
    assert status == 200
    cookie_token = api.client.cookies.get(SESSION_COOKIE)
    assert cookie_token
    api.client.cookies.clear()  # a script that logs in and out with the token alone never sends the cookie
    out = api.client.post("/api/v1/accounts/logout", headers={"Authorization": f"Bearer {body['token']}"})
    assert out.status_code == 204
    api.client.cookies.set(SESSION_COOKIE, cookie_token)
    assert api.client.get(ME).status_code == 401


def test_cookie_logout_ends_the_bearer_token_of_the_same_login_but_no_other(api: Api) -> None:
    _, body, _ = login(api, "us-analyst")
    out = api.client.post("/api/v1/accounts/logout", headers={"X-CSRF-Token": str(body["csrf_token"])})
    assert out.status_code == 204
    api.client.cookies.clear()
    assert api.client.get(ME, headers={"Authorization": f"Bearer {body['token']}"}).status_code == 401
    assert api.get("us-analyst", ME).status_code == 200  # the user's other tokens are other logins


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + "x" * 300},
    ],
    ids=["none", "unknown", "basic", "too-long"],
)
def test_missing_or_bad_tokens_are_401_with_a_challenge(api: Api, headers: dict[str, str]) -> None:
    for url in (ME, "/api/v1/networks", "/api/v1/runs/1", "/api/v1/networks/1/nodes"):
        answer = api.client.get(url, headers=headers)
        assert answer.status_code == 401, (url, answer.text)
        assert answer.headers["www-authenticate"].startswith('Bearer realm="setu"')
        assert set(answer.json()) == {"detail"}
    if headers.get("Authorization", "").startswith("Bearer"):
        assert 'error="invalid_token"' in api.client.get(ME, headers=headers).headers["www-authenticate"]


def test_a_session_token_is_no_bearer_token_and_an_api_token_no_cookie(api: Api) -> None:
    login(api, "in-analyst")
    session_token = api.client.cookies.get(SESSION_COOKIE)
    assert session_token
    api.client.cookies.clear()
    assert api.client.get(ME, headers={"Authorization": f"Bearer {session_token}"}).status_code == 401
    api.client.cookies.set(SESSION_COOKIE, api.tokens["in-analyst"])
    assert api.client.get(ME).status_code == 401
    api.client.cookies.set(SESSION_COOKIE, session_token)
    assert api.client.get(ME).status_code == 200


def test_wrong_password_and_unknown_user_answer_alike(api: Api) -> None:
    wrong = login(api, "in-analyst", "not the password at all")
    unknown = login(api, "nobody-here", "not the password at all")
    assert wrong[0] == unknown[0] == 401
    assert wrong[1] == unknown[1] == {"detail": "invalid username or password"}
    assert wrong[2]["www-authenticate"].startswith("Bearer")


def test_lockout_answers_423_with_the_message(api: Api) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert login(api, "auditor", "wrong password, again")[0] == 401
    status, body, _ = login(api, "auditor", "wrong password, again")
    assert status == 423
    assert str(body["detail"]).startswith("invalid username or password; account locked until ")
    status, body, _ = login(api, "auditor")  # the right password, while locked
    assert status == 423
    assert str(body["detail"]).startswith("account locked until ") and str(body["detail"]).endswith(" UTC")
    # The locked user's tokens keep working (failing logins on a name signs no one out); every failure is audited.
    assert api.get("auditor", ME).status_code == 200
    with api.sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        denials = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "login", AuditEntry.decision == "deny")
        ).all()
    assert len(denials) == MAX_FAILED_LOGINS + 1


def test_a_disabled_account_cannot_log_in_or_use_its_tokens(api: Api) -> None:
    with transaction(api.sessions) as session:
        disable_user(session, get_user(session, "us-industry"))
    assert login(api, "us-industry")[0] == 401
    assert api.get("us-industry", ME).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "in-analyst"},
        {"username": "in-analyst", "password": 12},
        {"username": "in\x00analyst", "password": PASSWORD},
        {"username": "x" * 65, "password": PASSWORD},
        {"username": "in-analyst", "password": PASSWORD, "extra": 1},
    ],
)
def test_malformed_logins_are_422_with_problems(api: Api, body: dict[str, object]) -> None:
    answer = api.client.post(LOGIN, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == "invalid request"
    assert all(set(p) == {"where", "message"} for p in answer.json()["problems"])


def test_roles_industry_and_auditors_cannot_import_or_run(api: Api) -> None:
    for user in ("in-industry", "us-industry", "auditor"):
        upload = api.post(user, "/api/v1/networks", files={"file": ("a.json", b"{}")})
        assert upload.status_code == 403, upload.text
        assert "requires role analyst or admin" in upload.json()["detail"]
        run = api.post(user, "/api/v1/runs", json={"network_id": 1, "sweep": True})
        assert run.status_code == 403
    with api.sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        denied = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.decision == "deny", AuditEntry.action.in_(["network.import", "run.start"])
            )
        ).all()
    assert sorted(denied) == sorted(["network.import", "run.start"] * 3)


def test_openapi_is_served_and_complete(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    assert schema["info"]["title"] == "Setu"
    for path, operations in schema["paths"].items():
        assert path.startswith("/api/v1/")
        for method, operation in operations.items():
            responses = operation["responses"]
            ok = [code for code in responses if code.startswith("2")]
            assert ok, (method, path)
            for code in ok:
                if code != "204":
                    assert responses[code].get("content"), (method, path, code)
            if path != "/api/v1/health" and not path.endswith("/accounts/login"):
                assert "401" in responses, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert responses["422"]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorBody"
                }, (method, path)
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "session"}
    assert api.client.get("/docs").status_code == 404  # no CDN-loaded pages


def test_unknown_paths_and_methods(api: Api) -> None:
    assert api.get("in-analyst", "/api/v1/nothing").status_code == 404
    assert api.client.delete("/api/v1/networks", headers=api.auth("in-analyst")).status_code == 405


def test_the_app_runs_its_configured_run_worker_threads(api: Api) -> None:
    workers = api.app.state.run_jobs.workers
    assert len(workers) == api.app.state.setu.settings.run_workers == 2
    assert len({worker.runner for worker in workers}) == 2 and not any(w.stopping.is_set() for w in workers)
