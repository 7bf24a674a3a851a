"""The panel as the staff's desk (issue 14, the parts built so far), on SQLite and PostgreSQL: the booking
page shows staff the facts to decide with (and the provider none of them); 今日 lists stays in progress
and past bookings still waiting for 利用済み / 不在, and links each call due."""
import uuid
from datetime import date, datetime, time, timedelta

import pytest

from scheduling.care import care_bookings
from scheduling.care.care_bookings import Request
from scheduling.dates.calendar import JST
from scheduling.family import screenings
from scheduling.store.db import transaction
from scheduling.store.models import ClassSession
from tests.admin_helpers import CITY, add_staff, admin_app, signed_in_client
from tests.test_admin_pages import NOW, Clock, answers, pregnant

BOOKING = CITY.booking


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def app(sessions, clock):
    return admin_app(sessions, clock=clock)


def screened_booking(sessions, *, user="U1", start=date(2026, 12, 7), nights=2, born="2026-10-15") -> int:
    """A stay requested as the chat does it: a screening stored first, the booking pointing at it."""
    with transaction(sessions) as session:
        screenings.record(session, user_id=user, answers=answers(born), decision={}, rules_version="令和8年度",
                          care_date=NOW.date().isoformat(), now=NOW, source_event_id=None)
        screening_id = screenings.of_user(session, user_id=user)[-1].id
        outcome = care_bookings.request(session, config=BOOKING, rules=CITY.rules,
                                        request=Request(user, "short_stay", start, uuid.uuid4().hex, "sakura", nights, ""),
                                        answers=answers(born), now=NOW, screening_id=screening_id)
        assert outcome.ok, outcome
        return outcome.booking.id


def test_staff_decide_with_her_answers_the_babys_age_her_uses_and_the_places_free(app, sessions):
    booking_id = screened_booking(sessions)
    add_staff(sessions, "sato", "staff")
    html = signed_in_client(app, "sato").get(f"/bookings/{booking_id}").text
    assert "判断の材料" in html and "生後1か月22日" in html            # 15 Oct → 7 Dec
    assert "令和8年度の「利用のきまり」" in html
    assert "出産したお母さん" in html and "十分に受けられない" in html   # the question and her answer, in words
    assert "この予約のあと 残り4" in html                    # stays have a cap of 6; this one takes 2 nights
    assert html.count("残り") >= 3 and "定員" in html                    # each night's free beds


def test_the_provider_sees_the_booking_but_none_of_her_answers(app, sessions):
    booking_id = screened_booking(sessions)
    add_staff(sessions, "sakura-clinic", "provider", provider_key="sakura")
    html = signed_in_client(app, "sakura-clinic").get(f"/bookings/{booking_id}").text
    assert "受付番号" in html
    assert "判断の材料" not in html and "出産したお母さん" not in html and "家族の手助け" not in html


def test_today_lists_stays_in_progress_and_bookings_waiting_for_their_record(app, sessions, clock):
    stay = screened_booking(sessions, start=date(2026, 12, 7), nights=3)
    visit = screened_booking(sessions, user="U2", start=date(2026, 12, 7), nights=1)   # checked out on the 8th
    with transaction(sessions) as session:
        for booking_id in (stay, visit):
            care_bookings.confirm(session, config=BOOKING, booking_id=booking_id, actor="staff:0", now=NOW)
    mother_id = pregnant(sessions, due=date(2027, 2, 10))
    add_staff(sessions, "sato", "staff")
    clock.moment = datetime(2026, 12, 9, 9, 0, tzinfo=JST)   # the 3-night stay runs to the 10th
    html = signed_in_client(app, "sato").get("/").text
    staying = html.split("宿泊中の方")[1].split("<h2>")[0]
    assert f"/bookings/{stay}" in staying and "3泊" in staying and f"/bookings/{visit}" not in staying
    to_close = html.split("利用のあとの記録がまだの予約")[1].split("<h2>")[0]
    assert f"/bookings/{stay}" in to_close and f"/bookings/{visit}" in to_close
    assert mother_id  # a pregnancy whose call is not due yet lists nothing; the link form is checked in test_calls


