"""Parent classes: sessions from the city's file, places in persons (a couple takes two), a waiting
list whose freed places are offered in turn, each held for her for a set time.

Places are taken from the session's capacity counter, so the database never lets a session overfill;
an offer takes the freed places at once, in the same transaction that frees them.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Row, String, and_, bindparam, func, literal, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.care import capacity, history
from scheduling.city.booking_config import BookingConfig, ParentClass
from scheduling.classes.problems import ClassProblem
from scheduling.classes.statuses import SessionStatus
from scheduling.dates.calendar import JST, after_quiet_hours, at, class_dates, jst_today
from scheduling.messaging import reminders
from scheduling.rules.periods import add_months, pregnancy_week
from scheduling.store.models import CapacityCounter, ClassBooking, ClassSession
from scheduling.store.sql import insert_ignoring_duplicates, one_of, run
from scheduling.store.statuses import ClassBookingStatus

KIND = "class"
HOLDING = (ClassBookingStatus.BOOKED, ClassBookingStatus.REQUESTED, ClassBookingStatus.OFFERED)   # hold places
OPEN = (*HOLDING, ClassBookingStatus.WAITING)
PLAN_AHEAD = timedelta(days=400)
SessionRow = ClassSession | Row   # a session as an ORM object, or as the columns the chat reads of it

# The chat reads these on every tap of the class dialog: prebuilt Core statements of the columns it needs.
_SESSIONS, _COUNTERS = ClassSession.__table__, CapacityCounter.__table__
_BOOKINGS = ClassBooking.__table__
_SESSION_COLUMNS = (_SESSIONS.c.id, _SESSIONS.c.class_key, _SESSIONS.c.day, _SESSIONS.c.start, _SESSIONS.c.end,
                    _SESSIONS.c.title, _SESSIONS.c.place, _SESSIONS.c.capacity, _SESSIONS.c.status)
_SESSION = select(*_SESSION_COLUMNS).where(_SESSIONS.c.id == bindparam("session"))
# her own open booking of each session (the index allows one); none when no user is given
_HERS = (select(_BOOKINGS.c.status)
         .where(_BOOKINGS.c.session_id == _SESSIONS.c.id, _BOOKINGS.c.user_id == bindparam("user"),
                one_of(_BOOKINGS.c.status, OPEN))
         .order_by(_BOOKINGS.c.id.desc()).limit(1).scalar_subquery())
# each scheduled session to come with its counter of places (as `resource` names it), if one exists yet
_UPCOMING = (select(*_SESSION_COLUMNS, _COUNTERS.c.used, _COUNTERS.c.capacity.label("counted"), _HERS.label("mine"))
             .outerjoin(_COUNTERS, and_(_COUNTERS.c.resource == literal("class:") + sql_cast(_SESSIONS.c.id, String),
                                        _COUNTERS.c.day == _SESSIONS.c.day, _COUNTERS.c.slot == ""))
             .where(_SESSIONS.c.status == SessionStatus.SCHEDULED, _SESSIONS.c.day > bindparam("today"))
             .order_by(_SESSIONS.c.day, _SESSIONS.c.start))
_BY_KEY = select(_BOOKINGS.c.id).where(_BOOKINGS.c.request_key == bindparam("key"))
# a booking's columns with its session's (the session's own id is the booking's session_id)
_BOOKING_ROW = (select(_BOOKINGS.c.id, _BOOKINGS.c.session_id, _BOOKINGS.c.user_id, _BOOKINGS.c.party,
                       _BOOKINGS.c.status, _BOOKINGS.c.hold_until, _SESSIONS.c.class_key, _SESSIONS.c.day,
                       _SESSIONS.c.start, _SESSIONS.c.end, _SESSIONS.c.title, _SESSIONS.c.place)
                .join(_SESSIONS, _SESSIONS.c.id == _BOOKINGS.c.session_id))
_BOOKING_BY_ID = _BOOKING_ROW.where(_BOOKINGS.c.id == bindparam("booking"))
_BOOKING_BY_KEY = _BOOKING_ROW.where(_BOOKINGS.c.request_key == bindparam("key"))
_WAITING = (select(_BOOKINGS.c.id, _BOOKINGS.c.user_id, _BOOKINGS.c.party)
            .where(_BOOKINGS.c.session_id == bindparam("session"), _BOOKINGS.c.status == ClassBookingStatus.WAITING)
            .order_by(_BOOKINGS.c.created_at, _BOOKINGS.c.id))
# an offer moves a place on the waiting list only as long as nobody else has moved it
_OFFER = (update(_BOOKINGS)
          .where(_BOOKINGS.c.id == bindparam("booking"), _BOOKINGS.c.status == ClassBookingStatus.WAITING)
          .values(status=ClassBookingStatus.OFFERED, hold_until=bindparam("hold"), updated_at=bindparam("at")))
_ACCEPT = (update(_BOOKINGS)
           .where(_BOOKINGS.c.id == bindparam("booking"), _BOOKINGS.c.status == ClassBookingStatus.OFFERED,
                  _BOOKINGS.c.hold_until > bindparam("at"))
           .values(status=bindparam("to"), hold_until=None, updated_at=bindparam("at")))
_EXPIRE = (update(_BOOKINGS)
           .where(_BOOKINGS.c.id == bindparam("booking"), _BOOKINGS.c.status == ClassBookingStatus.OFFERED,
                  _BOOKINGS.c.hold_until <= bindparam("at"))
           .values(status=ClassBookingStatus.EXPIRED, updated_at=bindparam("at")))
# her turn: those waiting who asked before her (the line's order, _WAITING), and herself
_WAITING_AHEAD = (select(func.count()).select_from(_BOOKINGS)
                  .where(_BOOKINGS.c.session_id == bindparam("session"),
                         _BOOKINGS.c.status == ClassBookingStatus.WAITING,
                         (_BOOKINGS.c.created_at < bindparam("at"))
                         | ((_BOOKINGS.c.created_at == bindparam("at")) & (_BOOKINGS.c.id <= bindparam("id")))))


@dataclass(frozen=True)
class Mother:
    """What a class's conditions need to know of her (from her registration or her answers)."""
    due_date: date | None = None
    birth_date: date | None = None
    first_baby: bool | None = None


