"""The staff pages on SQLite and PostgreSQL: bookings (provider isolation, confirm, decline, close,
cancel by phone), classes (cancel with pushes, attendance), the 32-week calls, residents (search,
register with a code, delete), staff accounts and the audit (administrators only), and every POST
form carrying its CSRF token. Today is Tuesday 1 December 2026 in Japan."""
import json
import re
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from admin.app import page_routes
from bot.dispatcher import words
from scheduling.applications import service as application_service
from scheduling.care import care_bookings
from scheduling.care.care_bookings import Request
from scheduling.city.application_config import ApplicationConfig
from scheduling.classes import classes
from scheduling.consult import alerts, consults
from scheduling.dates.calendar import JST
from scheduling.family import mothers
from scheduling.store.db import transaction
from scheduling.store.models import (
    AuditEntry,
    Call,
    CallOutcome,
    CareBooking,
    ClassBooking,
    ClassSession,
    LineUser,
    Mother,
    Reminder,
    StaffUser,
)
from tests.admin_helpers import CITY, PASSWORD, add_staff, admin_app, page_csrf, signed_in_client
from tests.application_helpers import CIPHER, postal, valid_form

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)
BOOKING = CITY.booking
PREGNANCY = CITY.pregnancy


class Clock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock():
    return Clock(NOW)


@pytest.fixture
def app(sessions, clock):
    return admin_app(sessions, clock=clock)


def submitted_application(sessions, user_id: str, **changes) -> int:
    with transaction(sessions) as session:
        row = application_service.start(session, user_id=user_id, now=NOW, cipher=CIPHER)
        assert application_service.submit(session, user_id=user_id, draft_token=row.draft_token,
                                          form=valid_form(**changes),
                                          now=NOW, cipher=CIPHER, config=ApplicationConfig(), postal_lookup=postal).ok
        return row.id


def answers(born: str = "2026-10-15") -> dict:
    return {"relationship": "birth", "residence": "resident", "birth_date": born, "exclusions": "none",
            "babies": 1, "preterm": "no", "need:family_help": "yes"}


def book_care(sessions, *, user: str = "U1", provider: str = "sakura", start: date = date(2026, 12, 7),
              care_type: str = "short_stay", nights: int = 1) -> int:
    with transaction(sessions) as session:
        outcome = care_bookings.request(
            session, config=BOOKING, rules=CITY.rules,
            request=Request(user, care_type, start, uuid.uuid4().hex, provider, nights, ""), answers=answers(),
            now=NOW)
        assert outcome.ok, outcome
        return outcome.booking.id


def first_class(sessions, key: str = "papamama") -> int:
    with transaction(sessions) as session:
        return session.scalars(select(ClassSession.id).where(ClassSession.class_key == key,
                                                             ClassSession.day > "2026-12-01")
                               .order_by(ClassSession.day)).first()


def book_class(sessions, session_id: int, user: str, party: int = 1, *, waiting: bool = False) -> int:
    with transaction(sessions) as session:
        action = classes.join_waitlist if waiting else classes.book
        outcome = action(session, config=BOOKING, session_id=session_id, user_id=user, party=party,
                         request_key=uuid.uuid4().hex, now=NOW)
        assert outcome.ok, outcome
        return outcome.booking.id


def pregnant(sessions, *, user: str | None = "U5", due: date = date(2027, 1, 20), staff_ref: str | None = None) -> int:
    with transaction(sessions) as session:
        return mothers.register_pregnancy(session, config=PREGNANCY, user_id=user, due_date=due, babies=1,
                                          first_baby=True, now=NOW, staff_ref=staff_ref).id


def row(sessions, model, id_: int):
    with transaction(sessions) as session:
        return session.get(model, id_)


def all_rows(sessions, query):
    with transaction(sessions) as session:
        return list(session.scalars(query))


def post(client, path: str, data: dict | None = None, page: str = "/"):
    return client.post(path, data={"csrf": page_csrf(client, page), **(data or {})})


# --- bookings: providers see only their own ------------------------------------------------------------

