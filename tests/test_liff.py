"""The 利用申請 form's server (bot/liff/app.py) with LINE's verify endpoint played by the stand-in: who she
is comes only from a verified ID token; an expired token, one of another channel, a forged one or LINE
being down each get a clear Japanese answer and write nothing; drafts save and resume; writes need the
draft's token and same-origin JSON (CSRF); the server's problems come back per field; a second submit
answers the same; after her data was deleted a submit writes nothing."""
from datetime import datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.liff.app import create_liff_app, postal_address
from bot.liff.verify import TokenVerifier
from bot.standin.server import create_standin_app
from scheduling.applications import service
from scheduling.applications.models import Application
from scheduling.city.application_config import ApplicationConfig
from scheduling.dates.calendar import JST
from scheduling.records import erasure
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry
from tests.admin_helpers import CITY
from tests.application_helpers import CIPHER, valid_form

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)
LIFF_ID = "1650000000-abcdEFGH"
HER, OTHER = "U" + "c" * 32, "U" + "d" * 32


@pytest.fixture
def standin():
    app = create_standin_app(channel_secret="s", access_token="t", webhook_url="http://127.0.0.1:9/callback",
                             liff_apps={LIFF_ID: "http://testserver/liff/apply"})
    with TestClient(app) as client:
        yield client


def token(standin, user_id=HER, **more) -> str:
    return standin.post("/_standin/liff/id_token", json={"user_id": user_id, "liff_id": LIFF_ID, **more}).json()["id_token"]


def liff_client(sessions, standin, *, base_url="http://line.example"):
    verifier = TokenVerifier(base_url=base_url, client_id=LIFF_ID.split("-")[0],
                             transport=httpx.ASGITransport(app=standin.app))
    app = create_liff_app(sessions=sessions, city=CITY, verifier=verifier, cipher_of=lambda: CIPHER, liff_id=LIFF_ID,
                          sdk_url="https://static.line-scdn.net/liff/edge/2/sdk.js", config=ApplicationConfig(),
                          clock=lambda: NOW)
    return TestClient(app)


@pytest.fixture
def form(sessions, standin):
    return liff_client(sessions, standin)


def auth(id_token: str, draft: str | None = None, **more) -> dict:
    headers = {"Authorization": f"Bearer {id_token}", **more}
    if draft is not None:
        headers["X-Draft-Token"] = draft
    return headers


def applications(sessions) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(Application))


def test_a_verified_token_opens_her_draft(form, standin, sessions):
    mine = token(standin)
    answer = form.get("/api/application", headers=auth(mine))
    assert answer.status_code == 200 and answer.json()["state"] == "draft" and answer.json()["draft_token"]
    assert form.get("/api/application", headers=auth(mine)).json()["draft_token"] == answer.json()["draft_token"]
    with transaction(sessions) as session:
        assert session.scalars(select(Application.user_id)).all() == [HER]


@pytest.mark.parametrize(("make", "status", "words"), [
    (lambda standin: token(standin, expires_in=-5), 401, "時間がたった"),
    (lambda standin: token(standin, client_id="1999999999"), 401, "確かめられませんでした"),
    (lambda standin: token(standin)[:-4] + "AAAA", 401, "確かめられませんでした"),
    (lambda standin: "", 401, "LINEのアプリから開いてください"),
])
def test_a_bad_token_gets_a_clear_answer_and_nothing_is_saved(form, standin, sessions, make, status, words):
    bad = make(standin)
    for method, path in (("GET", "/api/application"), ("PUT", "/api/application/draft"),
                         ("POST", "/api/application/submit")):
        answer = form.request(method, path, headers=auth(bad, "x"), json={"values": valid_form()})
        assert answer.status_code == status and words in answer.json()["message"], (method, answer.text)
    assert applications(sessions) == 0


@pytest.mark.faults
def test_line_down_gets_a_clear_answer_and_nothing_is_saved(sessions, standin):
    mine = token(standin)
    down = TestClient(create_liff_app(
        sessions=sessions, city=CITY, verifier=TokenVerifier(base_url="http://127.0.0.1:9", client_id="1650000000"),
        cipher_of=lambda: CIPHER, liff_id=LIFF_ID, sdk_url="https://x.example/sdk.js", config=ApplicationConfig(),
        clock=lambda: NOW))
    answer = down.get("/api/application", headers=auth(mine))
    assert answer.status_code == 503 and "LINEとの確認ができない" in answer.json()["message"]
    standin.post("/_standin/faults", json={"endpoint": "verify", "status": 500, "count": 1})
    form = liff_client(sessions, standin)
    answer = form.get("/api/application", headers=auth(mine))
    assert answer.status_code == 503
    assert applications(sessions) == 0
    assert form.get("/api/application", headers=auth(mine)).status_code == 200   # LINE back: it works


def test_a_verified_token_is_asked_of_line_once(form, standin):
    mine = token(standin)
    for _ in range(3):
        assert form.get("/api/application", headers=auth(mine)).status_code == 200
    assert len([r for r in standin.get("/_standin/requests").json() if r["endpoint"] == "verify"]) == 1


def test_a_draft_saves_as_she_goes_and_a_forged_user_id_is_ignored(form, standin, sessions):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    saved = form.put("/api/application/draft", headers=auth(mine, draft),
                     json={"values": {"mother_name": "山田 花子", "user_id": OTHER}, "user_id": OTHER})
    assert saved.status_code == 200
    again = form.get("/api/application", headers=auth(token(standin)))
    assert again.json()["values"] == {"mother_name": "山田 花子"}
    with transaction(sessions) as session:
        assert session.scalars(select(Application.user_id)).all() == [HER]