@dataclass(frozen=True)
class Outcome:
    """ok, or why not (problem, see problems.py)."""
    ok: bool
    booking: ClassBooking | None = None
    problem: ClassProblem | None = None
    params: dict = field(default_factory=dict)
    repeated: bool = False


def resource(session_id: int) -> str:
    return f"class:{session_id}"


def sync(session: Session, *, config: BookingConfig, today: date) -> None:
    """Create the sessions of the coming year from the file. A session that exists is left as it is:
    once created, staff own it (time, place, capacity, cancellation) in the admin panel."""
    rows = [dict(class_key=c.key, day=d.isoformat(), start=c.start, end=c.end, title=c.title, place=c.place,
                 capacity=c.capacity, status=SessionStatus.SCHEDULED)
            for c in config.classes for d in class_dates(c, today, today + PLAN_AHEAD)]
    for chunk in range(0, len(rows), 500):
        insert_ignoring_duplicates(session, ClassSession.__table__, rows[chunk:chunk + 500], key=None)


def fits(parent_class: ParentClass, mother: Mother, day: date) -> tuple[bool, list[str]]:
    """Can she come to a session on `day`? (ok, the facts still unknown: due_date, birth_date, first_baby)."""
    unknown = []
    if parent_class.first_baby_only:
        if mother.first_baby is None:
            unknown.append("first_baby")
        elif not mother.first_baby:
            return False, []
    if parent_class.pregnancy_weeks:
        if mother.due_date is None:
            unknown.append("due_date")
        elif mother.birth_date is not None and mother.birth_date <= day:
            return False, []
        else:
            low, high = parent_class.pregnancy_weeks
            if not low <= pregnancy_week(mother.due_date, day)[0] < high:
                return False, []
    if parent_class.baby_months:
        if mother.birth_date is None:
            unknown.append("birth_date")
        else:
            low, high = parent_class.baby_months
            if not add_months(mother.birth_date, low) <= day < add_months(mother.birth_date, high):
                return False, []
    return not unknown, unknown