def test_a_provider_cannot_see_or_change_another_providers_booking(sessions, app, clock):
    theirs = book_care(sessions, provider="sakura")
    own = book_care(sessions, user="U2", provider="hinata", start=date(2026, 12, 8))
    add_staff(sessions, "hinata-desk", "provider", provider_key="hinata")
    client = signed_in_client(app, "hinata-desk")

    listed = client.get("/bookings")
    assert f"/bookings/{own}\"" in listed.text and f"/bookings/{theirs}\"" not in listed.text
    with transaction(sessions) as session:
        sakura = session.scalar(select(CareBooking.provider_id).where(CareBooking.id == theirs))
    assert f"/bookings/{theirs}\"" not in client.get(f"/bookings?provider={sakura}").text
    assert client.get(f"/bookings/{theirs}").status_code == 404
    assert client.get(f"/bookings/{own}").status_code == 200

    clock.moment = datetime(2026, 12, 8, 18, 0, tzinfo=JST)  # both days have come
    with transaction(sessions) as session:
        for booking_id in (theirs, own):
            care_bookings.confirm(session, config=BOOKING, booking_id=booking_id, actor="staff:0", now=NOW)
    client = signed_in_client(app, "hinata-desk")   # a new day, a new session
    assert post(client, f"/bookings/{theirs}/close", {"status": "attended"}).status_code == 404
    assert post(client, f"/bookings/{theirs}/confirm").status_code == 403
    assert post(client, f"/bookings/{theirs}/cancel", {"reason": "x"}).status_code == 403
    assert row(sessions, CareBooking, theirs).status == "confirmed"

    assert post(client, f"/bookings/{own}/close", {"status": "no_show"}).status_code == 303
    assert row(sessions, CareBooking, own).status == "no_show"
    assert post(client, f"/bookings/{own}/cancel", {"reason": "x"}).status_code == 403   # providers only close


def test_a_provider_sees_no_resident_data_and_none_of_the_staff_pages(sessions, app):
    own = book_care(sessions, provider="hinata")
    add_staff(sessions, "hinata-desk", "provider", provider_key="hinata")
    client = signed_in_client(app, "hinata-desk")
    detail = client.get(f"/bookings/{own}").text
    assert "/residents/" not in detail and "利用者の記録" not in detail
    for path in ("/capacity", "/classes", "/classes/new", "/calls", "/residents", "/residents/new", "/staff",
                 "/audit"):
        assert client.get(path).status_code == 403, path


# --- bookings: confirm, decline, close, cancel by phone -------------------------------------------------

def test_staff_confirm_and_decline_with_a_push_to_her_and_an_audit_entry(sessions, app):
    first = book_care(sessions, user="U1")
    second = book_care(sessions, user="U2", start=date(2026, 12, 8))
    staff_id = add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")

    response = post(client, f"/bookings/{first}/confirm", page=f"/bookings/{first}")
    assert response.status_code == 303
    assert "予約を確定しました" in client.get(response.headers["location"]).text
    assert row(sessions, CareBooking, first).status == "confirmed"

    response = post(client, f"/bookings/{second}/decline", {"reason": "その日は満床のため"}, page=f"/bookings/{second}")
    assert response.status_code == 303
    assert row(sessions, CareBooking, second).status == "declined"

    pushes = {r.user_id: r for r in all_rows(sessions, select(Reminder).where(
        Reminder.kind.in_(("care_confirmed", "care_declined"))))}
    assert pushes["U1"].kind == "care_confirmed" and pushes["U1"].status == "pending"
    assert pushes["U2"].kind == "care_declined"
    assert json.loads(pushes["U2"].message)["facts"]["reason"] == "その日は満床のため"

    entries = {(e.action, e.subject): e for e in all_rows(sessions, select(AuditEntry))}
    confirmed = entries[("care_confirmed", f"care_booking:{first}")]
    assert confirmed.actor == f"staff:{staff_id}"
    assert json.loads(confirmed.before) == {"status": "requested"} and json.loads(confirmed.after)["status"] == "confirmed"
    assert json.loads(entries[("care_declined", f"care_booking:{second}")].after)["reason"] == "その日は満床のため"

    history = client.get(f"/bookings/{second}").text
    assert "hanako" in history and "その日は満床のため" in history and "確認待ち" in history


