"""The reminder dispatcher against the real LINE stand-in, on SQLite and PostgreSQL: due rows pushed
once with their retry key, a crash between pushing and recording, quiet hours, blocked users,
bookings no longer on, LINE's refusals, waiting-list offers, and two dispatchers at once."""
import asyncio
import dataclasses
import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot import line_client
from bot.dispatcher import Dispatcher, words
from bot.line_client import LineClient
from bot.local import running
from bot.standin.server import create_standin_app
from dialogs import catalog
from scheduling.care import providers
from scheduling.city.booking_config import load_booking_config
from scheduling.classes import classes
from scheduling.dates.calendar import JST
from scheduling.messaging import lease, reminders
from scheduling.store.db import make_engine, make_sessionmaker, transaction
from scheduling.store.models import CareBooking, LineUser, Reminder
from tests.conftest import make_settings
from tests.helpers import get, post, serving, wait_for

TOKEN = "dispatcher-test-token"
CONFIG = load_booking_config(Path(__file__).resolve().parent.parent / "config" / "booking.toml")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=JST)  # quiet hours in the file: 21:00 to 08:00


def user(n: int) -> str:
    return f"U{n:032x}"


@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setattr(line_client, "BACKOFF", (0.01, 0.02, 0.03))
    app = create_standin_app(channel_secret="s", access_token=TOKEN, webhook_url="http://127.0.0.1:9/none")
    with serving(app) as url:
        yield url


# --- helpers ---------------------------------------------------------------------------------------

def add_users(sessions, url, ids, *, language="ja", following=True):
    with transaction(sessions) as session:
        session.add_all([LineUser(user_id=u, language=language, following=following, created_at=NOON) for u in ids])
    with httpx.Client() as client:
        for u in ids:
            client.post(f"{url}/_standin/users", json={"user_id": u, "language": language}).raise_for_status()


def add_reminder(sessions, user_id, *, due=NOON - timedelta(minutes=1), kind="care_confirmed", facts=None,
                 **booking) -> int:
    facts = facts or {"date": "2026-12-05", "type": "day_care", "provider": "さくら産婦人科医院",
                      "provider_phone": "0123-45-1111", "booking": 7}
    with transaction(sessions) as session:
        return reminders.add(session, user_id=user_id, kind=kind, facts=facts, due_at=due, now=NOON - timedelta(days=1),
                             **booking).id


def dispatch(sessions, url, *, at=NOON, crash_before_recording=False, **options) -> int:
    """One dispatcher's pass over what is due at `at`; with `crash_before_recording` it pushes, then
    dies before any outcome is written (as a process killed mid-batch)."""
    async def go():
        line = LineClient(base_url=url, access_token=TOKEN)
        dispatcher = Dispatcher(sessions=sessions, line=line, config=CONFIG, clock=lambda: at, **options)
        if crash_before_recording:
            dispatcher._record = lambda session, outcomes, now: None
        try:
            return await dispatcher.dispatch_due()
        finally:
            await dispatcher.stop()
            await line.close()
    return asyncio.run(go())


def pushes(url) -> list[dict]:
    return [r for r in get(f"{url}/_standin/requests").json() if r["endpoint"] == "push"]


def delivered(url, user_id=None) -> list[dict]:
    params = {"user_id": user_id} if user_id else {}
    return get(f"{url}/_standin/messages", params=params).json()["messages"]


def rows(sessions) -> dict[int, Reminder]:
    with transaction(sessions) as session:
        return {row.id: row for row in session.scalars(select(Reminder))}


# --- tests -----------------------------------------------------------------------------------------

