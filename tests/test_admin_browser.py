"""The admin panel in a real browser: Debian's headless Chromium driven by Playwright, against the bot's
app (which mounts the panel at /admin) served by uvicorn on a local port, as staff would use it:
sign in, confirm a pending booking, record a call outcome, download the figures' CSV, open the print view.

Skipped with the reason where no browser can be launched; failed instead under REQUIRE_SERVICES=1."""
import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.local import running
from scheduling.care import care_bookings
from scheduling.care.care_bookings import Request
from scheduling.dates.calendar import jst_today
from scheduling.dates.japanese_dates import fiscal_label, fiscal_year
from scheduling.store.db import make_engine, make_sessionmaker, transaction
from scheduling.store.models import Call, CallOutcome, CareBooking, Mother, Reminder, utcnow
from tests.admin_helpers import CITY, PASSWORD, add_staff
from tests.browser_helpers import a4_pdf, chromium, pdf_pages
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def admin(tmp_path):
    """The bot (with /admin) and the LINE stand-in on local ports, on a SQLite file of their own."""
    database_url = f"sqlite:///{tmp_path / 'browser.sqlite3'}"
    with running(make_settings(database_url, HAGUKUMI_ADMIN_SECURE_COOKIES="0")) as local:
        engine = make_engine(database_url)
        try:
            yield local.bot_url + "/admin", make_sessionmaker(engine)
        finally:
            engine.dispose()


def pending_booking(sessions) -> int:
    """A day-care request waiting for staff, made through the booking service as the chat makes it."""
    now = utcnow()
    today = jst_today(now)
    answers = {"relationship": "birth", "residence": "resident", "birth_date": (today - timedelta(days=30)).isoformat(),
               "exclusions": "none", "babies": 1, "preterm": "no", "need:family_help": "yes"}
    for ahead in range(2, 40):
        request = Request("U" + uuid.uuid4().hex, "day_care", today + timedelta(days=ahead), uuid.uuid4().hex)
        with transaction(sessions) as session:
            outcome = care_bookings.request(session, config=CITY.booking, rules=CITY.rules,
                                            request=request, answers=answers, now=now)
            if outcome.ok:
                return outcome.booking.id
    raise AssertionError("no day with room for a day-care request in the next weeks")


def call_due_today(sessions) -> int:
    today = jst_today(utcnow())
    with transaction(sessions) as session:
        mother = Mother(status="pregnant", due_date=(today + timedelta(weeks=8)).isoformat(),
                        registered_on=today.isoformat(),
                        registered_via="staff", staff_ref="B-0001")
        session.add(mother)
        session.flush()
        call = Call(mother_id=mother.id, due_on=today.isoformat(), preference="afternoon")
        session.add(call)
        session.flush()
        return call.id