def test_a_decline_without_a_reason_is_refused_politely(sessions, app):
    booking = book_care(sessions)
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    response = post(client, f"/bookings/{booking}/decline", {"reason": "   "})
    assert response.status_code == 400
    assert "理由を入力してください" in response.text and 'role="alert"' in response.text
    assert row(sessions, CareBooking, booking).status == "requested"
    assert not all_rows(sessions, select(Reminder).where(Reminder.kind == "care_declined"))


def test_attended_only_from_the_day_and_cancelled_by_phone_with_a_reason(sessions, app, clock):
    booking = book_care(sessions, care_type="day_care", nights=0, start=date(2026, 12, 7))
    other = book_care(sessions, user="U2", start=date(2026, 12, 8))
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    post(client, f"/bookings/{booking}/confirm")
    refused = post(client, f"/bookings/{booking}/close", {"status": "attended"})
    assert refused.status_code == 400 and "利用日より前" in refused.text
    clock.moment = datetime(2026, 12, 7, 16, 0, tzinfo=JST)
    client = signed_in_client(app, "hanako")
    assert post(client, f"/bookings/{booking}/close", {"status": "attended"}).status_code == 303
    assert row(sessions, CareBooking, booking).status == "attended"

    assert post(client, f"/bookings/{other}/cancel", {"reason": ""}).status_code == 400
    assert post(client, f"/bookings/{other}/cancel", {"reason": "ご本人から電話"}).status_code == 303
    cancelled = row(sessions, CareBooking, other)
    assert cancelled.status == "cancelled" and cancelled.reason == "ご本人から電話"
    assert post(client, f"/bookings/{other}/confirm").status_code == 409   # already changed


def test_the_booking_list_filters_and_the_capacity_calendar(sessions, app):
    book_care(sessions, user="U1", start=date(2026, 12, 7))
    book_care(sessions, user="U2", care_type="day_care", nights=0, start=date(2026, 12, 9))
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert len(re.findall(r'href="/bookings/\d+"', client.get("/bookings?type=day_care").text)) == 1
    assert "令和8年12月9日(水)" in client.get("/bookings?first=2026-12-09&last=2026-12-09").text
    assert "令和8年12月7日" not in client.get("/bookings?first=2026-12-09").text
    with transaction(sessions) as session:
        sakura = session.scalar(select(CareBooking.provider_id).limit(1))
    grid = client.get(f"/capacity?provider={sakura}&month=2026-12").text
    assert "令和8年12月" in grid and "宿泊 1／2" in grid and "通所 1／3" in grid


# --- classes ---------------------------------------------------------------------------------------------

def test_cancelling_a_class_pushes_to_everyone_booked_or_waiting(sessions, app):
    session_id = first_class(sessions)
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert post(client, f"/classes/{session_id}/edit", {"start": "10:00", "end": "12:00", "place": "児童館",
                                                        "capacity": "3"}).status_code == 303
    booked = [book_class(sessions, session_id, "U1", 2), book_class(sessions, session_id, "U2")]
    waiting = book_class(sessions, session_id, "U3", waiting=True)
    page = client.get(f"/classes/{session_id}").text
    assert "3人／定員3人" in page and "1組（1人）" in page

    refused = post(client, f"/classes/{session_id}/cancel", {"reason": "台風のため"})
    assert refused.status_code == 400 and row(sessions, ClassSession, session_id).status == "scheduled"
    assert post(client, f"/classes/{session_id}/edit", {"start": "10:00", "end": "12:00", "place": "児童館",
                                                        "capacity": "2"}).text.count("（3人）より少なくできません") == 1
    response = post(client, f"/classes/{session_id}/cancel", {"reason": "台風のため", "confirm": "yes"})
    assert response.status_code == 303 and "3人にお知らせ" in client.get(response.headers["location"]).text
    assert post(client, f"/classes/{session_id}/cancel", {"reason": "again", "confirm": "yes"}).status_code == 409

    assert row(sessions, ClassSession, session_id).status == "cancelled"
    assert {row(sessions, ClassBooking, b).status for b in (*booked, waiting)} == {"cancelled"}
    pushes = all_rows(sessions, select(Reminder).where(Reminder.kind == "class_cancelled"))
    assert sorted(p.user_id for p in pushes) == ["U1", "U2", "U3"]
    assert set(json.loads(pushes[0].message)["facts"]) == {"date", "title"}   # facts, not words
    for language in ("ja", "en"):   # the catalog has the words, as the dispatcher renders them
        [message] = words(pushes[0].kind, pushes[0].message, language)
        assert "2027" in message["text"] and "パパママ教室" in message["text"] and "{" not in message["text"]
    assert not all_rows(sessions, select(Reminder).where(Reminder.kind == "class_day_before",
                                                         Reminder.status == "pending"))
    with transaction(sessions) as session:
        assert classes.free_places(session, session.get(ClassSession, session_id)) == 3