def test_due_rows_are_pushed_once_with_their_retry_key_in_her_language(sessions, standin):
    add_users(sessions, standin, [user(1), user(2)])
    add_users(sessions, standin, [user(3)], language="en")
    due = [add_reminder(sessions, user(n)) for n in (1, 2, 3)]
    later = add_reminder(sessions, user(1), due=NOON + timedelta(hours=1))

    assert dispatch(sessions, standin) == 3
    log = pushes(standin)
    assert sorted(r["retry_key"] for r in log) == sorted(reminders.retry_key(i) for i in due)
    assert {r["status"] for r in log} == {200}
    [ja] = delivered(standin, user(1))
    assert ja["message"]["text"].startswith("ご予約が確定しました。")
    assert "2026年12月5日" in ja["message"]["text"] and "日帰り型（通所型）" in ja["message"]["text"]
    assert [i["action"]["label"] for i in ja["message"]["quickReply"]["items"]] == ["予約の確認"]
    [en] = delivered(standin, user(3))
    assert en["message"]["text"].startswith("Your booking is confirmed.") and "5 December 2026" in en["message"]["text"]
    state = rows(sessions)
    assert [state[i].status for i in due] == ["sent"] * 3 and all(state[i].sent_at for i in due)
    assert (state[later].status, state[later].attempts) == ("pending", 0)

    assert dispatch(sessions, standin) == 0  # nothing is pushed twice
    assert len(pushes(standin)) == 3
    assert dispatch(sessions, standin, at=NOON + timedelta(hours=1)) == 1  # the later one, when it is due
    assert [r["retry_key"] for r in pushes(standin)][-1] == reminders.retry_key(later)


def test_a_dispatcher_killed_after_pushing_is_followed_by_one_that_delivers_nothing_twice(sessions, standin):
    ids = [user(n) for n in range(1, 8)]
    add_users(sessions, standin, ids)
    due = [add_reminder(sessions, u) for u in ids]

    assert dispatch(sessions, standin, crash_before_recording=True, batch=3) == 7
    assert {row.status for row in rows(sessions).values()} == {"pending"}  # pushed, never recorded
    assert dispatch(sessions, standin, at=NOON + lease.LEASE - timedelta(seconds=1)) == 0  # their lease holds
    assert dispatch(sessions, standin, at=NOON + lease.LEASE + timedelta(seconds=1)) == 7

    by_key = {}
    for r in pushes(standin):
        by_key.setdefault(r["retry_key"], []).append(r["status"])
    assert by_key == {reminders.retry_key(i): [200, 409] for i in due}  # the resend is LINE's 409
    assert all(len(delivered(standin, u)) == 1 for u in ids)
    assert {row.status for row in rows(sessions).values()} == {"sent"}  # 409 counts as sent


@pytest.mark.parametrize("clock", ["21:00", "23:30", "03:00", "07:59"])
def test_nothing_is_pushed_in_quiet_hours_and_it_waits_for_the_morning(sessions, standin, clock):
    add_users(sessions, standin, [user(1)])
    night = datetime.combine(NOON.date(), datetime.strptime(clock, "%H:%M").time(), tzinfo=JST)
    if night.hour < 12:
        night += timedelta(days=1)
    reminder = add_reminder(sessions, user(1), due=night - timedelta(minutes=1))

    assert dispatch(sessions, standin, at=night) == 0
    assert pushes(standin) == [] and rows(sessions)[reminder].status == "pending"
    morning = datetime.combine(NOON.date() + timedelta(days=1), datetime.min.time(), tzinfo=JST).replace(hour=8)
    assert dispatch(sessions, standin, at=morning) == 1
    assert rows(sessions)[reminder].status == "sent"


def test_no_push_to_a_user_who_blocked_the_account(sessions, standin):
    add_users(sessions, standin, [user(1)])
    add_users(sessions, standin, [user(2)], following=False)
    sent, blocked = add_reminder(sessions, user(1)), add_reminder(sessions, user(2))

    assert dispatch(sessions, standin) == 2
    assert [r["to"] for r in (p["body"] for p in pushes(standin))] == [user(1)]
    state = rows(sessions)
    assert state[sent].status == "sent"
    assert (state[blocked].status, state[blocked].last_error) == ("skipped", "the user has blocked the account")


