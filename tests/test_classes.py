"""Parent classes: places in persons (a couple takes two), the waiting list and its offers, who may
come, when booking opens, one open booking per mother and session.

Each call runs in its own transaction, as the worker does. Today is Saturday 20 June 2026; the
sessions are on Saturday 11 July 2026, booking opens 30 days before (11 June)."""
import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from scheduling.care import capacity, history
from scheduling.city.booking_config import load_booking_config, parse_booking_config
from scheduling.classes import classes
from scheduling.classes.classes import Mother
from scheduling.dates.calendar import JST
from scheduling.store.db import transaction
from scheduling.store.models import ClassBooking, ClassSession, Reminder

CONFIG = parse_booking_config('''
[policy]
reminder_time = "17:00"
offer_hold_minutes = 180

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "はぐくみ児童館 多目的室"
start = "10:00"
end = "12:00"
capacity = 4
opens_days_before = 30
cancel_days_before = 1
pregnancy_weeks = { min = 16, max = 37 }
first_baby_only = true
dates = [2026-07-11]

[[classes]]
id = "baby"
title = "0歳児の親子教室"
place = "はぐくみ児童館 遊戯室"
start = "13:30"
end = "15:00"
capacity = 4
opens_days_before = 30
cancel_days_before = 0
baby_months = { min = 0, max = 12 }
dates = [2026-07-11]
''')
NOW = datetime(2026, 6, 20, 9, 0, tzinfo=JST)
DAY = date(2026, 7, 11)
HOLD = timedelta(minutes=180)


@pytest.fixture
def db(sessions):
    with transaction(sessions) as session:
        classes.sync(session, config=CONFIG, today=NOW.date())
    return sessions


def session_id(db, key="papamama") -> int:
    with transaction(db) as session:
        return session.scalars(select(ClassSession.id).where(ClassSession.class_key == key)).one()


def book(db, user, party=1, *, key=None, now=NOW, config=CONFIG, cls="papamama", mother=None):
    sid = session_id(db, cls)
    with transaction(db) as session:
        return classes.book(session, config=config, session_id=sid, user_id=user, party=party,
                            request_key=key or f"book-{user}-{cls}-{now.isoformat()}", now=now, mother=mother)


def wait(db, user, party=1, *, key=None, now=NOW, cls="papamama"):
    sid = session_id(db, cls)
    with transaction(db) as session:
        return classes.join_waitlist(session, config=CONFIG, session_id=sid, user_id=user,
                                     party=party, request_key=key or f"wait-{user}-{cls}-{now.isoformat()}", now=now)


def cancel(db, booking_id, *, now=NOW, user=None, actor=history.MOTHER):
    with transaction(db) as session:
        if user is None:
            user = session.get(ClassBooking, booking_id).user_id
        return classes.cancel(session, config=CONFIG, booking_id=booking_id, now=now, user_id=user, actor=actor)


def accept(db, booking_id, now, user=None):
    with transaction(db) as session:
        user = user or session.get(ClassBooking, booking_id).user_id
        return classes.accept_offer(session, config=CONFIG, booking_id=booking_id, user_id=user, now=now)


def decline(db, booking_id, now):
    with transaction(db) as session:
        user = session.get(ClassBooking, booking_id).user_id
        return classes.decline_offer(session, config=CONFIG, booking_id=booking_id, user_id=user, now=now)


def expire(db, now) -> int:
    with transaction(db) as session:
        return classes.expire_offers(session, config=CONFIG, now=now)


def statuses(db, cls="papamama") -> dict[str, tuple[str, int]]:
    sid = session_id(db, cls)
    with transaction(db) as session:
        return {b.user_id: (b.status, b.party) for b in classes.participants(session, session_id=sid)}


def used(db, cls="papamama") -> int:
    sid = session_id(db, cls)
    with transaction(db) as session:
        return capacity.used(session, resource=classes.resource(sid), first=DAY.isoformat(),
                             last=DAY.isoformat()).get((DAY.isoformat(), ""), (0, 0))[0]


def holding(db, cls="papamama") -> int:
    return sum(party for status, party in statuses(db, cls).values() if status in classes.HOLDING)


def reminders_of(db, booking_id) -> list[Reminder]:
    with transaction(db) as session:
        return list(session.scalars(select(Reminder).where(Reminder.class_booking_id == booking_id)
                                    .order_by(Reminder.id)))


def changes(db, booking_id) -> list[tuple]:
    with transaction(db) as session:
        return [(c.from_status, c.to_status, c.actor, c.at)
                for c in history.of_booking(session, kind="class", booking_id=booking_id)]


