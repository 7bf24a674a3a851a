"""The staff side of 相談 and of the safety net's urgent items, on SQLite and PostgreSQL: the inbox, a
case's thread, a reply (a push to her), closing, urgent items first on 今日 handled with a note,
providers kept out, every read audited, the figures with 相談."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scheduling.chat.consult_desk import ConsultDesk
from scheduling.consult import alerts, consults
from scheduling.dates.calendar import JST
from scheduling.family import mothers
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, Reminder
from tests.admin_helpers import CITY, add_staff, admin_app, page_csrf, signed_in_client

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=JST)
MOTHER = "U" + "3" * 32


@pytest.fixture
def app(sessions):
    return admin_app(sessions, clock=lambda: NOW)


@pytest.fixture
def staff(app, sessions):
    add_staff(sessions, "sato", "staff")
    return signed_in_client(app, "sato")


def open_case(sessions, text="夜になると涙が止まりません", when=NOW - timedelta(hours=2, minutes=5)):
    with transaction(sessions) as session:
        case = ConsultDesk(session, MOTHER, now=when).start(topic="feelings", answer_by="phone", source="menu",
                                                            time_band="afternoon", phone="090-1234-5678")
        ConsultDesk(session, MOTHER, now=when).add(kind="text", body=text)
        ConsultDesk(session, MOTHER, now=when).add(kind="image", body="")
        return case.id


def test_the_inbox_and_a_case_with_its_thread_waiting_time_and_phone(staff, sessions):
    case_id = open_case(sessions)
    html = staff.get("/consults").text
    assert f"相談{case_id}" in html and "気持ちのこと" in html and "2時間5分" in html and "電話で（平日の午後）" in html
    html = staff.get(f"/consults/{case_id}").text
    assert "夜になると涙が止まりません" in html and "090-1234-5678" in html
    assert "画像が送られました" in html and "妊娠・出産の登録はありません" in html
    with transaction(sessions) as session:
        viewed = session.scalars(select(AuditEntry).where(AuditEntry.action == "consult_viewed")).all()
        assert [e.subject for e in viewed] == [f"consult:{case_id}"]


def test_a_reply_goes_to_her_as_a_push_and_the_case_is_closed_with_a_category(staff, sessions):
    case_id = open_case(sessions)
    csrf = page_csrf(staff, f"/consults/{case_id}")
    empty = staff.post(f"/consults/{case_id}/reply", data={"csrf": csrf, "body": "   "})
    assert empty.status_code == 400 and "お返事を入力してください" in empty.text
    done = staff.post(f"/consults/{case_id}/reply", data={"csrf": csrf, "body": "午後にお電話しますね。"})
    assert done.status_code == 303
    html = staff.get(done.headers["location"].removeprefix("http://testserver")).text
    assert "お返事を送りました" in html and "午後にお電話しますね。" in html and "まだ読まれていません" in html
    with transaction(sessions) as session:
        [push] = session.scalars(select(Reminder).where(Reminder.user_id == MOTHER)).all()
        assert push.kind == "consult_reply" and push.status == "pending"
    no_category = staff.post(f"/consults/{case_id}/close", data={"csrf": csrf, "category": ""})
    assert no_category.status_code == 400 and "区分を選んでください" in no_category.text
    assert staff.post(f"/consults/{case_id}/close", data={"csrf": csrf, "category": "feelings"}).status_code == 303
    assert "終了（気持ち・こころ" in staff.get(f"/consults/{case_id}").text
    assert staff.post(f"/consults/{case_id}/reply", data={"csrf": csrf, "body": "追伸"}).status_code == 400
    assert f"相談{case_id}" in staff.get("/consults?status=closed").text


def test_her_registration_links_from_the_case(staff, sessions):
    with transaction(sessions) as session:
        mother = mothers.register_pregnancy(session, config=CITY.pregnancy, user_id=MOTHER,
                                            due_date=NOW.date() + timedelta(days=60), babies=1, first_baby=True,
                                            now=NOW)
    case_id = open_case(sessions)
    assert f"/residents/{mother.id}" in staff.get(f"/consults/{case_id}").text


def test_urgent_items_come_first_on_today_and_are_handled_with_a_note(staff, sessions):
    with transaction(sessions) as session:
        alert = alerts.raise_alert(session, user_id=MOTHER, category="life", label="本人の命の危険",
                                   body="もう消えたいです", matched="消えたい", now=NOW - timedelta(minutes=3))
    open_case(sessions)
    html = staff.get("/").text
    assert "至急" in html and "もう消えたいです" in html and "本人の命の危険" in html
    assert html.index("至急") < html.index("受付中の相談") < html.index("確認待ちの予約")
    csrf = page_csrf(staff)
    without_note = staff.post(f"/alerts/{alert.id}/handled", data={"csrf": csrf, "note": ""})
    assert "alert_problem=note" in without_note.headers["location"]
    assert "もう消えたいです" in staff.get("/").text
    handled = staff.post(f"/alerts/{alert.id}/handled", data={"csrf": csrf, "note": "10時に電話、ご家族と話した"})
    assert handled.status_code == 303 and "alert_done=1" in handled.headers["location"]
    assert "もう消えたいです" not in staff.get("/").text
    with transaction(sessions) as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "alert_handled")).first() is not None


def test_providers_never_see_consults_or_urgent_items(app, sessions):
    add_staff(sessions, "sakura-clinic", "provider", provider_key="sakura")
    provider = signed_in_client(app, "sakura-clinic")
    case_id = open_case(sessions)
    with transaction(sessions) as session:
        alert = alerts.raise_alert(session, user_id=MOTHER, category="violence", label="暴力・虐待", body="叩かれます",
                                   matched="叩かれ", now=NOW)
    assert provider.get("/consults").status_code == 403
    assert provider.get(f"/consults/{case_id}").status_code == 403
    today = provider.get("/").text
    assert "叩かれます" not in today and "相談" not in re.sub(r"<nav>.*?</nav>", "", today, flags=re.S)
    csrf = page_csrf(provider)
    assert provider.post(f"/alerts/{alert.id}/handled", data={"csrf": csrf, "note": "x"}).status_code == 403
    assert provider.post(f"/consults/{case_id}/reply", data={"csrf": csrf, "body": "x"}).status_code == 403


def test_the_figures_page_csv_and_print_count_consults(staff, sessions):
    with transaction(sessions) as session:
        for topic in ("feelings", "baby"):
            case = consults.open_case(session, user_id=MOTHER, topic=topic, answer_by="line",
                                      now=datetime(2026, 6, 3, 10, tzinfo=JST)).case
            consults.close(session, case_id=case.id, staff="staff:1", category="other", now=NOW)
    html = staff.get("/figures?year=2026").text
    total = re.search(r'data-topic="total" data-item="延べ件数（件）">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', total)[-1] == "2"
    persons = re.search(r'data-topic="total" data-item="実人数（人）">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', persons)[-1] == "1"
    csv = staff.get("/figures.csv?year=2026").content.decode("utf-8-sig")
    assert "令和8年度,相談 合計,延べ件数,件,0,0,2," in csv
    assert "4 相談" in staff.get("/figures/print?year=2026").text


def test_words_nothing_understood_are_listed_for_a_person_to_read_apart_from_urgent_items(staff, sessions):
    with transaction(sessions) as session:
        note = alerts.raise_alert(session, user_id=MOTHER, category=alerts.UNREAD_WORDS,
                                  label="自動で分類できなかったことば",
                                  body="明日の朝が来なければいいのに", matched="", now=NOW)
        assert alerts.open_alerts(session) == [] and [a.id for a in alerts.words_to_read(session)] == [note.id]
    html = staff.get("/").text
    assert "至急" not in html and "自動で分類できなかったもの 1件" in html and "明日の朝が来なければいいのに" in html
    csrf = page_csrf(staff)
    assert staff.post(f"/alerts/{note.id}/handled", data={"csrf": csrf, "note": "確認しました"}).status_code == 303
    assert "明日の朝が来なければいいのに" not in staff.get("/").text
