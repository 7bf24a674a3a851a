"""The panel against a city's security audit (OWASP ASVS level 2, issue 11 items 9-13): the sign-in limit
under parallel requests, by account and address; unknown logins cost a hash; headers on every answer;
idle and absolute session ends; bad input answered 400/404 on every route; redirects that ignore the
Host header; password rules; changing one's own password; TOTP for administrators."""
import re
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from admin.app import page_routes
from scheduling.accounts import staff
from scheduling.city.city_file import AdminSettings, CityConfigError, load_city
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, SignInAttempt, StaffSession, StaffUser, utcnow
from tests.admin_helpers import PASSWORD, add_staff, admin_app, csrf_of, page_csrf, signed_in_client
from tests.city_files import test_city

PUBLIC = {("GET", "/login"), ("POST", "/login")}
TEMPLATES = Path(__file__).resolve().parents[1] / "admin" / "templates"


def concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


class VerifySpy:
    """Counts the password-hash checks (thread-safe) and remembers the hashes they were given."""

    def __init__(self, monkeypatch):
        self.original, self.hashes, self.lock = staff._verify, [], threading.Lock()
        monkeypatch.setattr(staff, "_verify", self)

    def __call__(self, password_hash, password):
        with self.lock:
            self.hashes.append(password_hash)
        return self.original(password_hash, password)


def audit_rows(sessions, action: str) -> list[AuditEntry]:
    with transaction(sessions) as session:
        return list(session.query(AuditEntry).filter(AuditEntry.action == action))


# --- 9: the sign-in limit --------------------------------------------------------------------------

def test_thirty_parallel_wrong_passwords_check_no_more_than_the_limit(sessions, monkeypatch):
    add_staff(sessions, "hanako", "staff")
    spy = VerifySpy(monkeypatch)
    barrier, results = threading.Barrier(30), []

    def attempt():
        barrier.wait()
        results.append(staff.sign_in(sessions, login="hanako", password="not-her-password", address="203.0.113.9",
                                     now=utcnow()).status)
    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(spy.hashes) == staff.MAX_FAILURES
    assert sorted(results) == ["locked"] * (30 - staff.MAX_FAILURES) + ["wrong"] * staff.MAX_FAILURES
    assert len(audit_rows(sessions, "sign_in_failed")) == staff.MAX_FAILURES


def test_an_unknown_or_disabled_login_runs_the_password_hash_too(sessions, monkeypatch):
    hanako = add_staff(sessions, "hanako", "staff")
    spy = VerifySpy(monkeypatch)
    assert staff.sign_in(sessions, login="nobody", password=PASSWORD, address="a", now=utcnow()).status == "wrong"
    assert len(spy.hashes) == 1 and spy.hashes[0].startswith("$argon2id$")
    with transaction(sessions) as session:
        staff.set_active(session, staff_id=hanako, active=False, actor="test", now=utcnow())
    assert staff.sign_in(sessions, login="hanako", password=PASSWORD, address="a", now=utcnow()).status == "wrong"
    assert len(spy.hashes) == 2 and spy.hashes[1].startswith("$argon2id$")


def test_the_lock_is_per_address_with_a_looser_cap_per_account_and_per_address(sessions):
    add_staff(sessions, "hanako", "staff")
    now = utcnow()
    for _ in range(staff.MAX_FAILURES):
        assert staff.sign_in(sessions, login="hanako", password="guess-guess-1", address="198.51.100.7",
                             now=now).status == "wrong"
    assert staff.sign_in(sessions, login="hanako", password=PASSWORD, address="198.51.100.7", now=now).status == "locked"
    # the attacker's address is locked out; hanako, elsewhere, is not
    assert staff.sign_in(sessions, login="hanako", password=PASSWORD, address="192.0.2.1", now=now).status == "ok"
    # spread over many addresses, the account's cap locks it everywhere
    with transaction(sessions) as session:
        session.add_all(SignInAttempt(login="hanako", address=f"10.0.{n}.1", at=now) for n in range(staff.LOGIN_CAP))
    assert staff.sign_in(sessions, login="hanako", password=PASSWORD, address="192.0.2.1", now=now).status == "locked"
    # one address guessing many logins is locked too
    with transaction(sessions) as session:
        session.add_all(SignInAttempt(login=f"guess{n}", address="203.0.113.50", at=now) for n in range(staff.ADDRESS_CAP))
    add_staff(sessions, "sato", "staff")
    assert staff.sign_in(sessions, login="sato", password=PASSWORD, address="203.0.113.50", now=now).status == "locked"
    assert staff.sign_in(sessions, login="sato", password=PASSWORD, address="203.0.113.51", now=now).status == "ok"