def test_a_day_before_reminder_goes_only_while_the_booking_is_on(sessions, standin):
    add_users(sessions, standin, [user(n) for n in (1, 2, 3)])
    with transaction(sessions) as session:
        providers.sync(session, config=CONFIG)
        sakura = providers.ids(session)["sakura"]
        bookings = {}
        for n, status in ((1, "confirmed"), (2, "requested"), (3, "cancelled")):
            booking = CareBooking(user_id=user(n), care_type="short_stay", provider_id=sakura, start_date="2026-12-02",
                                  nights=1, status=status, request_key=f"k{n}", created_at=NOON, updated_at=NOON)
            session.add(booking)
            session.flush()
            bookings[n] = booking.id
    params = {"date": "2026-12-02", "type": "short_stay", "provider": "さくら産婦人科医院",
              "provider_phone": "0123-45-1111"}
    day_before = {n: add_reminder(sessions, user(n), kind="care_day_before", care_booking_id=bookings[n],
                                  facts=params)
                  for n in (1, 2, 3)}

    assert dispatch(sessions, standin) == 3
    [message] = delivered(standin)
    text = message["message"]["text"]
    assert message["user_id"] == user(1) and text.startswith("明日はご予約の日です。")
    assert "熱" in text and "0123-45-1111" in text and "宿泊型（短期入所型）" in text  # the fever question
    state = rows(sessions)
    assert state[day_before[1]].status == "sent"
    assert (state[day_before[2]].status, state[day_before[2]].last_error) == (
        "skipped", "the care booking was still not confirmed by staff the day before")
    assert (state[day_before[3]].status, state[day_before[3]].last_error) == (
        "skipped", "the care booking is cancelled")


def test_lines_refusal_fails_the_row_for_staff_and_a_lasting_outage_retries_later(sessions, standin):
    add_users(sessions, standin, [user(1), user(2)])
    refused = add_reminder(sessions, user(1))
    post(f"{standin}/_standin/faults", json={"endpoint": "push", "status": 400, "count": 1,
                                                    "body": {"message": "The request body has 1 error(s)"}})
    assert dispatch(sessions, standin) == 1
    row = rows(sessions)[refused]
    assert row.status == "failed" and "HTTP 400" in row.last_error and "1 error(s)" in row.last_error
    with transaction(sessions) as session:
        assert [r.id for r in reminders.failed(session)] == [refused]

    later = add_reminder(sessions, user(2))
    post(f"{standin}/_standin/faults", json={"endpoint": "push", "status": 500, "count": 4})  # 1 + 3 retries
    assert dispatch(sessions, standin) == 1
    row = rows(sessions)[later]
    assert (row.status, row.attempts, row.lease_until) == ("pending", 1, None)
    assert row.due_at > NOON and "HTTP 500" in row.last_error
    assert dispatch(sessions, standin, at=row.due_at) == 1  # the backoff is over: LINE answers again
    assert rows(sessions)[later].status == "sent"
    assert len({r["retry_key"] for r in pushes(standin) if r["body"]["to"] == user(2)}) == 1
    assert len(delivered(standin, user(2))) == 1


def test_a_row_that_cannot_be_rendered_fails_visibly(sessions, standin):
    add_users(sessions, standin, [user(1)])
    broken = add_reminder(sessions, user(1), facts={"date": "2026-12-05"})
    assert dispatch(sessions, standin) == 1
    row = rows(sessions)[broken]
    assert row.status == "failed" and row.last_error.startswith("cannot render")
    assert pushes(standin) == []


def small_class_config():
    """The example city's file with パパママ教室 for one person, so that one booking fills it."""
    return dataclasses.replace(CONFIG, classes=tuple(dataclasses.replace(c, capacity=1) for c in CONFIG.classes))


