"""The staff's 利用申請 pages: the list (waiting ones first), an application beside the screening's answers,
利用承認 with a number and a period and 差し戻し with a reason (one push each), the A4 notice; the booking
page's 申請なし / 承認待ち / her name and phone; a provider sees, for its own bookings only, her name, kana,
phone and the baby's name and birth date, and no health answer nor household; every read is audited."""
from datetime import date

import pytest
from sqlalchemy import select

from scheduling.family import screenings
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, Reminder
from tests.admin_helpers import add_staff, signed_in_client
from tests.test_admin_pages import NOW, Clock, book_care, post, submitted_application


@pytest.fixture
def app(sessions):
    from tests.admin_helpers import admin_app
    return admin_app(sessions, clock=Clock(NOW))


def rows(sessions, query):
    with transaction(sessions) as session:
        return list(session.scalars(query))


def reads(sessions, subject=None):
    query = select(AuditEntry).where(AuditEntry.action == "application_read")
    if subject:
        query = query.where(AuditEntry.subject == subject)
    return rows(sessions, query)


def test_the_list_puts_waiting_ones_first_and_every_read_is_audited(sessions, app):
    first = submitted_application(sessions, "U1")
    second = submitted_application(sessions, "U2")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert post(client, f"/applications/{first}/approve").status_code == 303
    page = client.get("/applications").text
    assert page.index(f"/applications/{second}") < page.index(f"/applications/{first}")
    assert "承認待ち 1件" in page and "山田 花子" in page
    assert len(reads(sessions, "applications")) >= 1
    before = len(reads(sessions, f"application:{second}"))
    shown = client.get(f"/applications/{second}").text
    assert "東京都千代田区千代田1-1" in shown and "090-1234-5678" in shown and "課税世帯" in shown
    assert len(reads(sessions, f"application:{second}")) == before + 1
    boss = signed_in_client(app, "boss") if add_staff(sessions, "boss", "admin") else None
    trail = boss.get("/audit").text
    assert f"利用申請{second}" in trail and "見た画面: 申請の内容" in trail


def test_the_application_is_beside_the_screenings_answers(sessions, app):
    with transaction(sessions) as session:
        screenings.record(session, user_id="U1", rules_version="2026", care_date="2026-12-01",
                          answers={"relationship": "birth", "birth_date": "2026-11-01", "household": "taxed"},
                          decision={}, now=NOW)
    application_id = submitted_application(sessions, "U1")
    add_staff(sessions, "hanako", "staff")
    page = signed_in_client(app, "hanako").get(f"/applications/{application_id}").text
    assert "チャットでの回答" in page and "side-by-side" in page
    assert page.count("<table") >= 2


def test_approval_and_return_tell_her_once_each(sessions, app):
    approved, returned = submitted_application(sessions, "U1"), submitted_application(sessions, "U2")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert post(client, f"/applications/{approved}/approve").status_code == 303
    again = post(client, f"/applications/{approved}/approve")
    assert again.status_code == 409 and "すでに状態が変わっています" in again.text
    page = client.get(f"/applications/{approved}?done=approved").text
    assert "令和8年度第1号" in page and "令和8年12月1日〜令和9年10月31日" in page
    empty = post(client, f"/applications/{returned}/return", {"reason": "  "})
    assert empty.status_code == 400 and "差し戻しの理由を入力してください" in empty.text
    assert post(client, f"/applications/{returned}/return", {"reason": "番地をご確認ください"}).status_code == 303
    assert post(client, f"/applications/{returned}/return", {"reason": "x"}).status_code == 409
    pushes = rows(sessions, select(Reminder).where(Reminder.kind.like("application_%")).order_by(Reminder.id))
    assert [(p.kind, p.user_id) for p in pushes] == [("application_approved", "U1"), ("application_returned", "U2")]
    assert "番地をご確認ください" in pushes[1].message
    decided = rows(sessions, select(AuditEntry.action).where(AuditEntry.action.in_(
        ("application_approved", "application_returned"))))
    assert sorted(decided) == ["application_approved", "application_returned"]