def test_another_mothers_draft_token_is_refused(form, standin, sessions):
    hers = form.get("/api/application", headers=auth(token(standin))).json()["draft_token"]
    other = token(standin, OTHER)
    answer = form.put("/api/application/draft", headers=auth(other, hers), json={"values": {"mother_name": "x"}})
    assert answer.status_code == 409 and "見つかりませんでした" in answer.json()["message"]
    answer = form.post("/api/application/submit", headers=auth(other, hers), json={"values": valid_form()})
    assert answer.status_code == 409
    with transaction(sessions) as session:
        assert service.form_of(service.current(session, user_id=HER), CIPHER) == {}


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({}, {"values": {"mother_name": "x"}}, 409),                                  # no draft token
    ({"Origin": "https://evil.example"}, {"values": {"mother_name": "x"}}, 403),  # another site's page
    ({"Content-Type": "application/x-www-form-urlencoded"}, "values=x", 415),     # a cross-site form
    ({"Content-Type": "application/json"}, "[1, 2]", 400),
])
def test_writes_are_csrf_safe(form, standin, sessions, headers, body, status):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    sent = auth(mine, None if status == 409 else draft, **headers)
    if isinstance(body, dict):
        answer = form.put("/api/application/draft", headers=sent, json=body)
    else:
        answer = form.put("/api/application/draft", headers=sent, content=body)
    assert answer.status_code == status, answer.text
    with transaction(sessions) as session:
        assert service.form_of(service.current(session, user_id=HER), CIPHER) == {}


def test_a_10000_character_name_gets_a_clear_answer_and_writes_nothing(form, standin, sessions):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    saved = form.put("/api/application/draft", headers=auth(mine, draft), json={"values": {"mother_name": "花" * 10_000}})
    assert saved.status_code == 422 and saved.json()["problems"] == {"mother_name": "40文字までで入力してください。"}
    sent = form.post("/api/application/submit", headers=auth(mine, draft),
                     json={"values": valid_form(mother_name="花" * 10_000)})
    assert sent.status_code == 422 and set(sent.json()["problems"]) == {"mother_name"}
    with transaction(sessions) as session:
        row = service.current(session, user_id=HER)
        assert row.state == "draft" and service.form_of(row, CIPHER) == {}


def test_a_body_too_large_is_refused(form, standin):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    answer = form.put("/api/application/draft", headers=auth(mine, draft),
                      json={"values": {"address": "あ" * 70_000}})
    assert answer.status_code == 413


def test_each_problem_comes_back_beside_its_field_then_a_fixed_form_is_sent_once(form, standin, sessions):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    wrong = valid_form(mother_name="花" * 10_000, postal_code="000-0000", phone="12", consent=False)
    answer = form.post("/api/application/submit", headers=auth(mine, draft), json={"values": wrong})
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert problems == {"mother_name": "40文字までで入力してください。",
                        "postal_code": "この郵便番号は見つかりませんでした。番号をご確認ください。",
                        "phone": "電話番号として読み取れませんでした。例：090-1234-5678",
                        "consent": "申請には、同意のチェックが必要です。"}
    assert "4か所" in answer.json()["message"]
    english = form.post("/api/application/submit", headers=auth(mine, draft, **{"X-Hagukumi-Language": "en"}),
                        json={"values": wrong})
    assert english.json()["problems"]["phone"].startswith("We could not read this as a phone number")
    with transaction(sessions) as session:
        assert service.current(session, user_id=HER).state == "draft"
    done = form.post("/api/application/submit", headers=auth(mine, draft), json={"values": valid_form()})
    assert done.status_code == 200 and done.json()["state"] == "submitted" and not done.json()["again"]
    again = form.post("/api/application/submit", headers=auth(mine, draft), json={"values": valid_form()})
    assert again.status_code == 200 and again.json()["again"]
    assert form.get("/api/application", headers=auth(mine)).json()["state"] == "submitted"
    closed = form.put("/api/application/draft", headers=auth(mine, draft), json={"values": {"mother_name": "x"}})
    assert closed.status_code == 409 and "すでに送られています" in closed.json()["message"]
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "application_submitted")) == 1


def test_a_submit_after_her_data_was_deleted_writes_nothing(form, standin, sessions):
    mine = token(standin)
    draft = form.get("/api/application", headers=auth(mine)).json()["draft_token"]
    with transaction(sessions) as session:
        erasure.delete_user_data(session, config=CITY.booking, user_id=HER, now=NOW)
    answer = form.post("/api/application/submit", headers=auth(mine, draft), json={"values": valid_form()})
    assert answer.status_code == 409 and "データを削除" in answer.json()["message"]
    assert applications(sessions) == 0


def test_postal_code_to_address():
    assert postal_address("1000001") == "東京都千代田区千代田"
    assert postal_address("0000000") is None


def test_the_postal_lookup_answers_the_page(form):
    assert form.get("/api/postal/100-0001").json() == {"address": "東京都千代田区千代田"}
    assert form.get("/api/postal/0000000").status_code == 404
    assert form.get("/api/postal/abc").status_code == 404


def test_the_page_is_the_citys_in_her_language_under_a_strict_csp(form):
    page = form.get("/apply")
    assert page.status_code == 200 and "産後ケア 利用申請" in page.text and "この内容で申請する" in page.text
    assert "はぐくみ市" in page.text   # the city's consent text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' https://static.line-scdn.net;" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    english = form.get("/apply?lang=en")
    assert "Send the application" in english.text and 'lang="en"' in english.text