# --- sessions --------------------------------------------------------------------------------------------

def test_sync_creates_the_sessions_of_the_coming_year_once(sessions):
    example = load_booking_config(Path(__file__).resolve().parents[1] / "config" / "booking.toml")
    for _ in range(2):
        with transaction(sessions) as session:
            classes.sync(session, config=example, today=date(2026, 6, 20))
    with transaction(sessions) as session:
        rows = session.scalars(select(ClassSession).order_by(ClassSession.day, ClassSession.class_key)).all()
        assert [(r.day, r.class_key) for r in rows[:4]] == [("2026-07-11", "baby"), ("2026-07-11", "papamama"),
                                                            ("2026-09-12", "baby"), ("2026-09-12", "papamama")]
        assert len(rows) == 14                  # 7 dates within 400 days, two classes each
        assert rows[1].capacity == 20 and rows[0].start == "13:30"
        rows[0].place = "児童館 2階"  # staff moved it
    with transaction(sessions) as session:
        classes.sync(session, config=example, today=date(2026, 6, 20))
    with transaction(sessions) as session:
        assert session.scalars(select(ClassSession).order_by(ClassSession.day, ClassSession.class_key)).first() \
            .place == "児童館 2階"  # a new start of the service keeps the staff's change


def test_bookable_sessions_with_their_free_places(db):
    assert book(db, "U1", 2).ok
    with transaction(db) as session:
        found = [(row.class_key, free) for row, free in classes.bookable(session, config=CONFIG, now=NOW)]
    assert sorted(found) == [("baby", 4), ("papamama", 2)]
    with transaction(db) as session:
        assert classes.bookable(session, config=CONFIG, now=datetime(2026, 6, 10, 9, 0, tzinfo=JST)) == []


# --- booking -------------------------------------------------------------------------------------------

def test_book_alone_and_as_a_couple(db):
    alone = book(db, "U1", 1)
    couple = book(db, "U2", 2)
    assert alone.ok and couple.ok
    assert statuses(db) == {"U1": ("booked", 1), "U2": ("booked", 2)}
    assert used(db) == 3
    assert changes(db, couple.booking.id) == [(None, "booked", "mother", NOW)]
    [reminder] = reminders_of(db, couple.booking.id)
    assert (reminder.kind, reminder.status) == ("class_day_before", "pending")
    assert reminder.due_at == datetime(2026, 7, 10, 17, 0, tzinfo=JST)
    assert json.loads(reminder.message)["facts"] == {"date": "2026-07-11", "title": "パパママ教室", "start": "10:00",
                                                     "place": "はぐくみ児童館 多目的室"}
    too_many = book(db, "U3", 2)
    assert (too_many.ok, too_many.problem, too_many.params) == (False, "full", {"free": 1})
    assert book(db, "U3", 1).ok and used(db) == 4


def test_the_same_booking_tap_twice_is_one_booking(db):
    first = book(db, "U1", 2, key="tap")
    again = book(db, "U1", 2, key="tap")
    assert first.ok and again.ok and again.repeated and again.booking.id == first.booking.id
    assert used(db) == 2 and len(statuses(db)) == 1


def test_a_city_that_confirms_holds_the_places_as_a_request(db):
    confirming = replace(CONFIG, classes=tuple(replace(c, requires_confirmation=True) for c in CONFIG.classes))
    outcome = book(db, "U1", 2, config=confirming)
    assert outcome.booking.status == "requested" and used(db) == 2


def test_one_open_booking_per_mother_and_session(db):
    first = book(db, "U1", 1, key="a")
    again = book(db, "U1", 2, key="b")
    assert (again.ok, again.problem, again.booking.id) == (False, "already", first.booking.id)
    queued = wait(db, "U1", 1, key="c")
    assert (queued.ok, queued.problem) == (False, "already")
    assert used(db) == 1
    assert book(db, "U1", 1, key="d", cls="baby").ok            # another session the same day is fine
    assert cancel(db, first.booking.id).ok
    assert book(db, "U1", 2, key="e").ok                        # after cancelling she may book again
    assert used(db) == 2


def test_booking_opens_days_before_and_closes_on_the_day(db):
    early = book(db, "U1", now=datetime(2026, 6, 10, 23, 59, tzinfo=JST))
    assert (early.ok, early.problem, early.params) == (False, "not_open", {"date": "2026-06-11"})
    assert book(db, "U1", now=datetime(2026, 6, 11, 0, 0, tzinfo=JST)).ok
    on_the_day = book(db, "U2", now=datetime(2026, 7, 11, 8, 0, tzinfo=JST))
    assert on_the_day.problem == "closed"
    sid = session_id(db)
    with transaction(db) as session:
        session.get(ClassSession, sid).status = "cancelled"
    assert book(db, "U3").problem == "closed"