def test_staff_work_through_the_panel_in_a_real_browser(browser, admin, tmp_path):
    base, sessions = admin
    add_staff(sessions, "sato", "staff")
    booking_id, call_id = pending_booking(sessions), call_due_today(sessions)
    year = fiscal_year(jst_today(utcnow()))
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", accept_downloads=True)
    page = context.new_page()
    try:
        # sign in: any page leads to the sign-in form first
        page.goto(base + "/")
        assert page.url.endswith("/admin/login")
        page.get_by_label("ログインID").fill("sato")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_url(base + "/")
        assert page.locator("h1").inner_text().startswith("今日")

        # confirm the pending booking from the Today page
        page.locator(f"a[href$='/bookings/{booking_id}']").first.click()
        page.get_by_role("button", name="確定する（ご本人にお知らせします）").click()
        assert "予約を確定しました" in page.locator("[role=status]").inner_text()
        with transaction(sessions) as session:
            assert session.get(CareBooking, booking_id).status == "confirmed"
            assert "care_confirmed" in session.scalars(select(Reminder.kind).where(
                Reminder.care_booking_id == booking_id)).all()   # her push, for the dispatcher

        # record the 32-week call's outcome from the call list
        page.get_by_role("link", name="32週の電話").first.click()
        page.locator(f"a[href$='/calls/{call_id}']").click()
        page.locator("input[name=outcome][value=phone]").check()
        page.get_by_label("メモ", exact=False).fill("産後は実家の母が手伝う予定")
        page.get_by_role("button", name="記録する").click()
        assert "記録しました" in page.locator("[role=status]").inner_text()
        with transaction(sessions) as session:
            assert [o.outcome for o in session.scalars(select(CallOutcome).where(CallOutcome.call_id == call_id))] \
                == ["phone"]

        # the year's figures: choose the year, download the CSV for Excel
        page.get_by_role("link", name="実績").click()
        page.locator("select[name=year]").select_option(str(year))
        page.get_by_role("button", name="表示").click()
        assert page.locator("h1").inner_text() == f"{fiscal_label(year)} 実績"
        with page.expect_download() as download:
            page.get_by_role("link", name="CSV（Excel）をダウンロード").click()
        assert download.value.suggested_filename == f"{fiscal_label(year)}_産後ケア等実績.csv"
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
        table = {(r[1], r[2]): r[-1] for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))}
        assert table[("32週の電話", "電話")] == "1" and table[("妊娠の登録", "登録")] == "1"

        # the print view opens in a new tab, fits on one A4 page; keep a picture of it
        with context.expect_page() as opened:
            page.get_by_role("link", name="印刷用の表（A4）").click()
        report = opened.value
        report.wait_for_load_state()
        assert report.locator("h1").inner_text() == f"{fiscal_label(year)} 産後ケア事業 実績報告"
        assert CITY.name in report.locator(".report-meta").inner_text()
        report.screenshot(path=str(tmp_path / "figures-print.png"), full_page=True)
        pdf = a4_pdf(report)
        (tmp_path / "figures-print.pdf").write_bytes(pdf)
        assert pdf_pages(pdf) == 1
    finally:
        context.close()


