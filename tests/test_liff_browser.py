"""The 利用申請 form in a real browser at a phone's width (390 px, Debian's Chromium driven by Playwright),
opened as from the chat's button through the stand-in's LIFF: she types, leaves and comes back to her
draft, hits a problem shown beside its field, fixes it and sends; a bad ID token gets a clear answer and a
user id forged by the page is never taken. Screenshots go to HAGUKUMI_SCREENSHOTS (if set) for a person.

Skipped with the reason where no browser can be launched; failed instead under REQUIRE_SERVICES=1."""
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.local import running
from scheduling.applications import service
from scheduling.applications.crypto import Cipher
from scheduling.applications.models import Application
from scheduling.city.application_config import ApplicationConfig
from scheduling.store.db import make_engine, make_sessionmaker, transaction
from scheduling.store.models import utcnow
from tests.admin_helpers import PASSWORD, add_staff
from tests.application_helpers import postal, valid_form
from tests.browser_helpers import a4_pdf, chromium, pdf_pages
from tests.conftest import DATA_KEY, make_settings
from tests.helpers import wait_for

MOTHER, OTHER = "U" + "f" * 32, "U" + "9" * 32
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "ja-JP"}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def live(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'liff.sqlite3'}"
    with running(make_settings(database_url, HAGUKUMI_ADMIN_SECURE_COOKIES="0")) as servers:
        engine = make_engine(database_url)
        try:
            yield servers, make_sessionmaker(engine)
        finally:
            engine.dispose()


def shot(page, name: str, tmp_path: Path, full_page: bool = True) -> None:
    folder = Path(os.environ.get("HAGUKUMI_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"liff-{name}.png"), full_page=full_page)


def until(check, timeout: float = 8.0) -> bool:
    """Wait for the page without evaluating a string (the page's CSP forbids eval, as it should)."""
    return bool(wait_for(check, timeout=timeout))


def applications(sessions):
    with sessions() as session:
        return session.scalars(select(Application)).all()


def test_she_fills_the_form_on_her_phone_fixes_a_problem_and_sends_it(browser, live, tmp_path):
    servers, sessions = live
    context = browser.new_context(**PHONE)
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))   # a script error (a 422 is not one)
    page.goto(servers.form_url(MOTHER))
    page.wait_for_selector("#form:not([hidden])")
    assert "#standin_id_token" not in page.url   # the SDK took the token out of the address
    shot(page, "0-first-screen", tmp_path, full_page=False)   # what her phone shows first
    shot(page, "1-empty", tmp_path)
    for button in page.query_selector_all("button.primary:visible, label.choice"):
        box = button.bounding_box()
        assert box["height"] >= 48, button.inner_text()   # large enough for a thumb

    page.fill("#mother_name", "山田 花子")
    page.fill("#mother_kana", "やまだ はなこ")
    page.fill("#mother_birth_date", "1994-05-06")
    page.fill("#postal_code", "1000001")
    assert until(lambda: page.input_value("#address").startswith("東京都千代田区千代田"))   # from the postal code
    page.fill("#address", "東京都千代田区千代田1-1")
    page.fill("#phone", "12")   # a mistake
    assert until(lambda: page.inner_text("#save-state") == "入力した内容を保存しました")   # saved as she goes

    page.goto(servers.form_url(MOTHER))   # interrupted: she opens it again from the chat
    page.wait_for_selector("#form:not([hidden])")
    assert page.input_value("#mother_name") == "山田 花子" and page.input_value("#phone") == "12"
    page.check("input[name=baby_born][value=yes]")
    page.fill("#baby_name", "山田 陽菜")
    page.fill("#baby_kana", "ヤマダ ヒナ")
    page.fill("#baby_birth_date", "2026-11-01")
    page.fill("#birth_weight_g", "2980")
    page.fill("#weeks_at_birth", "39")
    page.check("input[name=care_types][value=day_care]")
    page.check("input[name=household][value=taxed]")
    page.check("#consent")
    page.click("#submit")
    page.wait_for_selector("#e-phone:not([hidden])")
    assert "電話番号として読み取れませんでした" in page.inner_text("#e-phone")
    assert page.get_attribute("#phone", "aria-invalid") == "true"
    assert "1か所" in page.inner_text("#summary")
    assert page.evaluate("document.activeElement.id") == "phone"
    shot(page, "2-problem", tmp_path)
    assert [row.state for row in applications(sessions)] == ["draft"]

    page.fill("#phone", "090-1234-5678")
    page.click("#submit")
    page.wait_for_selector("#done:not([hidden])")
    assert "申請を受け付けました" in page.inner_text("#done")
    shot(page, "3-sent", tmp_path)
    [row] = applications(sessions)
    assert (row.user_id, row.state, row.baby_birth_date) == (MOTHER, "submitted", "2026-11-01")
    page.click("#close")
    assert page.get_attribute("html", "data-liff-closed") == "true"
    assert problems == []
    context.close()