def bookable(session: Session, *, config: BookingConfig, now: datetime,
             user_id: str | None = None) -> list[tuple[Row, int]]:
    """Scheduled sessions whose booking is open now, with their free places; each row's `mine` is the
    status of `user_id`'s own open booking of it, if any."""
    today = jst_today(now)
    found = []
    for row in run(session, _UPCOMING, {"today": today.isoformat(), "user": user_id}):
        source = config.parent_class(row.class_key)
        if source and date.fromisoformat(row.day) - timedelta(days=source.opens_days_before) <= today:
            used, cap = (row.used, row.counted) if row.counted is not None else (0, row.capacity)
            found.append((row, max(cap - used, 0)))
    return found


def free_places(session: Session, row: SessionRow) -> int:
    taken = capacity.used(session, resource=resource(row.id), first=row.day, last=row.day)
    used, cap = taken.get((row.day, ""), (0, row.capacity))
    return max(cap - used, 0)


def book(session: Session, *, config: BookingConfig, session_id: int, user_id: str, party: int, request_key: str,
         now: datetime, mother: Mother | None = None) -> Outcome:
    """A place (two with her partner), at once, or as a request when the city confirms."""
    earlier = _by_key(session, request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    row, source, problem = _open_session(session, config, session_id, now)
    if problem:
        return problem
    assert row is not None and source is not None
    if mother is not None and not fits(source, mother, date.fromisoformat(row.day))[0]:
        return Outcome(False, problem=ClassProblem.NOT_FOR_HER)
    status = ClassBookingStatus.REQUESTED if source.requires_confirmation else ClassBookingStatus.BOOKED
    try:
        with session.begin_nested():
            if not capacity.take(session, resource=resource(row.id), places=[(row.day, "", row.capacity)],
                                 count=party):
                earlier = _by_key(session, request_key)  # committed while we waited for the last places
                if earlier is not None:
                    return Outcome(True, earlier, repeated=True)
                return Outcome(False, problem=ClassProblem.FULL, params={"free": free_places(session, row)})
            booking = _insert(session, row, user_id, party, status, request_key, now)
    except IntegrityError:
        return _already(session, request_key, row.id, user_id)
    _plan_day_before(session, config=config, row=row, booking=booking, now=now)
    return Outcome(True, booking)


def join_waitlist(session: Session, *, config: BookingConfig, session_id: int, user_id: str, party: int,
                  request_key: str, now: datetime, asked_at: datetime | None = None) -> Outcome:
    """Her place in line, in the order of asking: `asked_at` is when she tapped (LINE's timestamp of the
    event), so that in a rush the line follows the taps, not the order the worker reached them."""
    earlier = _by_key(session, request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    row, _, problem = _open_session(session, config, session_id, now)
    if problem:
        return problem
    assert row is not None
    try:
        with session.begin_nested():
            booking = _insert(session, row, user_id, party, ClassBookingStatus.WAITING, request_key, now,
                              asked_at=min(asked_at or now, now))
    except IntegrityError:
        return _already(session, request_key, row.id, user_id)
    position: int = run(session, _WAITING_AHEAD, {"session": row.id, "at": booking.created_at,
                                                  "id": booking.id}).scalar_one()
    # places may have been freed meanwhile, with nobody waiting to offer them to; when not even one is free
    # (the conditional UPDATE waits for a cancellation that holds the counter), nobody in line fits: the
    # line, two thousand long in a rush, is not read
    capacity.ensure(session, resource=resource(row.id), day=row.day, slot="", capacity=row.capacity)
    if capacity.take_ensured(session, resource=resource(row.id), day=row.day, slot="", count=1):
        capacity.give_back(session, resource=resource(row.id), places=[(row.day, "")], count=1)
        _offer_in_turn(session, config, row, now)
    return Outcome(True, booking, params={"position": position})


def waiting(session: Session, *, session_id: int) -> list[ClassBooking]:
    return list(session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id,
                                                           ClassBooking.status == ClassBookingStatus.WAITING)
                                .order_by(ClassBooking.created_at, ClassBooking.id)))