def test_urgent_items_and_the_consult_inbox_in_a_real_browser(browser, admin, tmp_path):
    """Staff at a desk (1280 px) and on a phone (390 px): the urgent item first on 今日, handled with a note;
    the 相談 inbox, a case, a reply. Screenshots go to HAGUKUMI_SHOTS (a folder) when it is set."""
    import os
    from pathlib import Path

    from scheduling.consult import alerts, consults
    from scheduling.store.models import ConsultMessage, SafetyAlert
    base, sessions = admin
    add_staff(sessions, "sato", "staff")
    now = utcnow()
    with transaction(sessions) as session:
        alert = alerts.raise_alert(session, user_id="U" + "9" * 32, category="life", label="命の危険",
                                   body="もう消えてしまいたいです", matched="消えたい", now=now - timedelta(minutes=4))
        case = consults.open_case(session, user_id="U" + "8" * 32, topic="feelings", answer_by="phone",
                                  time_band="afternoon", phone="090-1234-5678", now=now - timedelta(hours=3)).case
        consults.add_message(session, case=case, kind="text", body="夜になると涙が止まりません。\n夫は仕事で遅いです。",
                             now=now - timedelta(hours=3))
    shots = Path(os.environ.get("HAGUKUMI_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            page.goto(base + "/login")
            page.get_by_label("ログインID").fill("sato")
            page.get_by_label("パスワード").fill(PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            page.wait_for_url(base + "/")
            urgent = page.locator("section.urgent")
            if width == 1280:
                assert urgent.count() == 1 and "もう消えてしまいたいです" in urgent.inner_text()
                page.screenshot(path=str(shots / f"today-urgent-{width}.png"), full_page=True)
                urgent.get_by_role("button", name="対応済みにする").click()   # without a note: refused by the browser
                assert page.url == base + "/"
                urgent.get_by_label("対応のメモ").fill("10:05 お電話でお話しし、夫に連絡しました")
                urgent.get_by_role("button", name="対応済みにする").click()
                assert "対応済みにしました" in page.locator("[role=status]").inner_text()
                assert page.locator("section.urgent").count() == 0
            page.get_by_role("link", name="相談", exact=True).first.click()
            page.screenshot(path=str(shots / f"consults-{width}.png"), full_page=True)
            page.locator(f"a[href$='/consults/{case.id}']").click()
            assert "夜になると涙が止まりません" in page.locator("ol.thread").inner_text()
            assert "090-1234-5678" in page.locator("table.facts").inner_text()
            if width == 1280:
                page.get_by_label("お返事", exact=False).fill("今日の午後、保健師からお電話しますね。")
                page.get_by_role("button", name="送る").click()
                assert "お返事を送りました" in page.locator("[role=status]").inner_text()
            page.screenshot(path=str(shots / f"consult-{width}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, "the page scrolls sideways"
        finally:
            context.close()
    with transaction(sessions) as session:
        assert session.get(SafetyAlert, alert.id).status == "handled"
        assert [m.body for m in session.scalars(select(ConsultMessage).where(ConsultMessage.author != "mother"))] \
            == ["今日の午後、保健師からお電話しますね。"]


@pytest.mark.slow(8)
def test_the_screenshot_script_photographs_every_page_at_both_widths(browser, tmp_path):
    from tests.panel_screenshots import PAGES, WIDTHS, take
    saved = take(tmp_path / "shots", browser)
    assert sorted(p.name for p in saved) == sorted([f"{n}-{w}.png" for n in PAGES for w in WIDTHS] + ["form-390.png"])
    assert all(p.stat().st_size > 10_000 for p in saved)


@pytest.mark.slow(25)
def test_every_panel_page_passes_axe_and_none_scrolls_sideways_on_a_phone(browser, tmp_path):
    """axe-core (axe-playwright-python) on every page an administrator can open, at 1280 and 390 px: no
    serious or critical violation, and no page wider than the phone."""
    from axe_playwright_python.sync_playwright import Axe

    from tests.panel_screenshots import PASSWORD as SHOT_PASSWORD
    from tests.panel_screenshots import seed
    url = f"sqlite:///{tmp_path / 'axe.sqlite3'}"
    with running(make_settings(url, HAGUKUMI_ADMIN_SECURE_COOKIES="0")) as local:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        ids = seed(sessions, CITY)
        with transaction(sessions) as session:
            from scheduling.accounts import staff as staff_service
            from scheduling.store.models import Provider
            staff_service.create(session, login="boss", display_name="管理者 山田", password=SHOT_PASSWORD,
                                 role="admin", actor="test", now=utcnow())
            sakura = session.scalars(select(Provider.id).where(Provider.key == "sakura")).one()
            staff_service.create(session, login="sakura-desk", display_name="さくら 受付", password=SHOT_PASSWORD,
                                 role="provider", provider_id=sakura, actor="test", now=utcnow())
        engine.dispose()
        base = local.bot_url + "/admin"
        paths = ["/", "/bookings", f"/bookings/{ids['booking']}", "/capacity", "/classes", "/classes/new",
                 "/consults", f"/consults/{ids['case']}", "/calls", "/residents", f"/residents/{ids['mother']}",
                 "/figures", "/staff", "/audit", "/account", "/applications",
                 f"/applications/{ids['application']}"]
        axe, found, wide = Axe(), {}, []
        booking = f"/bookings/{ids['booking']}"
        for login, width in (("boss", 1280), ("boss", 390), ("sakura-desk", 1280), ("sakura-desk", 390)):
            context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo",
                                          viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(base + "/login")
            page.get_by_label("ログインID").fill(login)
            page.get_by_label("パスワード").fill(SHOT_PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            page.wait_for_url(base + "/")
            page.goto(base + booking)
            said = page.locator("main").inner_text()
            if login == "boss":    # staff decide with her answers in view; the provider sees none of them
                assert "判断の材料" in said and "チャットでの回答" in said and "出産したお母さん" in said
            else:
                assert "受付番号" in said and "判断の材料" not in said and "出産したお母さん" not in said
            for path in paths if login == "boss" else ["/", "/bookings", booking]:
                page.goto(base + path)
                for violation in axe.run(page).response["violations"]:
                    if violation["impact"] in ("serious", "critical"):
                        found[(login, path, violation["id"])] = [n["target"] for n in violation["nodes"]][:3]
                if page.evaluate("document.documentElement.scrollWidth") > width + 1:
                    wide.append((login, path, width))
            context.close()
    assert found == {}, found
    assert wide == [], wide
