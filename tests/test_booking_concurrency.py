"""Capacity is enforced by the database: many bookings at once, each in its own thread (or process)
with its own connection and transaction, never take more places than there are.

On PostgreSQL every thread first opens its transaction, then all start together (a barrier), so the
requests really overlap in the database. On SQLite the write lock queues writers across threads and
processes; the barrier is passed before the transaction there (a writer holds the lock throughout)."""
import multiprocessing
import threading
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from scheduling.care import capacity, care_bookings, history, providers
from scheduling.care.care_bookings import Request
from scheduling.city.booking_config import parse_booking_config
from scheduling.classes import classes
from scheduling.dates.calendar import JST
from scheduling.rules import load_rules
from scheduling.store.db import make_engine, make_sessionmaker, transaction, upgrade_schema
from scheduling.store.models import CareBooking, ClassBooking, ClassSession, Reminder

RULES = load_rules(Path(__file__).resolve().parents[1] / "config" / "rules" / "hagukumi.toml")
ANSWERS = {"relationship": "birth", "residence": "resident", "birth_date": "2026-04-15", "exclusions": "none",
           "babies": 1, "preterm": "no"}
NOW = datetime(2026, 6, 20, 9, 0, tzinfo=JST)
HOLD = timedelta(minutes=180)
DAYS = [date(2026, 7, 11) + timedelta(days=n) for n in range(10)]
CONFIG = parse_booking_config(f'''
[policy]
offer_hold_minutes = 180

[[providers]]
id = "kaede"
name = "かえでクリニック"
phone = "0123-45-4444"
types = ["short_stay"]
beds = 3
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"

[[providers]]
id = "tsubaki"
name = "つばき医院"
phone = "0123-45-5555"
types = ["short_stay"]
beds = 1
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "児童館"
capacity = 10
opens_days_before = 60
pregnancy_weeks = {{ min = 16, max = 37 }}
dates = [{", ".join(d.isoformat() for d in DAYS)}]

[[classes]]
id = "tiny"
title = "少人数の教室"
place = "児童館"
capacity = 1
opens_days_before = 60
baby_months = {{ min = 0, max = 12 }}
dates = [{", ".join(d.isoformat() for d in DAYS)}]
''')
PG = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def open_db(url: str, threads: int):
    """An engine with a connection for every thread, its sessions, and the providers and sessions."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        engine.dispose()
        engine = create_engine(engine.url, pool_size=threads + 2, max_overflow=0)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        providers.sync(session, config=CONFIG)
        classes.sync(session, config=CONFIG, today=NOW.date())
    return engine, sessions


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine)
    engine.dispose()
    engine, sessions = open_db(database_url, 45)
    yield sessions
    engine.dispose()


def race(sessions, count: int, work) -> list:
    """Run work(session, i) in `count` threads at once, each in its own transaction."""
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    barrier = threading.Barrier(count, timeout=60)
    results, errors = [None] * count, []

    def run(i):
        try:
            if postgres:
                with transaction(sessions) as session:
                    session.execute(text("SELECT 1"))       # the transaction has begun
                    barrier.wait()
                    results[i] = work(session, i)
            else:
                barrier.wait()
                with transaction(sessions) as session:
                    results[i] = work(session, i)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def session_id(sessions, key="papamama", day=DAYS[0]) -> int:
    with transaction(sessions) as session:
        return session.scalars(select(ClassSession.id).where(ClassSession.class_key == key,
                                                             ClassSession.day == day.isoformat())).one()


def class_used(sessions, sid: int) -> int:
    with transaction(sessions) as session:
        row = session.get(ClassSession, sid)
        return capacity.used(session, resource=classes.resource(sid), first=row.day,
                             last=row.day).get((row.day, ""), (0, 0))[0]


def class_rows(sessions, sid: int) -> list[ClassBooking]:
    with transaction(sessions) as session:
        return classes.participants(session, session_id=sid)


def holding(rows) -> int:
    return sum(b.party for b in rows if b.status in classes.HOLDING)


def book_class(session, sid, user, party, key=None, now=NOW):
    return classes.book(session, config=CONFIG, session_id=sid, user_id=user, party=party,
                        request_key=key or f"{user}-{sid}", now=now)


# --- classes: the last places ------------------------------------------------------------------------

@PG
def test_forty_at_once_at_a_class_take_exactly_its_places(db):
    sid = session_id(db)
    outcomes = race(db, 40, lambda session, i: book_class(session, sid, f"U{i}", 2 if i % 2 else 1))
    assert Counter(o.problem for o in outcomes if not o.ok) == {"full": sum(not o.ok for o in outcomes)}
    rows = class_rows(db, sid)
    assert len(rows) == sum(o.ok for o in outcomes)
    assert holding(rows) == class_used(db, sid) == 10        # couples count two; singles always fill the last


def _book_in_process(url: str, sid: int, first: int, threads: int, start, out) -> None:
    engine, sessions = open_db(url, threads)
    start.wait()                                              # every process ready: go together
    results = race(sessions, threads, lambda session, i: book_class(session, sid, f"P{first + i}",
                                                                     2 if (first + i) % 3 == 0 else 1).ok)
    out.put(sum(results))
    engine.dispose()


@pytest.mark.slow(8)
def test_processes_and_threads_at_once_take_exactly_the_places(db, database_url):
    """Four processes of ten threads each: on SQLite the write lock must queue them all."""
    sid = session_id(db)
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Barrier(4, timeout=120)
    processes = [context.Process(target=_book_in_process, args=(database_url, sid, n * 10, 10, start, out))
                 for n in range(4)]
    for process in processes:
        process.start()
    made = sum(out.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(60)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    rows = class_rows(db, sid)
    assert len(rows) == made
    assert holding(rows) == class_used(db, sid) == 10


@PG
def test_the_same_class_request_from_many_threads_is_one_booking(db):
    sid = session_id(db, "tiny")                             # one place: the others wait for it
    outcomes = race(db, 20, lambda session, i: book_class(session, sid, "U1", 1, key="double-tap"))
    assert all(o.ok for o in outcomes), [o.problem for o in outcomes if not o.ok]
    assert sum(not o.repeated for o in outcomes) == 1
    assert len({o.booking.id for o in outcomes}) == 1
    assert len(class_rows(db, sid)) == 1 and class_used(db, sid) == 1


@PG
def test_one_mother_booking_one_session_from_many_threads_holds_one_booking(db):
    """Different request keys (say, two phones): the partial unique index keeps one open booking."""
    sid = session_id(db)
    outcomes = race(db, 12, lambda session, i: book_class(session, sid, "U1", 1 + i % 2, key=f"phone-{i}"))
    assert sum(o.ok for o in outcomes) == 1
    assert Counter(o.problem for o in outcomes if not o.ok) == {"already": 11}
    rows = class_rows(db, sid)
    assert len(rows) == 1 and holding(rows) == class_used(db, sid) == rows[0].party


# --- care: beds over nights ------------------------------------------------------------------------------

def request_stay(session, user, start, nights, key=None, provider="kaede"):
    return care_bookings.request(session, config=CONFIG, rules=RULES, now=NOW, answers=ANSWERS,
                                 request=Request(user, "short_stay", start, key or uuid.uuid4().hex, provider, nights))


def beds_taken(sessions, provider="kaede") -> dict[str, int]:
    with transaction(sessions) as session:
        resource = providers.resource("short_stay", providers.ids(session)[provider])
        return {day: n for (day, _), (n, _) in capacity.used(session, resource=resource, first="2026-06-01",
                                                             last="2026-07-31").items()}


@PG
def test_overlapping_stays_at_once_never_put_more_mothers_in_a_night_than_beds(db):
    """Stays of 1 to 4 nights from five start days; every third asks for any provider (かえで 3 beds,
    then つばき 1 bed)."""
    base = date(2026, 6, 29)
    outcomes = race(db, 40, lambda session, i: request_stay(session, f"U{i}", base + timedelta(days=i % 5),
                                                            1 + i % 4, provider=None if i % 3 == 0 else "kaede"))
    assert {o.problem for o in outcomes if not o.ok} <= {"full"}
    with transaction(db) as session:
        booked = session.scalars(select(CareBooking).where(CareBooking.status == "requested")).all()
        ids = providers.ids(session)
    assert len(booked) == sum(o.ok for o in outcomes) >= 4
    for key, beds in (("kaede", 3), ("tsubaki", 1)):
        guests = Counter(date.fromisoformat(b.start_date) + timedelta(days=n)
                         for b in booked if b.provider_id == ids[key] for n in range(b.nights))
        assert max(guests.values()) <= beds
        assert {date.fromisoformat(day): n for day, n in beds_taken(db, key).items() if n} == dict(guests)


@PG
def test_the_same_care_request_from_many_threads_is_one_booking(db):
    outcomes = race(db, 20, lambda session, i: request_stay(session, "U1", date(2026, 6, 29), 2, key="double-tap",
                                                            provider="tsubaki"))
    assert all(o.ok for o in outcomes), [o.problem for o in outcomes if not o.ok]
    assert sum(not o.repeated for o in outcomes) == 1
    with transaction(db) as session:
        assert session.scalar(select(func.count()).select_from(CareBooking)) == 1
        resource = providers.resource("short_stay", providers.ids(session)["tsubaki"])
        assert capacity.used(session, resource=resource, first="2026-06-29", last="2026-06-30") == {
            ("2026-06-29", ""): (1, 1), ("2026-06-30", ""): (1, 1)}


@PG
def test_staff_and_mother_ending_one_booking_at_once_free_its_bed_once(db):
    with transaction(db) as session:
        other = request_stay(session, "U2", date(2026, 6, 29), 1)
        mine = request_stay(session, "U1", date(2026, 6, 29), 1)
    booking_id = mine.booking.id

    def end(session, i):
        if i % 3 == 0:
            return care_bookings.decline(session, config=CONFIG, booking_id=booking_id, reason="満床", actor="staff:1",
                                         now=NOW)
        if i % 3 == 1:
            return care_bookings.cancel(session, config=CONFIG, booking_id=booking_id, now=NOW, user_id="U1")
        return care_bookings.cancel(session, config=CONFIG, booking_id=booking_id, now=NOW, actor="staff:2")
    outcomes = race(db, 12, end)
    assert sum(o.ok for o in outcomes) == 1
    assert beds_taken(db) == {"2026-06-29": 1}
    with transaction(db) as session:
        assert session.get(CareBooking, other.booking.id).status == "requested"
        ended = [c for c in history.of_booking(session, kind="care", booking_id=booking_id) if c.from_status]
    assert len(ended) == 1


@PG
def test_a_confirmation_racing_a_cancellation_leaves_the_bed_and_the_status_agreeing(db):
    for n in range(6):
        start = date(2026, 6, 29) + timedelta(days=n)
        with transaction(db) as session:
            booking_id = request_stay(session, f"U{n}", start, 1).booking.id

        def work(session, i, booking_id=booking_id, user=f"U{n}"):
            if i == 0:
                return care_bookings.confirm(session, config=CONFIG, booking_id=booking_id, actor="staff:1", now=NOW)
            return care_bookings.cancel(session, config=CONFIG, booking_id=booking_id, now=NOW, user_id=user)
        race(db, 2, work)
        with transaction(db) as session:
            status = session.get(CareBooking, booking_id).status
        assert beds_taken(db).get(start.isoformat(), 0) == (1 if status == "confirmed" else 0), status


# --- the waiting list -----------------------------------------------------------------------------------

def offer_one(sessions, sid: int, line: int = 1) -> list[int]:
    """The tiny session full, `line` mothers waiting, the place freed: the first of them has the offer."""
    with transaction(sessions) as session:
        taken = book_class(session, sid, f"B{sid}", 1)
    ids = []
    for n in range(line):
        with transaction(sessions) as session:
            ids.append(classes.join_waitlist(session, config=CONFIG, session_id=sid, user_id=f"W{sid}-{n}", party=1,
                                             request_key=f"w-{sid}-{n}", now=NOW).booking.id)
    with transaction(sessions) as session:
        assert classes.cancel(session, config=CONFIG, booking_id=taken.booking.id, now=NOW,
                              actor=history.SYSTEM).ok
    assert [b.status for b in class_rows(sessions, sid) if b.id == ids[0]] == ["offered"]
    return ids


@PG
def test_concurrent_accepts_of_one_offer_make_one_booking(db):
    sid = session_id(db, "tiny")
    [offered] = offer_one(db, sid)
    outcomes = race(db, 20, lambda session, i: classes.accept_offer(session, config=CONFIG, booking_id=offered,
                                                                    user_id=f"W{sid}-0", now=NOW + timedelta(hours=1)))
    assert all(o.ok for o in outcomes), [o.problem for o in outcomes if not o.ok]
    assert sum(not o.repeated for o in outcomes) == 1
    with transaction(db) as session:
        accepted = [c for c in history.of_booking(session, kind="class", booking_id=offered) if c.to_status == "booked"]
        day_before = session.scalars(select(Reminder).where(Reminder.class_booking_id == offered,
                                                            Reminder.kind == "class_day_before")).all()
    assert len(accepted) == 1 and len(day_before) == 1
    assert holding(class_rows(db, sid)) == class_used(db, sid) == 1


@PG
def test_concurrent_cancellations_offering_places_never_overfill(db):
    sid = session_id(db)                                      # 10 places
    with transaction(db) as session:
        booked = [book_class(session, sid, f"U{i}", 1).booking.id for i in range(10)]
        for n in range(15):
            classes.join_waitlist(session, config=CONFIG, session_id=sid, user_id=f"W{n}", party=2 if n % 2 == 0 else 1,
                                  request_key=f"w{n}", now=NOW + timedelta(seconds=n))
    race(db, 10, lambda session, i: classes.cancel(session, config=CONFIG, booking_id=booked[i], now=NOW,
                                                  user_id=f"U{i}").ok)
    rows = class_rows(db, sid)
    assert holding(rows) == class_used(db, sid) <= 10
    still_waiting = [b.party for b in rows if b.status == "waiting"]
    assert not still_waiting or 10 - holding(rows) < min(still_waiting)   # nobody who fits is left waiting
    offered = [b for b in rows if b.status == "offered"]
    assert offered
    with transaction(db) as session:
        for booking in offered:
            pushes = session.scalars(select(Reminder).where(Reminder.class_booking_id == booking.id)).all()
            assert [r.kind for r in pushes] == ["class_offer"]


@PG
def test_a_class_booking_cancelled_twice_at_once_frees_its_places_once(db):
    sid = session_id(db)
    with transaction(db) as session:
        book_class(session, sid, "U2", 2)
        mine = book_class(session, sid, "U1", 2).booking.id
    outcomes = race(db, 10, lambda session, i: classes.cancel(
        session, config=CONFIG, booking_id=mine, now=NOW, **({"user_id": "U1"} if i % 2 else {"actor": "staff:1"})))
    assert sum(o.ok for o in outcomes) == 1
    assert holding(class_rows(db, sid)) == class_used(db, sid) == 2


@PG
def test_leaving_the_waiting_list_while_a_place_is_freed_for_her(db):
    for day in DAYS[:5]:
        sid = session_id(db, "tiny", day)
        with transaction(db) as session:
            taken = book_class(session, sid, f"B{sid}", 1).booking.id
            first, second = (classes.join_waitlist(session, config=CONFIG, session_id=sid, user_id=f"W{sid}-{n}",
                                                   party=1, request_key=f"w-{sid}-{n}", now=NOW).booking.id
                             for n in range(2))

        def work(session, i, sid=sid, taken=taken, first=first):
            if i == 0:
                return classes.cancel(session, config=CONFIG, booking_id=taken, now=NOW, user_id=f"B{sid}")
            return classes.cancel(session, config=CONFIG, booking_id=first, now=NOW, user_id=f"W{sid}-0")
        assert all(o.ok for o in race(db, 2, work))
        status = {b.id: b.status for b in class_rows(db, sid)}
        assert (status[first], status[second]) == ("cancelled", "offered")
        assert holding(class_rows(db, sid)) == class_used(db, sid) == 1


@PG
def test_an_offer_declined_while_expire_offers_runs_goes_one_way_only(db):
    for day in DAYS:
        sid = session_id(db, "tiny", day)
        first, second = offer_one(db, sid, line=2)

        def work(session, i, sid=sid, first=first):
            if i == 0:
                return classes.decline_offer(session, config=CONFIG, booking_id=first, user_id=f"W{sid}-0",
                                             now=NOW + HOLD - timedelta(minutes=1))
            return classes.expire_offers(session, config=CONFIG, now=NOW + HOLD + timedelta(minutes=1))
        declined, expired = race(db, 2, work)
        status = {b.id: b.status for b in class_rows(db, sid)}
        assert declined.ok != bool(expired)
        assert status[first] == ("cancelled" if declined.ok else "expired")
        assert status[second] == "offered"
        assert holding(class_rows(db, sid)) == class_used(db, sid) == 1


@PG
def test_an_offer_accepted_while_expire_offers_runs_goes_one_way_only(db):
    winners = Counter()
    for day in DAYS:
        sid = session_id(db, "tiny", day)
        first, second = offer_one(db, sid, line=2)

        def work(session, i, sid=sid, first=first):
            if i == 0:
                return classes.accept_offer(session, config=CONFIG, booking_id=first, user_id=f"W{sid}-0",
                                            now=NOW + HOLD - timedelta(minutes=1))
            return classes.expire_offers(session, config=CONFIG, now=NOW + HOLD + timedelta(minutes=1))
        accepted, expired = race(db, 2, work)
        status = {b.id: b.status for b in class_rows(db, sid)}
        if accepted.ok:
            assert (status[first], status[second], expired) == ("booked", "waiting", 0)
        else:
            assert accepted.problem == "expired"
            assert (status[first], status[second], expired) == ("expired", "offered", 1)
        assert holding(class_rows(db, sid)) == class_used(db, sid) == 1
        winners["accept" if accepted.ok else "expire"] += 1
    assert sum(winners.values()) == len(DAYS)


def test_one_mothers_requests_at_once_never_pass_her_caps(db):
    """Her caps are counted from her other bookings: twenty different requests of hers at once, with room
    everywhere, make exactly as many bookings as the short-stay cap allows."""
    cap = RULES.in_force(DAYS[0]).types["short_stay"].cap
    outcomes = race(db, 20, lambda session, i: request_stay(session, "U1", DAYS[i % 10], 1, provider=None))
    made = [o for o in outcomes if o.ok]
    assert len(made) == cap and all(o.problem == "not_eligible" for o in outcomes if not o.ok)
    with transaction(db) as session:
        assert session.scalar(select(func.count()).select_from(CareBooking)) == cap