def test_add_a_session_print_the_list_and_mark_attendance(sessions, app, clock):
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    bad = post(client, "/classes/new", {"class_key": "baby", "day": "2026-12-19", "start": "14:00", "end": "13:00",
                                        "place": "児童館", "capacity": "10"}, page="/classes/new")
    assert bad.status_code == 400 and "終わりを始まりより後" in bad.text
    response = post(client, "/classes/new", {"class_key": "baby", "day": "2026-12-19", "start": "13:30",
                                             "end": "15:00", "place": "はぐくみ児童館 遊戯室", "capacity": "10"})
    assert response.status_code == 303
    session_id = int(re.search(r"/classes/(\d+)", response.headers["location"]).group(1))
    with transaction(sessions) as session:
        assert [s.id for s, _ in classes.bookable(session, config=BOOKING, now=NOW)].count(session_id) == 1
    again = post(client, "/classes/new", {"class_key": "baby", "day": "2026-12-19", "start": "13:30",
                                          "end": "15:00", "place": "x", "capacity": "10"})
    assert again.status_code == 400 and "すでに同じ教室" in again.text

    pregnant(sessions, user="U1", due=date(2027, 2, 1), staff_ref="C-101")
    first = book_class(sessions, session_id, "U1", 2)
    book_class(sessions, session_id, "U2")
    printed = client.get(f"/classes/{session_id}/print").text
    assert "参加者名簿" in printed and "令和8年12月19日(土)" in printed and "2組 3人" in printed
    assert "C-101" in printed and "令和9年2月1日" in printed

    early = post(client, f"/classes/{session_id}/attendance", {"booking_id": first, "status": "attended"})
    assert early.status_code == 400 and "当日から" in early.text
    clock.moment = datetime(2026, 12, 19, 15, 30, tzinfo=JST)
    client = signed_in_client(app, "hanako")
    assert post(client, f"/classes/{session_id}/attendance",
                {"booking_id": first, "status": "attended"}).status_code == 303
    assert row(sessions, ClassBooking, first).status == "attended"
    assert "出席" in client.get(f"/classes/{session_id}/print").text


# --- the 32-week calls ------------------------------------------------------------------------------------

def test_a_call_not_reached_is_recorded_with_a_retry_date_and_counted(sessions, app):
    mother_id = pregnant(sessions, due=date(2027, 1, 20))   # week 32 began on 25 November
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    listed = client.get("/calls").text
    assert "妊娠32週の週（令和8年11月25日(水)から）" in listed and "回答なし" in listed
    with transaction(sessions) as session:
        call_id = session.scalar(select(Call.id).where(Call.mother_id == mother_id))

    missing_date = post(client, f"/calls/{call_id}/record", {"outcome": "not_reached"})
    assert missing_date.status_code == 400 and "次にかける日" in missing_date.text
    response = post(client, f"/calls/{call_id}/record", {"outcome": "not_reached", "retry_on": "2026-12-03",
                                                         "note": "留守電", "no_family_help": "1"})
    assert response.status_code == 303
    call = row(sessions, Call, call_id)
    assert (call.status, call.outcome, call.retry_on, call.no_family_help) == ("open", "not_reached", "2026-12-03",
                                                                               True)
    [attempt] = all_rows(sessions, select(CallOutcome))
    assert (attempt.retry_on, attempt.note) == ("2026-12-03", "留守電")
    assert all_rows(sessions, select(Reminder).where(Reminder.kind == "care_offer", Reminder.user_id == "U5"))

    assert "再度 令和8年12月3日(木)" not in client.get("/calls?until=2026-12-02").text   # not yet due again
    listed = client.get("/calls?until=2026-12-03").text
    assert "再度 令和8年12月3日(木)" in listed and "つながらなかった" in listed
    page = client.get(f"/calls/{call_id}").text
    assert "留守電" in page and "令和8年12月3日" in page

    assert post(client, f"/calls/{call_id}/record", {"outcome": "phone", "note": "元気"}).status_code == 303
    assert row(sessions, Call, call_id).status == "done"
    counts = client.get("/calls").text
    assert re.search(r"電話で話した</th>.*?</tr>\s*<tr><td class=\"num\">1</td>", counts, re.S)