def test_who_may_come(db):
    papamama, baby = CONFIG.parent_class("papamama"), CONFIG.parent_class("baby")

    def due_in_week(week, days=0):   # the due date that makes 11 July her week+days
        return DAY + timedelta(days=(40 - week) * 7 - days)
    assert classes.fits(papamama, Mother(due_date=due_in_week(16), first_baby=True), DAY) == (True, [])
    assert classes.fits(papamama, Mother(due_date=due_in_week(15, 6), first_baby=True), DAY) == (False, [])
    assert classes.fits(papamama, Mother(due_date=due_in_week(36, 6), first_baby=True), DAY) == (True, [])
    assert classes.fits(papamama, Mother(due_date=due_in_week(37), first_baby=True), DAY) == (False, [])
    assert classes.fits(papamama, Mother(due_date=due_in_week(30), first_baby=False), DAY) == (False, [])
    assert classes.fits(papamama, Mother(due_date=due_in_week(30)), DAY) == (False, ["first_baby"])
    assert classes.fits(papamama, Mother(first_baby=True), DAY) == (False, ["due_date"])
    born_early = Mother(due_date=due_in_week(30), birth_date=date(2026, 7, 1), first_baby=True)
    assert classes.fits(papamama, born_early, DAY) == (False, [])
    assert classes.fits(baby, Mother(birth_date=date(2025, 7, 12)), DAY) == (True, [])
    assert classes.fits(baby, Mother(birth_date=date(2025, 7, 11)), DAY) == (False, [])    # 1 year old that day
    assert classes.fits(baby, Mother(birth_date=date(2026, 7, 11)), DAY) == (True, [])
    assert classes.fits(baby, Mother(birth_date=date(2026, 7, 12)), DAY) == (False, [])
    assert classes.fits(baby, Mother(), DAY) == (False, ["birth_date"])
    refused = book(db, "U1", mother=Mother(due_date=due_in_week(37), first_baby=True))
    assert refused.problem == "not_for_her" and used(db) == 0
    assert book(db, "U1", mother=Mother(due_date=due_in_week(30), first_baby=True)).ok


def test_cancel_until_the_classes_deadline(db):
    mine = book(db, "U1", 2).booking
    late = cancel(db, mine.id, now=datetime(2026, 7, 10, 23, 59, tzinfo=JST))
    assert (late.ok, late.problem) == (False, "past_deadline")
    assert not cancel(db, mine.id, user="U2").ok
    assert cancel(db, mine.id, now=datetime(2026, 7, 10, 23, 58, tzinfo=JST)).ok
    assert used(db) == 0 and [r.status for r in reminders_of(db, mine.id)] == ["cancelled"]
    assert changes(db, mine.id)[-1][:3] == ("booked", "cancelled", "mother")
    # the baby class: cancel_days_before = 0, so until it starts
    baby = book(db, "U1", cls="baby").booking
    assert cancel(db, baby.id, now=datetime(2026, 7, 11, 13, 30, tzinfo=JST)).problem == "past_deadline"
    assert cancel(db, baby.id, now=datetime(2026, 7, 11, 13, 29, tzinfo=JST)).ok


# --- the waiting list ------------------------------------------------------------------------------------

def fill(db):
    """Four places taken by U1, U2 (one each) and U3 with her partner."""
    return [book(db, user, party).booking for user, party in (("U1", 1), ("U2", 1), ("U3", 2))]


def test_a_full_session_has_a_waiting_list_with_positions(db):
    fill(db)
    full = book(db, "W1", 1)
    assert (full.problem, full.params) == ("full", {"free": 0})
    first, second = wait(db, "W1", 2), wait(db, "W2", 1)
    assert (first.ok, first.booking.status, first.params) == (True, "waiting", {"position": 1})
    assert second.params == {"position": 2}
    assert wait(db, "W1", 2, key=f"wait-W1-papamama-{NOW.isoformat()}").repeated
    sid = session_id(db)
    with transaction(db) as session:
        assert [b.user_id for b in classes.waiting(session, session_id=sid)] == ["W1", "W2"]
    assert used(db) == 4 and reminders_of(db, first.booking.id) == []