def test_adding_a_session_of_the_baby_class_takes_that_class_s_own_defaults(app, sessions):
    add_staff(sessions, "sato", "staff")
    client = signed_in_client(app, "sato")
    html = client.get("/classes/new?class_key=baby").text
    assert 'name="class_key" value="baby"' in html and 'value="13:30"' in html and 'value="15:00"' in html
    assert "はぐくみ児童館 遊戯室" in html and 'value="16"' in html and "config/booking.toml" not in html
    first = client.get("/classes/new").text
    assert 'name="class_key" value="papamama"' in first and 'value="10:00"' in first
    csrf = first.split('name="csrf" value="')[1].split('"')[0]
    made = client.post("/classes/new", data={"csrf": csrf, "class_key": "baby", "day": "2026-12-20", "start": "13:30",
                                              "end": "15:00", "place": "はぐくみ児童館 遊戯室", "capacity": "16"})
    assert made.status_code == 303
    page = client.get(made.headers["location"].removeprefix("http://testserver")).text
    assert "0歳児の親子教室" in page and "13:30" in page and "config/booking.toml" not in page


def test_a_past_session_without_attendance_says_so(app, sessions, clock):
    from tests.test_admin_pages import book_class, first_class
    session_id = first_class(sessions, "baby")
    book_class(sessions, session_id, "U7")
    add_staff(sessions, "sato", "staff")
    with transaction(sessions) as session:
        day = date.fromisoformat(session.get(ClassSession, session_id).day)
    clock.moment = datetime.combine(day + timedelta(days=1), time(18, 0), JST)
    html = signed_in_client(app, "sato").get("/classes?past=1").text
    assert "出欠未記録" in html


def test_the_print_view_has_the_calls_tries_and_interview_registrations(app, sessions):
    from scheduling.family import mothers
    with transaction(sessions) as session:                 # one registered by staff at the interview
        mothers.register_pregnancy(session, config=CITY.pregnancy, user_id=None, due_date=date(2027, 3, 1),
                                   babies=1, first_baby=True, now=NOW, via="staff", staff_ref="R8-0001")
    pregnant(sessions, user="U9")                          # one registered in the chat
    add_staff(sessions, "sato", "staff")
    client = signed_in_client(app, "sato")
    html = client.get("/figures/print?year=2026").text
    assert "32週の電話 延べ" in html and "うち面接で" in html
    csv = client.get("/figures.csv?year=2026").content.decode("utf-8-sig")
    at_interview = csv.split("うち面接での登録（妊娠届出時）,件,")[1].split("\r\n")[0]
    assert ",妊娠の登録,登録,件," in csv and at_interview.endswith(",1")
    assert "ご連絡のないお休み" in csv and "無断" not in csv


def test_one_number_finds_her_whatever_staff_type(app, sessions):
    from tests.test_admin_pages import book_care
    chat_record = pregnant(sessions, user="U8")                      # registered in the chat: no number yet
    add_staff(sessions, "sato", "staff")
    client = signed_in_client(app, "sato")
    html = client.get(f"/residents/{chat_record}").text
    csrf = html.split('name="csrf" value="')[1].split('"')[0]
    client.post(f"/residents/{chat_record}/ref", data={"csrf": csrf, "staff_ref": "R8-0123"})
    for typed in ("R8-0123", "r8-0123", "0123", "ｒ８－０１２３", str(chat_record)):
        assert f"/residents/{chat_record}" in client.get("/residents", params={"q": typed}).text, typed
    booking_id = book_care(sessions)
    found = client.get("/bookings", params={"number": f"受付番号{booking_id}"})
    assert found.status_code == 303 and found.headers["location"].endswith(f"/bookings/{booking_id}")
    assert "見つかりませんでした" in client.get("/bookings", params={"number": "99999"}).text


def test_a_provider_cannot_open_another_providers_booking_by_its_number(app, sessions):
    from tests.test_admin_pages import book_care
    other = book_care(sessions, provider="hinata", start=date(2026, 12, 8))
    add_staff(sessions, "sakura-clinic", "provider", provider_key="sakura")
    html = signed_in_client(app, "sakura-clinic").get("/bookings", params={"number": str(other)})
    assert html.status_code == 200 and "見つかりませんでした" in html.text