def test_a_freed_class_place_is_offered_by_push_and_an_unanswered_offer_expires(sessions, standin):
    config = small_class_config()
    add_users(sessions, standin, [user(1), user(2)])
    with transaction(sessions) as session:
        classes.sync(session, config=config, today=NOON.date())
        row = next(r for r, _ in classes.bookable(session, config=config, now=NOON) if r.class_key == "papamama")
        first = classes.book(session, config=config, session_id=row.id, user_id=user(1), party=1, request_key="a",
                             now=NOON).booking
        waiting = classes.join_waitlist(session, config=config, session_id=row.id, user_id=user(2), party=1,
                                        request_key="b", now=NOON).booking
        classes.cancel(session, config=config, booking_id=first.id, now=NOON, user_id=user(1))

    assert dispatch(sessions, standin, at=NOON) == 1
    [offer] = delivered(standin, user(2))
    assert offer["message"]["text"].startswith("パパママ教室に空きが出ました。")
    assert "15:00" in offer["message"]["text"]  # held for three hours
    items = [i["action"] for i in offer["message"]["quickReply"]["items"]]
    assert [(a["label"], a["data"]) for a in items] == [
        (catalog.text("ja", "classes.accept"), f"cls|accept|{waiting.id}"),
        (catalog.text("ja", "classes.decline_offer"), f"cls|decline|{waiting.id}")]
    assert delivered(standin, user(1)) == []  # her cancelled booking's day-before reminder went with it

    async def expire():
        dispatcher = Dispatcher(sessions=sessions, line=None, config=config, clock=lambda: NOON + timedelta(hours=4))
        try:
            return await dispatcher.expire_offers()
        finally:
            await dispatcher.stop()
    assert asyncio.run(expire()) == 1
    with transaction(sessions) as session:
        assert [b.status for b in classes.participants(session, session_id=row.id)] == ["cancelled", "expired"]


def test_an_offer_whose_hold_is_over_is_not_pushed(sessions, standin):
    config = small_class_config()
    add_users(sessions, standin, [user(1), user(2)])
    with transaction(sessions) as session:
        classes.sync(session, config=config, today=NOON.date())
        row = next(r for r, _ in classes.bookable(session, config=config, now=NOON) if r.class_key == "papamama")
        first = classes.book(session, config=config, session_id=row.id, user_id=user(1), party=1, request_key="a",
                             now=NOON).booking
        classes.join_waitlist(session, config=config, session_id=row.id, user_id=user(2), party=1,
                              request_key="b", now=NOON)
        classes.cancel(session, config=config, booking_id=first.id, now=NOON, user_id=user(1))

    assert dispatch(sessions, standin, at=NOON + timedelta(hours=4)) == 1
    assert pushes(standin) == []
    [offer] = [r for r in rows(sessions).values() if r.kind == "class_offer"]
    assert (offer.status, offer.last_error) == ("skipped", "the offered place is no longer held for her")