def test_the_notice_prints_for_an_approved_one_only(sessions, app):
    application_id = submitted_application(sessions, "U1")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert client.get(f"/applications/{application_id}/notice").status_code == 404
    post(client, f"/applications/{application_id}/approve")
    sheet = client.get(f"/applications/{application_id}/notice")
    assert sheet.status_code == 200 and "産後ケア事業利用承認通知書" in sheet.text
    assert "令和8年度第1号" in sheet.text and "山田 花子 様" in sheet.text and "〒100-0001" in sheet.text
    assert reads(sessions, f"application:{application_id}")[-1].after.count("利用承認通知書") == 1


def test_the_booking_page_says_who_she_is(sessions, app):
    none_yet = book_care(sessions, user="U1")
    waiting = book_care(sessions, user="U2", start=date(2026, 12, 8))
    submitted_application(sessions, "U2")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert "申請なし" in client.get(f"/bookings/{none_yet}").text
    page = client.get(f"/bookings/{waiting}").text
    assert "承認待ち" in page and "山田 花子" in page and "090-1234-5678" in page
    listing = client.get("/bookings").text
    assert "申請なし" in listing and "承認待ち" in listing and "山田" not in listing   # the list shows no name
    assert any(f'"booking": {waiting}' in (entry.after or "") for entry in reads(sessions))


def test_a_provider_sees_her_contact_for_its_own_bookings_only(sessions, app):
    with transaction(sessions) as session:
        screenings.record(session, user_id="U2", rules_version="2026", care_date="2026-12-01",
                          answers={"relationship": "birth", "birth_date": "2026-11-01", "household": "tax_exempt",
                                   "exclusions": "none"}, decision={}, now=NOW)
    own = book_care(sessions, user="U2", provider="sakura")
    others = book_care(sessions, user="U2", provider="hinata", start=date(2026, 12, 9))
    submitted_application(sessions, "U2")
    provider_id = add_staff(sessions, "sakura", "provider", provider_key="sakura")
    client = signed_in_client(app, "sakura")
    page = client.get(f"/bookings/{own}").text
    for shown in ("山田 花子", "ヤマダ ハナコ", "090-1234-5678", "山田 陽菜", "令和8年11月1日生まれ"):
        assert shown in page, shown
    for hidden in ("課税", "非課税", "千代田", "1994", "チャットでの回答", "判断の材料", "世帯", "利用申請</th>"):
        assert hidden not in page, hidden
    assert client.get(f"/bookings/{others}").status_code == 404
    assert "山田" not in client.get(f"/bookings/{others}").text
    assert client.get("/applications").status_code == 403
    assert client.get("/applications/1").status_code == 403
    assert [entry.actor for entry in reads(sessions)] == [f"staff:{provider_id}"]   # her own booking's read


def test_the_call_list_and_the_consults_show_the_name_and_phone_she_gave(sessions, app):
    from scheduling.consult import consults
    from scheduling.store.models import Call
    from tests.test_admin_pages import pregnant
    mother_id = pregnant(sessions, user="U5", due=date(2027, 1, 20))   # week 32 falls in the list's week
    with transaction(sessions) as session:
        call_id = session.scalar(select(Call.id).where(Call.mother_id == mother_id))
        case_id = consults.open_case(session, user_id="U5", topic="baby", answer_by="line", now=NOW).case.id
    submitted_application(sessions, "U5", baby_born="no", due_date="2027-01-20", baby_name="", baby_kana="",
                          baby_birth_date="", birth_weight_g="", weeks_at_birth="")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    calls_page = client.get("/calls?until=2027-12-31").text
    assert "山田 花子" in calls_page and "090-1234-5678" in calls_page
    call_page = client.get(f"/calls/{call_id}").text
    assert "山田 花子（利用申請から）" in call_page and "090-1234-5678" in call_page
    assert "山田 花子" in client.get("/consults").text
    case_page = client.get(f"/consults/{case_id}").text
    assert "山田 花子（利用申請から）" in case_page and "090-1234-5678</a>（利用申請から）" in case_page
    vias = [entry.after for entry in reads(sessions, "applications")]
    for where in ("32週の電話の一覧", "32週の電話", "相談の一覧", "相談"):
        assert any(f'"via": "{where}"' in via for via in vias), where