def counting(engine, keep=lambda statement: True):
    """The statements run on the engine inside the with-block (a list, filled as they run)."""
    class Counting(list):
        def __enter__(self):
            event.listen(engine, "before_cursor_execute", self._count)
            return self

        def __exit__(self, *exc):
            event.remove(engine, "before_cursor_execute", self._count)

        def _count(self, conn, cursor, statement, parameters, context, executemany):
            if keep(statement):
                self.append(statement)
    return Counting()


def test_joining_a_waiting_list_costs_the_same_however_long_it_is(db, engine):
    """The 9:00 rush: two thousand mothers joining one after another must not each read or try every place
    before theirs (that was a statement per person waiting, the rush's quadratic cost)."""
    fill(db)
    for n in range(5):
        wait(db, f"W{n}", 2 if n % 3 == 0 else 1)
    with counting(engine) as short:
        assert wait(db, "FIFTH", 1).params == {"position": 6}
    for n in range(5, 40):
        wait(db, f"W{n}", 2 if n % 3 == 0 else 1)
    with counting(engine) as long:
        assert wait(db, "LAST", 1).params == {"position": 42}
    assert len(long) == len(short)
    # a full class: her turn is known from a count, and the line itself is not read
    assert not [statement for statement in long if "class_bookings.party" in statement]
    assert statuses(db)["LAST"] == ("waiting", 1)


def test_the_waiting_list_follows_when_each_mother_asked_not_when_her_tap_was_reached(db):
    """In a rush the worker reaches taps a little out of order: the line keeps the order of the taps."""
    u1, _, _ = fill(db)
    sid = session_id(db)

    def join(user, asked):
        with transaction(db) as session:
            return classes.join_waitlist(session, config=CONFIG, session_id=sid, user_id=user, party=1,
                                         request_key=f"wait-{user}", now=NOW, asked_at=asked)
    late = join("TAPPED-SECOND", NOW - timedelta(seconds=1))
    early = join("TAPPED-FIRST", NOW - timedelta(seconds=2))    # reached after, asked before
    future = join("CLOCK-AHEAD", NOW + timedelta(minutes=5))      # a time after now counts as now
    assert (late.params, early.params, future.params) == ({"position": 1}, {"position": 1}, {"position": 3})
    with transaction(db) as session:
        assert [b.user_id for b in classes.waiting(session, session_id=sid)] == [
            "TAPPED-FIRST", "TAPPED-SECOND", "CLOCK-AHEAD"]
    assert cancel(db, u1.id).ok
    assert statuses(db)["TAPPED-FIRST"] == ("offered", 1) and statuses(db)["TAPPED-SECOND"] == ("waiting", 1)


def test_places_freed_for_a_long_waiting_list_try_each_party_size_once(db, engine):
    u1, u2, u3 = fill(db)
    for n in range(30):
        wait(db, f"W{n}", 2 if n % 3 == 0 else 1)   # W0 with her partner first, then one, one, two...
    is_try = lambda statement: statement.lstrip().upper().startswith("UPDATE") and "capacity_counters" in statement  # noqa: E731
    with counting(engine, is_try) as tries:
        assert cancel(db, u3.id).ok                            # two places: W0 and her partner
    assert statuses(db)["W0"] == ("offered", 2) and statuses(db)["W1"] == ("waiting", 1)
    # given back by her cancellation, taken for W0, refused to W1: nobody later fits either
    assert len(tries) <= 4


def test_a_freed_place_goes_to_the_first_in_line_whose_party_fits_at_once(db):
    u1, u2, u3 = fill(db)
    w1, w2, w3 = (wait(db, user, party).booking for user, party in (("W1", 2), ("W2", 1), ("W3", 1)))
    later = NOW + timedelta(hours=1)
    assert cancel(db, u1.id, now=later).ok                   # one place: W1 needs two, W2 gets it
    assert statuses(db)["W1"] == ("waiting", 2) and statuses(db)["W2"] == ("offered", 1)
    assert used(db) == 4                                     # taken for her at once
    with transaction(db) as session:
        offered = session.get(ClassBooking, w2.id)
        assert offered.hold_until == later + HOLD
    assert changes(db, w2.id)[-1] == ("waiting", "offered", "system", later)
    [push] = reminders_of(db, w2.id)
    assert (push.kind, push.status, push.due_at) == ("class_offer", "pending", later)
    facts = json.loads(push.message)["facts"]
    # written in the chat's date style when it is sent; its buttons carry the place she is offered
    assert facts["until"] == "2026-06-20T13:00" and facts["class_booking"] == w2.id
    assert book(db, "X1", 1).problem == "full"                # nobody jumps the line
    assert cancel(db, u2.id, now=later).ok                   # again one: W3
    assert statuses(db)["W3"] == ("offered", 1) and statuses(db)["W1"] == ("waiting", 2)
    assert cancel(db, u3.id, now=later).ok                   # two: now W1 fits
    assert statuses(db)["W1"] == ("offered", 2)
    assert used(db) == holding(db) == 4