def test_the_call_list_filters_by_preference(sessions, app):
    first = pregnant(sessions, user="U5")
    pregnant(sessions, user="U6")
    with transaction(sessions) as session:
        mother = session.get(Mother, first)
        from scheduling.family import calls
        calls.answer(session, mother_id=first, user_id=mother.user_id, preference="evening", now=NOW)
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    evening = client.get("/calls?preference=evening").text
    assert "平日の夕方" in evening and evening.count("記録する</a>") == 1
    assert client.get("/calls").text.count("記録する</a>") == 2


# --- residents ------------------------------------------------------------------------------------------

def test_register_at_the_interview_find_by_code_or_number_and_delete_on_request(sessions, app):
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    response = post(client, "/residents/new", {"due_date": "2027-06-10", "babies": "2", "first_baby": "yes",
                                               "staff_ref": "R7-0042"}, page="/residents/new")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert re.search(r'<p class="code"[^>]*>[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}</p>', response.text)
    [mother] = all_rows(sessions, select(Mother))
    assert (mother.registered_via, mother.user_id, mother.staff_ref, mother.babies) == ("staff", None, "R7-0042", 2)

    assert f"/residents/{mother.id}\"" in client.get("/residents?q=R7-0042").text
    assert f"/residents/{mother.id}\"" in client.get(f"/residents?q=M{mother.id}").text
    assert "LINE の表示名を保存していません" in client.get("/residents").text
    record = client.get(f"/residents/{mother.id}").text
    assert "令和9年6月10日" in record and "R7-0042" in record and "まだつながっていません" in record

    assert client.get(f"/residents/{mother.id}/delete").status_code == 200
    wrong = post(client, f"/residents/{mother.id}/delete", {"confirm": "999"})
    assert wrong.status_code == 400 and row(sessions, Mother, mother.id).deleted_at is None
    done = post(client, f"/residents/{mother.id}/delete", {"confirm": str(mother.id)})
    assert done.status_code == 200 and "削除しました" in done.text
    gone = row(sessions, Mother, mother.id)
    assert gone.deleted_at is not None and gone.due_date is None and gone.staff_ref is None
    assert "当たる記録はありません" in client.get("/residents?q=R7-0042").text
    actions = {e.action for e in all_rows(sessions, select(AuditEntry).where(AuditEntry.subject == f"mother:{mother.id}"))}
    assert {"mother_registered", "link_code_issued", "record_viewed", "data_deleted"} <= actions


def test_deleting_a_linked_resident_erases_her_account_and_frees_her_places(sessions, app):
    forgotten = []
    app.state.forget_state = lambda session, user_id: forgotten.append(user_id)
    with transaction(sessions) as session:  # she has talked to the bot: the worker keeps her as a LINE user
        session.add(LineUser(user_id="U7", language="ja", created_at=NOW))
    mother_id = pregnant(sessions, user="U7", staff_ref="R7-0007")
    booking = book_care(sessions, user="U7")
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    record = client.get(f"/residents/{mother_id}").text
    assert "つながっています" in record and f"/bookings/{booking}" in record
    assert post(client, f"/residents/{mother_id}/delete", {"confirm": str(mother_id)}).status_code == 200
    kept = row(sessions, CareBooking, booking)
    assert kept.status == "cancelled" and kept.user_id.startswith("deleted:")
    assert row(sessions, LineUser, "U7") is None and row(sessions, Mother, mother_id).user_id is None
    assert "記録する</a>" not in client.get("/calls?until=2027-12-31").text   # nobody left to call
    assert forgotten == ["U7"]  # her conversation state too, wherever the bot keeps it (Redis)


