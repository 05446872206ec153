"""The sign-in pages: signed-out pages send the browser to the form; signing in and out through it."""

from __future__ import annotations

from sqlalchemy import select

from clients import Api, csrf_of, sign_in
from setu.accounts.login import MAX_FAILED_LOGINS
from setu.audit.log import integrate
from setu.models.audit import AuditEntry


def test_logged_out_pages_redirect_to_login(api: Api) -> None:
    client = api.client
    client.cookies.clear()
    for path in ("/", "/networks/1", "/networks/1/nodes/T1_1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/accounts/login"
    form = client.get("/accounts/login")
    assert form.status_code == 200 and 'name="password"' in form.text and 'action="/accounts/login"' in form.text


def test_login_flow_sets_the_api_session_cookie(api: Api) -> None:
    client = api.client
    wrong = sign_in(client, "in-analyst", "not the password")
    assert wrong.status_code == 401
    assert "invalid username or password" in wrong.text and 'name="password"' in wrong.text
    assert "setu_session" not in wrong.cookies
    answer = sign_in(client, "in-analyst")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert answer.cookies.get("setu_session")
    # The same cookie signs in to the API.
    assert client.get("/api/v1/accounts/me").json()["username"] == "in-analyst"
    home = client.get("/")
    assert home.status_code == 200
    assert "in-analyst" in home.text and ">IN<" in home.text and "Ministry of Defence" in home.text
    assert 'href="#main"' in home.text
    assert 'action="/accounts/logout"' in home.text
    forged = client.post("/accounts/logout", data={"csrf": "0" * 64}, follow_redirects=False)
    assert forged.status_code == 403 and "did not come from Setu" in forged.text
    assert client.get("/api/v1/accounts/me").status_code == 200
    logout = client.post("/accounts/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False)
    assert logout.status_code == 303 and logout.headers["location"] == "/accounts/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/accounts/me").status_code == 401


def test_a_locked_account_gets_the_form_again_with_423_and_until_when(api: Api) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert sign_in(api.client, "us-analyst", "wrong password, again").status_code == 401
    locked = sign_in(api.client, "us-analyst", "wrong password, again")
    assert locked.status_code == 423 and "account locked until " in locked.text and 'name="password"' in locked.text
    right = sign_in(api.client, "us-analyst")
    assert right.status_code == 423 and "setu_session" not in right.cookies
    with api.sessions() as session:
        integrate(session)  # sequence what is pending, as every reader of the log does
        denials = session.scalars(
            select(AuditEntry.seq).where(AuditEntry.action == "login", AuditEntry.decision == "deny")
        )
        assert len(denials.all()) == MAX_FAILED_LOGINS + 1


def test_signing_out_a_stale_session_clears_its_cookie(api: Api) -> None:
    client = api.client
    client.cookies.set("setu_session", "not-a-session-of-setu")
    answer = client.post("/accounts/logout", data={"csrf": ""}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts/login"
    assert 'setu_session=""' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]


def test_the_old_sign_in_paths_are_gone(api: Api) -> None:
    """The sign-in pages moved under /accounts (issue 9); the old paths are unknown pages now."""
    assert api.client.get("/login").status_code == 404
    assert api.client.post("/api/v1/auth/login", json={"username": "in-analyst", "password": "x"}).status_code == 404