def test_a_bad_token_or_a_forged_user_id_is_refused(browser, live, tmp_path):
    servers, sessions = live
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{servers.bot_url}/liff/apply#standin_id_token=forged.token.here")
    page.wait_for_selector("#notice:not([hidden])")
    assert "確かめられませんでした" in page.inner_text("#notice") and page.is_hidden("#form")
    shot(page, "4-refused", tmp_path)
    assert applications(sessions) == []

    page.goto(servers.form_url(MOTHER))
    page.wait_for_selector("#form:not([hidden])")
    status = page.evaluate("""async (other) => {
        const token = liff.getIDToken();
        const mine = await fetch('/liff/api/application', {headers: {Authorization: 'Bearer ' + token}});
        const draft = (await mine.json()).draft_token;
        const answer = await fetch('/liff/api/application/draft', {method: 'PUT', headers: {
            Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'X-Draft-Token': draft},
            body: JSON.stringify({user_id: other, values: {mother_name: '別人', user_id: other}})});
        const stranger = await fetch('/liff/api/application', {headers: {Authorization: 'Bearer ' + token + 'x'}});
        return [answer.status, stranger.status];
    }""", OTHER)
    assert status == [200, 401]
    assert [row.user_id for row in applications(sessions)] == [MOTHER]
    context.close()


def test_staff_approve_and_the_notice_prints_on_one_a4_page(browser, live, tmp_path):
    servers, sessions = live
    now = utcnow()
    with transaction(sessions) as session:
        row = service.start(session, user_id=MOTHER, now=now, cipher=Cipher([DATA_KEY]))
        assert service.submit(session, user_id=MOTHER, draft_token=row.draft_token, form=valid_form(), now=now,
                              cipher=Cipher([DATA_KEY]), config=ApplicationConfig(), postal_lookup=postal).ok
        application_id = row.id
    add_staff(sessions, "sato", "staff")
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    page = context.new_page()
    try:
        base = servers.bot_url + "/admin"
        page.goto(base + "/")
        page.get_by_label("ログインID").fill("sato")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(base + "/")
        page.get_by_role("link", name="利用申請").first.click()
        page.locator(f"a[href$='/applications/{application_id}']").click()
        page.get_by_role("button", name="利用を承認する").click()
        assert "利用を承認しました" in page.locator("[role=status]").inner_text()
        shot(page, "5-staff-approved", tmp_path)
        with context.expect_page() as opened:
            page.get_by_role("link", name="利用承認通知書を印刷する（A4）").click()
        sheet = opened.value
        sheet.wait_for_load_state()
        assert sheet.locator("h1").inner_text() == "産後ケア事業利用承認通知書"
        assert "山田 花子 様" in sheet.inner_text("body")
        shot(sheet, "6-notice", tmp_path)
        pdf = a4_pdf(sheet)
        assert pdf_pages(pdf) == 1
    finally:
        context.close()