def booking_row(session: Session, *, booking_id: int) -> Row | None:
    """A booking with its session's class_key, day, start, end, title and place, as one row."""
    return run(session, _BOOKING_BY_ID, {"booking": booking_id}).first()


def booking_row_by_key(session: Session, *, request_key: str) -> Row | None:
    return run(session, _BOOKING_BY_KEY, {"key": request_key}).first()


def waiting_line(session: Session, *, session_id: int) -> list[Row]:
    """The waiting list in turn: each place's id, user_id and party."""
    return list(run(session, _WAITING, {"session": session_id}))


def cancel(session: Session, *, config: BookingConfig, booking_id: int, now: datetime, user_id: str | None = None,
           actor: str = history.MOTHER, reason: str | None = None) -> Outcome:
    """Her own (until the class's deadline), or by staff; freed places go to the waiting list."""
    booking = locked(session, booking_id)
    if booking is None or (user_id is not None and booking.user_id != user_id) or booking.status not in OPEN:
        return Outcome(False, booking, problem=ClassProblem.GONE)
    row = _session_of(session, booking.session_id)
    if actor == history.MOTHER and booking.status != ClassBookingStatus.WAITING and now >= cancel_deadline(config, row):
        return Outcome(False, booking, problem=ClassProblem.PAST_DEADLINE)
    freed = booking.status in HOLDING  # leaving the waiting list frees no place
    _leave(session, booking, ClassBookingStatus.CANCELLED, actor, now, reason)
    if freed:
        offer_freed(session, config=config, session_id=row.id, now=now)
    return Outcome(True, booking)


def cancel_deadline(config: BookingConfig, row: SessionRow) -> datetime:
    source = config.parent_class(row.class_key)
    days = source.cancel_days_before if source else 0
    day = date.fromisoformat(row.day) - timedelta(days=days)
    return at(day, "23:59") if days else at(day, row.start)