@pytest.mark.slow(12)
def test_two_dispatchers_at_once_deliver_each_row_once(sessions, standin):
    ids = [user(n) for n in range(1, 301)]
    add_users(sessions, standin, ids)
    with transaction(sessions) as session:
        due = [reminders.add(session, user_id=u, kind="care_offer", due_at=NOON, now=NOON, facts={}).id
               for u in ids]
    start = threading.Barrier(2)
    claimed = []

    def one_dispatcher():
        start.wait()
        claimed.append(dispatch(sessions, standin, batch=20, concurrency=8))

    threads = [threading.Thread(target=one_dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(claimed) == 300 and min(claimed) > 0  # both took a share
    log = pushes(standin)
    assert Counter(r["retry_key"] for r in log) == Counter({reminders.retry_key(i): 1 for i in due})
    assert {r["status"] for r in log} == {200}
    assert Counter(m["user_id"] for m in delivered(standin)) == Counter({u: 1 for u in ids})
    assert {row.status for row in rows(sessions).values()} == {"sent"}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_push_fits_lines_limits_and_says_little_on_a_lock_screen(language):
    care = {"date": "2026-12-05", "type": "home_visit", "provider": "もり助産院（訪問）", "provider_phone": "0123-45-3333"}
    klass = {"date": "2027-01-09", "title": "パパママ教室", "start": "10:00", "place": "はぐくみ児童館 多目的室"}
    notices = [("care_confirmed", {**care, "booking": 12, "slot": "10:00"}),
               ("care_declined", {**care, "reason": "定員に達しました"}), ("care_day_before", care),
               ("class_day_before", klass), ("class_offer", {**klass, "until": "12/1 15:00", "class_booking": 1}),
               ("class_confirmed", klass), ("class_cancelled", klass), ("care_offer", {}), ("consult_reply", {"case": 3}),
               ("call_notice", {"mother": 5}),
               ("application_approved", {"number": "令和8年度第1号", "first_date": "2026-12-01", "last_date": "2027-10-31"}),
               ("application_returned", {"reason": "住所の番地をご確認ください"})]
    sensitive = ("産", "ケア", "妊", "熱", "病", "医", "助産", "うつ", "care", "fever", "pregnan", "health")
    for kind, facts in notices:
        [message] = words(kind, json.dumps({"facts": facts}, ensure_ascii=False), language)
        first_line = message["text"].split("\n")[0]
        assert not any(word in first_line for word in sensitive), first_line
        assert "{" not in message["text"]
        for item in message["quickReply"]["items"]:
            assert 0 < len(item["action"]["label"]) <= 20


def test_the_webhook_process_with_its_inline_worker_also_sends_due_reminders(database_url):
    with running(make_settings(database_url)) as local:
        local.app.state.dispatcher.clock = lambda: NOON  # daytime, whatever the hour of the test
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            add_users(sessions, local.standin_url, [user(1)])
            reminder = add_reminder(sessions, user(1))
            assert wait_for(lambda: delivered(local.standin_url, user(1)), timeout=15)
            assert wait_for(lambda: rows(sessions)[reminder].status == "sent", timeout=15)
            assert [r["retry_key"] for r in pushes(local.standin_url)] == [reminders.retry_key(reminder)]
        finally:
            engine.dispose()


def test_a_timed_push_about_a_class_she_has_booked_is_not_sent(sessions, standin):
    from types import SimpleNamespace

    from scheduling.city.city_file import load_city
    from scheduling.family.mothers import wanted_pushes
    pregnancy = load_city(Path(__file__).resolve().parent.parent / "config" / "city.toml").pregnancy
    her = SimpleNamespace(id=1, user_id=user(1), status="pregnant", due_date="2027-03-20", birth_date=None,
                          first_baby=True, babies=1)
    [advert] = [p for p in wanted_pushes(pregnancy, her) if p.kind == "timed:week20_class"]
    assert advert.facts["about_class"] == "papamama"
    add_users(sessions, standin, [user(1), user(2)])
    with transaction(sessions) as session:
        classes.sync(session, config=CONFIG, today=NOON.date())
        row = next(r for r, _ in classes.bookable(session, config=CONFIG, now=NOON) if r.class_key == "papamama")
        classes.book(session, config=CONFIG, session_id=row.id, user_id=user(1), party=1, request_key="a", now=NOON)
    held = add_reminder(sessions, user(1), kind="timed:week20_class", facts=advert.facts)
    sent = add_reminder(sessions, user(2), kind="timed:week20_class", facts=advert.facts)   # she has not booked
    assert dispatch(sessions, standin) >= 2
    state = rows(sessions)
    assert (state[held].status, state[held].last_error) == (
        "skipped", "she has already booked the class it is about (papamama)")
    assert state[sent].status == "sent" and len(delivered(standin, user(2))) == 1


def test_the_local_chat_can_push_at_night_with_quiet_hours_off(sessions, standin):
    add_users(sessions, standin, [user(1)])
    night = datetime(2026, 12, 1, 23, 30, tzinfo=JST)
    reminder = add_reminder(sessions, user(1), due=night - timedelta(minutes=1))
    assert dispatch(sessions, standin, at=night, quiet_hours=False) == 1
    assert rows(sessions)[reminder].status == "sent" and len(delivered(standin, user(1))) == 1


def test_hagukumi_chat_no_quiet_hours_reaches_the_dispatcher_and_says_so(monkeypatch, capsys, tmp_path):
    from bot import cli, local
    from bot.runtime import build
    seen = {}

    class Stop(Exception):
        pass

    def running(settings, **_):
        seen["settings"] = settings
        raise Stop
    monkeypatch.setattr(local, "running", running)
    monkeypatch.setenv("HAGUKUMI_DATA_DIR", str(tmp_path))
    for flag, quiet in (([], True), (["--no-quiet-hours"], False)):
        with pytest.raises(Stop):
            cli.main(["chat", *flag])
        assert seen["settings"].quiet_hours is quiet
        assert build(seen["settings"]).new_dispatcher(line=None).quiet_hours is quiet
    assert "off (--no-quiet-hours)" in cli._quiet_hours_note(seen["settings"])
    assert "arrives at 08:00; start with --no-quiet-hours" in cli._quiet_hours_note(
        dataclasses.replace(seen["settings"], quiet_hours=True))