def test_the_resident_record_shows_screening_reasons_and_pushes(sessions, app):
    from scheduling.family import screenings
    from scheduling.rules import decide
    mother_id = pregnant(sessions, user="U8")
    with transaction(sessions) as session:
        decision = decide(CITY.rules, {**answers(), "exclusions": "some",
                                                     "exclusion:infection": "yes"}, on_date=NOW.date())
        screenings.record(session, user_id="U8", answers=answers(), decision=decision.as_json(),
                          rules_version="r8", care_date="2026-12-01", now=NOW)
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    page = client.get(f"/residents/{mother_id}").text
    assert "お子さんの生年月日を教えてください" in page and "令和8年10月15日" in page
    assert "はぐくみ市にお住まいですか" in page and "{city}" not in page
    assert "感染症にかかっている間" in page and "screening.reason" not in page   # the reason, in words
    assert "送ったお知らせ" in page and "前日のお知らせ" not in page
    refused = post(client, f"/residents/{mother_id}/code")   # linked: a new code would hand the record over
    assert refused.status_code == 409 and "新しいコードは出せません" in refused.text


# --- staff accounts and the audit -------------------------------------------------------------------------

def test_the_staff_and_audit_pages_refuse_anyone_but_administrators(sessions, app):
    add_staff(sessions, "hanako", "staff")
    client = signed_in_client(app, "hanako")
    assert client.get("/staff").status_code == 403
    assert client.get("/audit").status_code == 403
    assert post(client, "/staff/new", {"login": "evil", "display_name": "x", "role": "admin",
                                       "password": "x" * 20}).status_code == 403
    assert not all_rows(sessions, select(StaffUser).where(StaffUser.login == "evil"))


def test_an_administrator_adds_disables_and_resets_accounts(sessions, app):
    admin_id = add_staff(sessions, "boss", "admin")
    client = signed_in_client(app, "boss")
    short = post(client, "/staff/new", {"login": "mori", "display_name": "森", "role": "provider", "password": "short"},
                 page="/staff")
    assert short.status_code == 400
    no_provider = post(client, "/staff/new", {"login": "mori", "display_name": "森", "role": "provider",
                                              "password": "x" * 12})
    assert no_provider.status_code == 400 and "委託先を選んで" in no_provider.text
    with transaction(sessions) as session:
        from scheduling.store.models import Provider
        mori = session.scalar(select(Provider.id).where(Provider.key == "midwife-mori"))
    assert post(client, "/staff/new", {"login": "mori", "display_name": "森", "role": "provider",
                                       "provider_id": str(mori), "password": PASSWORD}).status_code == 303
    [user] = all_rows(sessions, select(StaffUser).where(StaffUser.login == "mori"))
    assert (user.role, user.provider_id) == ("provider", mori)
    taken = post(client, "/staff/new", {"login": "mori", "display_name": "x", "role": "staff", "password": PASSWORD})
    assert taken.status_code == 400 and "すでに使われています" in taken.text

    provider_client = signed_in_client(app, "mori")
    asked = post(client, f"/staff/{user.id}/active", {"active": "0"})   # 止める asks first
    assert asked.status_code == 200 and "アカウントを止めますか" in asked.text
    assert provider_client.get("/").status_code == 200                    # nothing done yet
    assert post(client, f"/staff/{user.id}/active", {"active": "0", "confirm": "1"}).status_code == 303
    assert provider_client.get("/").status_code == 303   # the disabled account's session ended
    assert post(client, f"/staff/{admin_id}/active", {"active": "0"}).status_code == 400   # not oneself
    assert post(client, f"/staff/{user.id}/active", {"active": "1"}).status_code == 303
    assert post(client, f"/staff/{user.id}/password", {"password": "another-long-password"}).status_code == 303
    signed_in_client(app, "mori", "another-long-password")

    audit = client.get(f"/audit?subject=staff:{user.id}").text
    assert "職員アカウント作成" in audit and "職員アカウント停止" in audit and "パスワード変更" in audit
    assert "subject=care_booking" not in audit and "signed_in" not in audit