def test_an_administrator_unlocks_an_account_and_failures_are_in_the_audit_in_japanese(sessions):
    add_staff(sessions, "admin1", "admin")
    add_staff(sessions, "hanako", "staff")
    app = admin_app(sessions)
    attacker = TestClient(app, follow_redirects=False)
    for _ in range(staff.MAX_FAILURES):
        attacker.post("/login", data={"login": "hanako", "password": "wrong-wrong-1",
                                      "csrf": csrf_of(attacker.get("/login").text)})
    admin = signed_in_client(app, "admin1")
    page = admin.get("/staff").text
    assert "ロック中" in page
    hanako_id = re.search(r'/staff/(\d+)/unlock', page).group(1)
    assert admin.post(f"/staff/{hanako_id}/unlock", data={"csrf": page_csrf(admin, "/staff")}).status_code == 303
    assert "ロック中" not in admin.get("/staff").text
    signed_in_client(app, "hanako")  # the same address (the test client's) may sign in again
    audit = admin.get("/audit").text
    assert "ログイン失敗" in audit and "パスワードの誤り" in audit and "接続元" in audit
    assert "ログインのロック解除" in audit


# --- 10: headers on every answer -----------------------------------------------------------------------

def assert_guarded(response, where):
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "same-origin", where


def test_every_route_signed_in_or_not_answers_with_the_security_headers_and_no_store(sessions):
    add_staff(sessions, "admin1", "admin")
    app = admin_app(sessions)
    anonymous, admin = TestClient(app, follow_redirects=False), signed_in_client(app, "admin1")
    csrf = page_csrf(admin)
    for method, path in sorted(page_routes(app), key=lambda route: route[1] == "/logout"):  # sign out last
        for who, client in (("anonymous", anonymous), ("admin", admin)):
            response = client.request(method, concrete(path), data={"csrf": csrf} if method == "POST" else None)
            assert response.status_code < 500, (method, path, who)
            assert_guarded(response, (method, path, who))
            assert response.headers.get("cache-control") == "no-store", (method, path, who)
    csv = admin.get("/figures.csv") if ("GET", "/figures.csv") in page_routes(app) else None
    assert csv is None or csv.headers["cache-control"] == "no-store"
    static = anonymous.get("/static/admin.css")
    assert static.status_code == 200
    assert_guarded(static, "static")


def test_the_templates_need_no_inline_script_or_style():
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", html, re.I), template.name


# --- 11: sessions ------------------------------------------------------------------------------------

def test_a_session_ends_after_the_citys_idle_time_and_after_its_lifetime(sessions):
    add_staff(sessions, "hanako", "staff")
    clock = Clock()
    app = admin_app(sessions, clock=clock)
    client = signed_in_client(app, "hanako")
    for _ in range(3):  # a page every 20 minutes keeps it going past 30 minutes
        clock.now += timedelta(minutes=20)
        assert client.get("/").status_code == 200
    clock.now += timedelta(minutes=31)
    assert client.get("/").status_code == 303  # idle
    app.state.city = replace(app.state.city, admin=AdminSettings(idle_minutes=60, session_hours=2))
    client = signed_in_client(app, "hanako")
    clock.now += timedelta(minutes=50)
    assert client.get("/").status_code == 200  # the city's longer idle time
    for _ in range(2):
        clock.now += timedelta(minutes=40)
    assert client.get("/").status_code == 303  # idle 80 minutes > 60
    client = signed_in_client(app, "hanako")
    for _ in range(5):  # active, but past the lifetime of 2 hours
        clock.now += timedelta(minutes=25)
        client.get("/")
    assert client.get("/").status_code == 303


def test_the_admin_table_of_the_city_file_is_checked_naming_line_and_field(tmp_path):
    city_file = test_city(tmp_path)
    assert load_city(city_file).admin == AdminSettings(idle_minutes=30, session_hours=10)
    text = city_file.read_text(encoding="utf-8").replace("idle_minutes = 30", "idle_minutes = 3\ncolour = \"blue\"")
    city_file.write_text(text, encoding="utf-8")   # inside [admin], wherever that table stands
    with pytest.raises(CityConfigError) as error:
        load_city(city_file)
    line = text.splitlines().index("idle_minutes = 3") + 1
    assert f"city.toml:{line}: admin.idle_minutes" in str(error.value) and "5〜240" in str(error.value)
    assert "admin.colour" in str(error.value)