def test_accept_within_the_hold_books_her(db):
    u1, *_ = fill(db)
    w1 = wait(db, "W1").booking
    cancel(db, u1.id)
    answered = NOW + HOLD - timedelta(minutes=1)
    outcome = accept(db, w1.id, answered)
    assert outcome.ok and not outcome.repeated and outcome.booking.status == "booked"
    assert statuses(db)["W1"] == ("booked", 1) and used(db) == holding(db) == 4
    assert changes(db, w1.id)[-1] == ("offered", "booked", "mother", answered)
    assert [r.kind for r in reminders_of(db, w1.id)] == ["class_offer", "class_day_before"]
    again = accept(db, w1.id, answered)
    assert again.ok and again.repeated
    assert not accept(db, w1.id, answered, user="U9").ok     # not hers


def test_accept_after_the_hold_has_expired(db):
    u1, *_ = fill(db)
    w1 = wait(db, "W1").booking
    cancel(db, u1.id)
    outcome = accept(db, w1.id, NOW + HOLD)
    assert (outcome.ok, outcome.problem) == (False, "expired")
    assert statuses(db)["W1"] == ("offered", 1)               # until expire_offers passes by
    assert used(db) == 4


def test_expire_offers_moves_the_offer_to_the_next_in_line(db):
    u1, *_ = fill(db)
    w1, w2 = wait(db, "W1").booking, wait(db, "W2").booking
    cancel(db, u1.id)
    assert expire(db, NOW + HOLD - timedelta(seconds=1)) == 0
    later = NOW + HOLD
    assert expire(db, later) == 1
    assert statuses(db)["W1"] == ("expired", 1) and statuses(db)["W2"] == ("offered", 1)
    assert changes(db, w1.id)[-1] == ("offered", "expired", "system", later)
    assert [r.status for r in reminders_of(db, w1.id)] == ["cancelled"]
    assert [r.kind for r in reminders_of(db, w2.id)] == ["class_offer"]
    assert used(db) == holding(db) == 4
    assert accept(db, w1.id, later).problem == "expired"
    assert expire(db, later + HOLD) == 1                      # W2 did not answer either: nobody left
    assert statuses(db)["W2"] == ("expired", 1) and used(db) == holding(db) == 3
    assert book(db, "X1").ok                                  # the place is free for anyone again


def test_decline_offer_moves_it_to_the_next_in_line(db):
    u1, *_ = fill(db)
    w1, _w2 = wait(db, "W1").booking, wait(db, "W2").booking
    cancel(db, u1.id)
    assert decline(db, w1.id, NOW).ok
    assert statuses(db)["W1"] == ("cancelled", 1) and statuses(db)["W2"] == ("offered", 1)
    assert not decline(db, w1.id, NOW).ok
    assert used(db) == holding(db) == 4


def test_a_place_free_when_she_joins_the_list_is_offered_to_her(db):
    book(db, "U1", 2)
    book(db, "U2", 1)
    couple = wait(db, "W1", 2).booking                        # one free place: not enough for two
    single = wait(db, "W2", 1).booking
    assert statuses(db)["W1"] == ("waiting", 2) and statuses(db)["W2"] == ("offered", 1)
    assert used(db) == 4 and couple.id != single.id


def test_leaving_the_waiting_list_any_time(db):
    fill(db)
    w1 = wait(db, "W1").booking
    assert cancel(db, w1.id, now=datetime(2026, 7, 10, 23, 59, tzinfo=JST)).ok
    assert statuses(db)["W1"] == ("cancelled", 1) and used(db) == 4


def test_a_place_freed_at_night_is_held_from_the_end_of_the_quiet_hours(db):
    u1, *_ = fill(db)
    wait(db, "W1")
    night = datetime(2026, 6, 20, 23, 30, tzinfo=JST)       # quiet until 08:00: nobody hears of it before
    cancel(db, u1.id, now=night)
    morning = datetime(2026, 6, 21, 8, 0, tzinfo=JST)
    assert expire(db, night + HOLD) == 0                     # her hold has not even begun to run
    assert expire(db, morning + HOLD - timedelta(seconds=1)) == 0
    assert statuses(db)["W1"] == ("offered", 1)
    assert expire(db, morning + HOLD) == 1