# --- every form carries its CSRF token ---------------------------------------------------------------------

def test_every_post_form_on_every_page_carries_the_csrf_token(sessions, app, clock):
    requested = book_care(sessions)
    confirmed = book_care(sessions, user="U2", start=date(2026, 12, 8))
    with transaction(sessions) as session:
        care_bookings.confirm(session, config=BOOKING, booking_id=confirmed, actor="staff:0", now=NOW)
    session_id = first_class(sessions)
    book_class(sessions, session_id, "U5")
    mother_id = pregnant(sessions, user="U5", staff_ref="R1")
    with transaction(sessions) as session:
        call_id = session.scalar(select(Call.id).where(Call.mother_id == mother_id))
    with transaction(sessions) as session:   # a 相談 and an urgent item, whose pages have forms too
        case_id = consults.open_case(session, user_id="U5", topic="baby", answer_by="line", now=NOW).case.id
        alerts.raise_alert(session, user_id="U5", category="life", label="本人の命の危険", body="…", matched="…",
                           now=NOW)
    admin_id = add_staff(sessions, "boss", "admin")
    add_staff(sessions, "hanako", "staff")
    waiting, approved = submitted_application(sessions, "U5"), submitted_application(sessions, "U2")
    with transaction(sessions) as session:   # an approved one has the notice's page; a waiting one, the forms
        application_service.approve(session, application_id=approved, actor="staff:0", now=NOW,
                                    config=ApplicationConfig())
    ids = {"booking_id": [requested, confirmed], "session_id": [session_id], "call_id": [call_id],
           "mother_id": [mother_id], "staff_id": [admin_id], "case_id": [case_id], "application_id": [approved]}
    client = signed_in_client(app, "boss")
    token = page_csrf(client)
    checked = 0
    for method, path in page_routes(app):
        if method != "GET" or path.startswith(("/figures", "/login")):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        variants = [path] if not names else [path.replace("{" + names[0] + "}", str(v)) for v in ids[names[0]]]
        for concrete in variants:
            response = client.get(concrete + ("?q=R1" if concrete == "/residents" else ""))
            if concrete == f"/applications/{approved}":
                response = client.get(f"/applications/{waiting}")
            assert response.status_code == 200, (concrete, response.status_code)
            forms = re.findall(r"<form\b[^>]*>.*?</form>", response.text, re.S | re.I)
            for form in forms:
                if re.search(r'method="post"', form, re.I):
                    assert f'name="csrf" value="{token}"' in form, (concrete, form[:200])
                    checked += 1
    assert checked >= 15
    clock.moment = datetime(2026, 12, 8, 12, 0, tzinfo=JST)   # the day: the attendance forms appear
    client = signed_in_client(app, "boss")
    token = page_csrf(client)
    page = client.get(f"/bookings/{confirmed}").text
    assert 'value="attended"' in page and f'name="csrf" value="{token}"' in page


def test_a_confirmation_held_by_the_night_says_so_on_the_booking_page(sessions, app, clock):
    booking = book_care(sessions, user="U1")
    add_staff(sessions, "hanako", "staff")
    clock.moment = datetime(2026, 12, 1, 22, 30, tzinfo=JST)   # quiet hours: 21:00 to 8:00
    client = signed_in_client(app, "hanako")
    response = post(client, f"/bookings/{booking}/confirm", page=f"/bookings/{booking}")
    html = client.get(response.headers["location"]).text
    assert "確定のお知らせ" in html and "夜間のため8:00に送ります" in html
    clock.moment = datetime(2026, 12, 2, 7, 0, tzinfo=JST)     # still night: still held
    client = signed_in_client(app, "hanako")                    # (the evening's session has ended idle)
    assert "夜間のため8:00に送ります" in client.get(f"/bookings/{booking}").text
    clock.moment = datetime(2026, 12, 2, 9, 0, tzinfo=JST)     # the morning: it goes now, nothing held
    client = signed_in_client(app, "hanako")
    assert "夜間のため" not in client.get(f"/bookings/{booking}").text