def test_under_a_path_the_cookie_is_secure_prefixed_with_that_path(sessions):
    add_staff(sessions, "hanako", "staff")
    panel = admin_app(sessions)
    panel.state.secure_cookies = True
    outer = FastAPI()
    outer.mount("/admin", panel)
    client = TestClient(outer, follow_redirects=False, base_url="https://testserver")
    form = client.get("/admin/login")
    response = client.post("/admin/login", data={"login": "hanako", "password": PASSWORD, "csrf": csrf_of(form.text)})
    cookie = [h for h in response.headers.get_list("set-cookie") if "hagukumi_staff=" in h][0]
    assert cookie.startswith("__Secure-hagukumi_staff=") and "Path=/admin/" in cookie and "Secure" in cookie
    assert "Max-Age" not in cookie
    assert response.headers["location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- 12: bad input ------------------------------------------------------------------------------------

def test_a_nul_anywhere_is_refused_with_400_even_before_signing_in(sessions):
    add_staff(sessions, "admin1", "admin")
    app = admin_app(sessions)
    anonymous = TestClient(app, follow_redirects=False)
    form = anonymous.get("/login")
    response = anonymous.post("/login", data={"login": "han\x00ako", "password": "x", "csrf": csrf_of(form.text)})
    assert response.status_code == 400 and "使えない文字" in response.text
    assert anonymous.get("/login?next=%00").status_code == 400
    admin = signed_in_client(app, "admin1")
    csrf = page_csrf(admin)
    for method, path in page_routes(app):
        if method == "GET":
            assert admin.get(concrete(path) + "?q=a%00b&year=2%00").status_code == 400, path
        else:
            assert admin.post(concrete(path), data={"csrf": csrf, "name": "a\x00b"}).status_code == 400, path
        if "{" in path:
            assert admin.request(method, concrete(path, "1%00")).status_code in (400, 404), path


def route_params(app, method, path) -> list[str]:
    """The query and form fields a route declares (however its router was included), but the CSRF token."""
    def routes(found, prefix=""):
        for route in found:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route
            elif hasattr(route, "original_router"):
                yield from routes(route.original_router.routes, prefix + getattr(route.include_context, "prefix", ""))
    route = next(r for p, r in routes(app.router.routes) if p == path and method in r.methods)
    names = set()

    def walk(dependant):
        names.update(p.alias for p in dependant.query_params + dependant.body_params)
        for sub in dependant.dependencies:
            walk(sub)
    walk(route.dependant)
    return sorted(names - {"csrf"})


@pytest.mark.parametrize("value", ["9223372036854775807", "1" * 40, "-" + "9" * 40])
def test_huge_numbers_in_ids_filters_and_forms_get_400_or_404_never_500(sessions, value):
    add_staff(sessions, "admin1", "admin")
    app = admin_app(sessions)
    admin = signed_in_client(app, "admin1")
    csrf = page_csrf(admin)
    assert admin.get(f"/bookings/{value}").status_code in (400, 404)
    for method, path in page_routes(app):
        if path in ("/login", "/logout"):
            continue
        params = route_params(app, method, path)
        fields = {name: value for name in params}
        if method == "GET":
            response = admin.get(concrete(path), params=fields)
        else:
            response = admin.post(concrete(path), data={**fields, "csrf": csrf})
        assert response.status_code < 500, (method, path, params, response.status_code)
        if "{" in path:
            response = admin.request(method, concrete(path, value), data={"csrf": csrf})
            assert response.status_code in (400, 404), (method, path, response.status_code)


def test_redirects_never_take_the_host_header(database_url, sessions):
    add_staff(sessions, "admin1", "admin")
    app = admin_app(sessions)
    client = TestClient(app, follow_redirects=False)
    evil = {"host": "evil.example"}
    for method, path in page_routes(app):
        for variant in (concrete(path), concrete(path) + "/"):
            response = client.request(method, variant, headers=evil, data={"csrf": "x"})
            assert "evil" not in response.headers.get("location", ""), (method, variant)
    from bot.app import create_app
    from tests.conftest import make_settings
    bot = TestClient(create_app(make_settings(database_url)), follow_redirects=False)
    response = bot.get("/admin", headers=evil)
    assert response.status_code in (307, 308) and response.headers["location"] == "/admin/"
    assert "evil" not in bot.get("/healthz/", headers=evil).headers.get("location", "")


# --- 13: passwords and TOTP ----------------------------------------------------------------------------

@pytest.mark.parametrize("password, problem", [
    ("short-one", "short"), ("password1234", "common"), ("Password12345!", "common"), ("qwertyuiop12", "common"),
    ("111111111111", "common"), ("hanako-is-here-1", "common"), ("correct-horse-battery", None),
    ("ゆっくり春の朝ごはんを食べる", None)])
def test_passwords_need_a_length_and_may_not_be_common(password, problem):
    assert staff.password_problem(password, login="hanako") == problem


def test_a_common_password_is_refused_on_the_staff_page_in_japanese(sessions):
    add_staff(sessions, "admin1", "admin")
    admin = signed_in_client(admin_app(sessions), "admin1")
    response = admin.post("/staff/new", data={"csrf": page_csrf(admin, "/staff"), "login": "sato", "display_name": "佐藤",
                                              "role": "staff", "password": "iloveyou1234"})
    assert response.status_code == 400 and "よく使われていて" in response.text


def test_changing_ones_own_password_asks_for_the_current_one(sessions):
    hanako = add_staff(sessions, "hanako", "staff")
    app = admin_app(sessions)
    other_device, client = signed_in_client(app, "hanako"), signed_in_client(app, "hanako")
    new = "plum-blossom-in-march"
    form = {"csrf": page_csrf(client, "/account"), "password": new, "again": new}
    response = client.post("/account/password", data={**form, "current": "not-the-password"})
    assert response.status_code == 400 and "いまのパスワードが違います" in response.text
    response = client.post("/account/password", data={**form, "current": PASSWORD, "again": new + "x"})
    assert response.status_code == 400
    assert client.post("/account/password", data={**form, "current": PASSWORD}).status_code == 303
    assert client.get("/").status_code == 200 and other_device.get("/").status_code == 303
    signed_in_client(app, "hanako", new)
    assert [e.subject for e in audit_rows(sessions, "password_changed")] == [f"staff:{hanako}"]


def test_an_administrator_enrols_totp_signs_in_with_a_code_and_another_turns_it_off(sessions):
    admin1 = add_staff(sessions, "admin1", "admin")
    add_staff(sessions, "admin2", "admin")
    add_staff(sessions, "sato", "staff")
    clock = Clock()
    app = admin_app(sessions, clock=clock)
    client = signed_in_client(app, "admin1")
    page = client.post("/account/totp", data={"csrf": page_csrf(client, "/account")}).text
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    assert "otpauth://totp/" in page and f"secret={secret}" in page
    assert secret not in client.get("/account").text  # shown once
    csrf = page_csrf(client, "/account")
    assert client.post("/account/totp/confirm", data={"csrf": csrf, "code": "000000"}).status_code == 400
    totp = pyotp.TOTP(secret)
    code = totp.at(clock.now)
    assert client.post("/account/totp/confirm", data={"csrf": csrf, "code": code}).status_code == 303

    def sign_in(code: str) -> int:
        fresh = TestClient(app, follow_redirects=False)
        return fresh.post("/login", data={"login": "admin1", "password": PASSWORD, "code": code,
                                          "csrf": csrf_of(fresh.get("/login").text)}).status_code
    assert sign_in("") == 400  # the password alone is not enough
    clock.now += timedelta(seconds=30)
    assert sign_in(code) == 400  # an old, used code is never accepted again
    assert sign_in(totp.at(clock.now)) == 303
    staff_client = signed_in_client(app, "sato")
    assert staff_client.post("/account/totp", data={"csrf": page_csrf(staff_client)}).status_code == 403
    other = signed_in_client(app, "admin2")
    staff_page = other.get("/staff").text
    assert "2段階認証を止める" in staff_page
    assert other.post(f"/staff/{admin1}/totp-off", data={"csrf": page_csrf(other, "/staff")}).status_code == 303
    clock.now += timedelta(seconds=60)
    assert sign_in("") == 303
    assert [e.action for e in audit_rows(sessions, "totp_enabled") + audit_rows(sessions, "totp_disabled")] == [
        "totp_enabled", "totp_disabled"]
    with transaction(sessions) as session:
        assert session.get(StaffUser, admin1).totp_secret is None
        assert session.query(StaffSession).count() >= 1