def offer_freed(session: Session, *, config: BookingConfig, session_id: int, now: datetime) -> list[Row]:
    """Offer free places to the waiting list in turn (the first in line whose party fits), each held
    for the city's hold time: the places are taken now, so nobody else can have them meanwhile."""
    row = session_row(session, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED or date.fromisoformat(row.day) <= jst_today(now):
        return []
    return _offer_in_turn(session, config, row, now)


def _offer_in_turn(session: Session, config: BookingConfig, row: Row, now: datetime) -> list[Row]:
    """offer_freed, for a session known to be scheduled and to come."""
    # held from the moment she can hear of it: an offer made at night waits for the quiet hours' end
    hold_until = after_quiet_hours(now, config.policy) + timedelta(minutes=config.policy.offer_hold_minutes)
    offered: list[Row] = []
    line = waiting_line(session, session_id=row.id)
    if line:
        capacity.ensure(session, resource=resource(row.id), day=row.day, slot="", capacity=row.capacity)
    refused = None  # the smallest party there was no room for: a party as large does not fit either
    for entry in line:
        if refused is not None and entry.party >= refused:
            continue
        if not capacity.take_ensured(session, resource=resource(row.id), day=row.day, slot="", count=entry.party):
            refused = entry.party
            continue
        taken = run(session, _OFFER, {"booking": entry.id, "hold": hold_until, "at": now}).rowcount
        if not taken:  # someone else moved this entry meanwhile: give the places back
            capacity.give_back(session, resource=resource(row.id), places=[(row.day, "")], count=entry.party)
            continue
        history.record(session, kind=KIND, booking_id=entry.id, before=ClassBookingStatus.WAITING,
                       after=ClassBookingStatus.OFFERED, actor=history.SYSTEM, now=now)
        reminders.add(session, user_id=entry.user_id, kind="class_offer", due_at=now, now=now,
                      class_booking_id=entry.id,
                      facts={**_params(row), "class_booking": entry.id, "until": _clock(hold_until)})
        offered.append(entry)
    return offered


def accept_offer(session: Session, *, config: BookingConfig, booking_id: int, user_id: str,
                 now: datetime) -> Outcome:
    """Her place, if she answers while it is held for her; a second tap is the same answer."""
    booking = session.get(ClassBooking, booking_id)
    if booking is None or booking.user_id != user_id:
        return Outcome(False, problem=ClassProblem.GONE)
    if booking.status in (ClassBookingStatus.BOOKED, ClassBookingStatus.REQUESTED):
        return Outcome(True, booking, repeated=True)
    row = _session_of(session, booking.session_id)
    source = config.parent_class(row.class_key)
    status = ClassBookingStatus.REQUESTED if source and source.requires_confirmation else ClassBookingStatus.BOOKED
    accepted = run(session, _ACCEPT, {"booking": booking_id, "to": status, "at": now}).rowcount
    session.refresh(booking)
    if not accepted:
        if booking.status in (ClassBookingStatus.BOOKED, ClassBookingStatus.REQUESTED):  # her other tap got there first
            return Outcome(True, booking, repeated=True)
        return Outcome(False, booking, problem=ClassProblem.EXPIRED)
    history.record(session, kind=KIND, booking_id=booking.id, before=ClassBookingStatus.OFFERED, after=status,
                   actor=history.MOTHER, now=now)
    _plan_day_before(session, config=config, row=row, booking=booking, now=now)
    return Outcome(True, booking)


def decline_offer(session: Session, *, config: BookingConfig, booking_id: int, user_id: str,
                  now: datetime) -> Outcome:
    booking = locked(session, booking_id)
    if booking is None or booking.user_id != user_id or booking.status != ClassBookingStatus.OFFERED:
        return Outcome(False, booking, problem=ClassProblem.GONE)
    _leave(session, booking, ClassBookingStatus.CANCELLED, history.MOTHER, now, "declined the offer")
    offer_freed(session, config=config, session_id=booking.session_id, now=now)
    return Outcome(True, booking)


def expire_offers(session: Session, *, config: BookingConfig, now: datetime, limit: int = 100) -> int:
    """Offers nobody answered in time: the places go to the next in line."""
    due = list(session.scalars(select(ClassBooking).where(ClassBooking.status == ClassBookingStatus.OFFERED,
                                                          ClassBooking.hold_until <= now).limit(limit)))
    count = 0
    for booking in due:
        expired = run(session, _EXPIRE, {"booking": booking.id, "at": now}).rowcount
        if not expired:  # accepted or declined meanwhile
            continue
        count += 1
        row = _session_of(session, booking.session_id)
        capacity.give_back(session, resource=resource(row.id), places=[(row.day, "")], count=booking.party)
        history.record(session, kind=KIND, booking_id=booking.id, before=ClassBookingStatus.OFFERED,
                       after=ClassBookingStatus.EXPIRED, actor=history.SYSTEM, now=now)
        reminders.cancel_for(session, class_booking_id=booking.id)
        offer_freed(session, config=config, session_id=row.id, now=now)
    return count


def of_user(session: Session, *, user_id: str, upcoming_from: date | None = None) -> list[tuple[ClassBooking,
                                                                                                  ClassSession]]:
    query = (select(ClassBooking, ClassSession).join(ClassSession, ClassSession.id == ClassBooking.session_id)
             .where(ClassBooking.user_id == user_id))
    if upcoming_from:
        query = query.where(ClassSession.day >= upcoming_from.isoformat(), ClassBooking.status.in_(OPEN))
    return list(session.execute(query.order_by(ClassSession.day, ClassBooking.id)).all())


def participants(session: Session, *, session_id: int) -> list[ClassBooking]:
    return list(session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id)
                                .order_by(ClassBooking.created_at, ClassBooking.id)))


