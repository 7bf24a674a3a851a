"""Signing in, sessions, CSRF, roles: every page needs a session, found by walking the route table."""
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from admin.app import page_routes
from scheduling.accounts import staff
from scheduling.store.db import transaction
from scheduling.store.models import SignInAttempt, StaffSession, utcnow
from tests.admin_helpers import PASSWORD, add_staff, admin_app, csrf_of, page_csrf, signed_in_client

PUBLIC = {("GET", "/login"), ("POST", "/login")}


@pytest.fixture
def app(sessions):
    return admin_app(sessions)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_without_a_session_redirects_to_sign_in(app):
    client = TestClient(app, follow_redirects=False)
    routes = page_routes(app)
    assert len(routes) >= 3
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, concrete(path), data={"csrf": "x"})
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].endswith("/login"), (method, path)


def test_sign_in_sets_a_secure_http_only_session_cookie_and_sign_out_ends_it(sessions):
    add_staff(sessions, "hanako", "admin")
    app = admin_app(sessions)
    app.state.secure_cookies = True
    client = TestClient(app, follow_redirects=False, base_url="https://testserver")
    form = client.get("/login")
    response = client.post("/login", data={"login": "hanako", "password": PASSWORD, "csrf": csrf_of(form.text)})
    assert response.status_code == 303
    # served at the host's root: the __Host- prefix (Secure, Path=/, no Domain), and a session cookie
    cookie = [h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-hagukumi_staff=")][0]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    assert "Path=/;" in cookie + ";" and "Domain" not in cookie
    assert "Max-Age" not in cookie and "expires" not in cookie.lower()
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf": page_csrf(client)})
    assert client.get("/").status_code == 303
    with transaction(sessions) as session:
        assert session.query(StaffSession).count() == 0


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_login(sessions, app):
    add_staff(sessions, "hanako", "staff")
    client = TestClient(app, follow_redirects=False)
    for _ in range(staff.MAX_FAILURES):
        form = client.get("/login")
        response = client.post("/login", data={"login": "hanako", "password": "wrong", "csrf": csrf_of(form.text)})
        assert response.status_code == 400
        assert "パスワードが違います" in response.text
    form = client.get("/login")
    response = client.post("/login", data={"login": "hanako", "password": PASSWORD, "csrf": csrf_of(form.text)})
    assert response.status_code == 429 and "お待ちください" in response.text
    with transaction(sessions) as session:  # the window passes
        session.query(SignInAttempt).update({SignInAttempt.at: utcnow() - timedelta(hours=1)})
    signed_in_client(app, "hanako")


def test_a_form_without_a_valid_csrf_token_is_refused(sessions, app):
    add_staff(sessions, "hanako", "admin")
    client = signed_in_client(app, "hanako")
    assert client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert client.post("/logout", data={}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    form = TestClient(app).get("/login")  # the sign-in form checks its own token
    response = TestClient(app, follow_redirects=False).post(
        "/login", data={"login": "hanako", "password": PASSWORD, "csrf": csrf_of(form.text)})
    assert response.status_code == 400  # this client never got the cookie that goes with the token


def test_the_service_hashes_with_memory_hard_argon2id():
    """The tests use a cheap hasher (tests/conftest.py); the service's own is argon2id at 64 MiB, 3 passes."""
    from scheduling.accounts.staff import SERVICE_HASHER
    hashed = SERVICE_HASHER.hash(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and SERVICE_HASHER.verify(hashed, PASSWORD)
    assert not SERVICE_HASHER.check_needs_rehash(hashed)


def test_passwords_are_stored_as_argon2_hashes(sessions):
    add_staff(sessions, "hanako", "admin")
    with transaction(sessions) as session:
        [user] = staff.all_staff(session)
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