def test_the_capacity_calendar_tells_unconfirmed_requests_from_confirmed_ones(app, sessions):
    from tests.test_admin_pages import book_care
    requested = book_care(sessions, start=date(2026, 12, 7), nights=2)
    confirmed = book_care(sessions, user="U2", start=date(2026, 12, 8), nights=1)
    with transaction(sessions) as session:
        care_bookings.confirm(session, config=BOOKING, booking_id=confirmed, actor="staff:0", now=NOW)
    add_staff(sessions, "sato", "staff")
    html = signed_in_client(app, "sato").get("/capacity", params={"month": "2026-12"}).text
    cells = {d: html.split(f"first=2026-12-{d:02d}&amp;")[1].split("</td>")[0] for d in (7, 8)}
    assert "宿泊 1／2 <span class=\"pending\">（確認待ち1）" in cells[7]
    assert "宿泊 2／2 <span class=\"pending\">（確認待ち1）" in cells[8]     # one confirmed, one requested
    assert requested


def test_a_failed_push_reads_in_japanese_with_whom_it_was_for_a_resend_and_resolved(app, sessions):
    from sqlalchemy import select

    from scheduling.messaging import reminders
    from scheduling.store.models import AuditEntry, Reminder
    mother_id = pregnant(sessions, user="U6")
    with transaction(sessions) as session:
        rows = [reminders.add(session, user_id="U6", kind="care_confirmed", facts={}, due_at=NOW, now=NOW)
                for _ in range(2)]
        for row in rows:
            reminders.mark(session, reminder_id=row.id, status="failed",
                           error="""HTTP 400: '{"message":"The property, \\'to\\', in the request body is invalid"}'""")
    add_staff(sessions, "sato", "staff")
    client = signed_in_client(app, "sato")
    html = client.get("/").text
    assert "LINEの友だち登録が解除されているか" in html and "The property" not in html
    assert f"/residents/{mother_id}" in html and "再送する" in html
    csrf = html.split('name="csrf" value="')[1].split('"')[0]
    assert client.post(f"/reminders/{rows[0].id}/resend", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/reminders/{rows[1].id}/resolve", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/reminders/{rows[1].id}/resend", data={"csrf": csrf}).status_code == 404   # no longer failed
    with transaction(sessions) as session:
        assert [session.get(Reminder, r.id).status for r in rows] == ["pending", "resolved"]
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"reminder.resend", "reminder.resolve"} <= actions


def test_the_audit_trail_reads_as_sentences_not_json(app, sessions):
    from tests.test_admin_pages import book_care
    booking_id = book_care(sessions)
    admin_id = add_staff(sessions, "boss", "admin")
    with transaction(sessions) as session:
        from scheduling.store.models import StaffUser
        session.get(StaffUser, admin_id).display_name = "保健師 佐藤"
    client = signed_in_client(app, "boss")
    csrf = client.get(f"/bookings/{booking_id}").text.split('name="csrf" value="')[1].split('"')[0]
    client.post(f"/bookings/{booking_id}/confirm", data={"csrf": csrf})
    html = client.get("/audit").text
    row = next(r for r in html.split("<tr>") if f"受付番号{booking_id}" in r and "予約の確定" in r)
    assert "保健師 佐藤" in row and "状態: 確認待ち → 確定" in row
    assert '{"status"' not in html and "care_booking:" not in html.split("<tbody>")[1]


def test_error_pages_are_japanese_pages_of_the_panel(app, sessions):
    add_staff(sessions, "sakura-clinic", "provider", provider_key="sakura")
    client = signed_in_client(app, "sakura-clinic")
    for path, status, heading in (("/consults", 403, "この操作はできません"), ("/no-such-page", 404, "見つかりません")):
        response = client.get(path)
        assert response.status_code == status and '<html lang="ja">' in response.text
        assert f"<h1>{heading}</h1>" in response.text and "admin.css" in response.text
        assert "Not Found" not in response.text and "detail" not in response.text