# --- inside ------------------------------------------------------------------------------------------

def session_row(session: Session, session_id: int) -> Row | None:
    """A session's columns (not an ORM object)."""
    return run(session, _SESSION, {"session": session_id}).first()


def _session_of(session: Session, session_id: int) -> Row:
    """The session of a booking (it always has one)."""
    return run(session, _SESSION, {"session": session_id}).one()


def _open_session(session: Session, config: BookingConfig, session_id: int,
                  now: datetime) -> tuple[Row | None, ParentClass | None, Outcome | None]:
    row = session_row(session, session_id)
    source = config.parent_class(row.class_key) if row else None
    if (row is None or source is None or row.status != SessionStatus.SCHEDULED
            or date.fromisoformat(row.day) <= jst_today(now)):
        return row, source, Outcome(False, problem=ClassProblem.CLOSED)
    opens = date.fromisoformat(row.day) - timedelta(days=source.opens_days_before)
    if jst_today(now) < opens:
        return row, source, Outcome(False, problem=ClassProblem.NOT_OPEN, params={"date": opens.isoformat()})
    return row, source, None


def _insert(session: Session, row: Row, user_id: str, party: int, status: str, request_key: str,
            now: datetime, asked_at: datetime | None = None) -> ClassBooking:
    booking = ClassBooking(session_id=row.id, user_id=user_id, party=party, status=status,
                           request_key=request_key, created_at=asked_at or now, updated_at=now)
    session.add(booking)
    session.flush()
    history.record(session, kind=KIND, booking_id=booking.id, before=None, after=status, actor=history.MOTHER,
                   now=now)
    return booking


def locked(session: Session, booking_id: int) -> ClassBooking | None:
    """The booking read afresh with its row locked until the transaction ends, so that two changes of one
    booking at once (staff and her, her answer and the offer's expiry) happen one after the other.
    (SQLite ignores FOR UPDATE: its writers queue for the one write lock anyway.)"""
    return session.get(ClassBooking, booking_id, with_for_update=True, populate_existing=True)


def _by_key(session: Session, request_key: str) -> ClassBooking | None:
    found = run(session, _BY_KEY, {"key": request_key}).scalar()
    return session.get(ClassBooking, found) if found is not None else None


def _already(session: Session, request_key: str, session_id: int, user_id: str) -> Outcome:
    earlier = _by_key(session, request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    existing = session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id,
                                                          ClassBooking.user_id == user_id,
                                                          ClassBooking.status.in_(OPEN))).first()
    return Outcome(False, existing, problem=ClassProblem.ALREADY)


def _leave(session: Session, booking: ClassBooking, to: str, actor: str, now: datetime, note: str | None) -> None:
    row = _session_of(session, booking.session_id)
    if booking.status in HOLDING:
        capacity.give_back(session, resource=resource(row.id), places=[(row.day, "")], count=booking.party)
    history.record(session, kind=KIND, booking_id=booking.id, before=booking.status, after=to, actor=actor,
                   now=now, note=note)
    booking.status, booking.updated_at, booking.hold_until = to, now, None
    reminders.cancel_for(session, class_booking_id=booking.id)


def _plan_day_before(session: Session, *, config: BookingConfig, row: Row, booking: ClassBooking,
                     now: datetime) -> None:
    due = at(date.fromisoformat(row.day) - timedelta(days=1), config.policy.reminder_time)
    if due > now:
        reminders.add(session, user_id=booking.user_id, kind="class_day_before", due_at=due, now=now,
                      class_booking_id=booking.id, facts=_params(row))


def _params(row: Row) -> dict:
    return {"date": row.day, "title": row.title, "start": row.start, "place": row.place}


def _clock(moment: datetime) -> str:
    """Her local time, "2026-12-01T15:00": the catalog writes it in the chat's one date style."""
    return f"{moment.astimezone(JST):%Y-%m-%dT%H:%M}"
