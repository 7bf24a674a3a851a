"""Screenshots of the staff panel as staff see it, at a desk (1280 px) and on a phone (390 px): 今日 with an
urgent item, a 相談 and a stay in progress, a booking with the facts to decide with, a 相談, the figures, the
利用申請 waiting for a decision; and the mother's 利用申請 form (LIFF) as her phone shows it (form-390.png).

    scripts/screenshots [FOLDER]        (default: screenshots/; needs Debian's Chromium, see README)

It runs the bot on a SQLite file of its own, seeds a believable day through the services (as the chat and
staff would make it), signs in as a staff member and saves one PNG per page and width. The browser test
runs it too, so it keeps working."""
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from bot.local import running
from scheduling.accounts import staff
from scheduling.applications import service as application_service
from scheduling.applications.crypto import Cipher
from scheduling.care import care_bookings
from scheduling.care.care_bookings import Request
from scheduling.city.application_config import ApplicationConfig
from scheduling.city.city_file import load_city
from scheduling.consult import alerts, consults
from scheduling.dates.calendar import jst_today, provider_open
from scheduling.family import mothers, screenings
from scheduling.store.db import make_engine, make_sessionmaker, transaction
from scheduling.store.models import utcnow
from tests.browser_helpers import chromium
from tests.conftest import DATA_KEY, make_settings

PASSWORD = "screenshots-only-password"
WIDTHS = (1280, 390)
PAGES = ("today", "booking", "consults", "consult", "figures", "applications", "application")


def seed(sessions, city) -> dict:
    """A requested stay (screened in the chat), an urgent item, an open 相談 and a registration."""
    now = utcnow()
    today = jst_today(now)
    config, rules = city.booking, city.rules
    born = (today - timedelta(days=40)).isoformat()
    answers = {"relationship": "birth", "residence": "resident", "birth_date": born, "exclusions": "none",
               "babies": 1, "preterm": "no", "need:family_help": "yes"}
    with transaction(sessions) as session:
        staff.create(session, login="sato", display_name="保健師 佐藤", password=PASSWORD, role="staff",
                     actor="screenshots", now=now)
        mother = mothers.register_pregnancy(session, config=city.pregnancy, user_id="U" + "a" * 32,
                                            due_date=today + timedelta(days=70), babies=1, first_baby=True, now=now)
        mother.phone = "090-1234-5678"
        screenings.record(session, user_id="U" + "b" * 32, answers=answers, decision={}, rules_version="令和8年度",
                          care_date=today.isoformat(), now=now, source_event_id=None)
        screening = screenings.of_user(session, user_id="U" + "b" * 32)[-1]
        day = today + timedelta(days=3)
        while not provider_open(config.provider("sakura"), day):
            day += timedelta(days=1)
        outcome = care_bookings.request(session, config=config, rules=rules, answers=answers, now=now,
                                        request=Request("U" + "b" * 32, "short_stay", day, uuid.uuid4().hex, "sakura", 2),
                                        screening_id=screening.id)
        alerts.raise_alert(session, user_id="U" + "a" * 32, category="life", label="命の危険",
                           body="もう消えてしまいたいです",
                           matched="消えたい", now=now - timedelta(minutes=6))
        case = consults.open_case(session, user_id="U" + "c" * 32, topic="feelings", answer_by="phone",
                                  time_band="afternoon", phone="080-1111-2222", now=now - timedelta(hours=2)).case
        consults.add_message(session, case=case, kind="text", body="夜になると涙が止まりません。\n夫は帰りが遅いです。",
                             now=now - timedelta(hours=2))
        cipher = Cipher([DATA_KEY])
        form = application_service.start(session, user_id="U" + "b" * 32, now=now, cipher=cipher)
        sent = application_service.submit(
            session, user_id="U" + "b" * 32, draft_token=form.draft_token, now=now, cipher=cipher,
            config=ApplicationConfig(), postal_lookup=lambda code: "東京都千代田区千代田",
            form={"mother_name": "山田 花子", "mother_kana": "ヤマダ ハナコ", "mother_birth_date": "1994-05-06",
                  "postal_code": "100-0001", "address": "東京都千代田区千代田1-1 はぐくみハイツ203",
                  "phone": "090-1234-5678", "baby_born": "yes", "baby_name": "山田 陽菜", "baby_kana": "ヤマダ ヒナ",
                  "baby_birth_date": born, "birth_weight_g": "2980", "weeks_at_birth": "39",
                  "care_types": ["short_stay", "day_care"], "household": "taxed", "consent": True})
        assert sent.ok, sent.problems
        return {"booking": outcome.booking.id, "case": case.id, "mother": mother.id, "application": form.id}


def take(folder: Path, browser=None) -> list[Path]:
    """Every page at every width into `folder`; with a launched `browser`, or one launched here."""
    if browser is None:
        with chromium() as launched:
            return take(folder, launched)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'screenshots.sqlite3'}"
        city = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
        with running(make_settings(url, HAGUKUMI_ADMIN_SECURE_COOKIES="0")) as local:
            engine = make_engine(url)
            ids = seed(make_sessionmaker(engine), city)
            engine.dispose()
            base = local.bot_url + "/admin"
            paths = {"today": "/", "booking": f"/bookings/{ids['booking']}", "consults": "/consults",
                     "consult": f"/consults/{ids['case']}", "figures": "/figures", "applications": "/applications",
                     "application": f"/applications/{ids['application']}"}
            saved = []
            for width in WIDTHS:
                context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo",
                                              viewport={"width": width, "height": 900})
                page = context.new_page()
                page.goto(base + "/login")
                page.get_by_label("ログインID").fill("sato")
                page.get_by_label("パスワード").fill(PASSWORD)
                page.get_by_role("button", name="ログイン").click()
                page.wait_for_url(base + "/")
                for name in PAGES:
                    page.goto(base + paths[name])
                    path = folder / f"{name}-{width}.png"
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
                context.close()
            phone = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True, device_scale_factor=2)
            form_page = phone.new_page()
            form_page.goto(local.form_url("U" + "d" * 32))
            form_page.wait_for_selector("#form:not([hidden])")
            form_page.screenshot(path=str(folder / "form-390.png"))
            saved.append(folder / "form-390.png")
            phone.close()
    return saved


if __name__ == "__main__":
    for path in take(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")):
        print(path)
