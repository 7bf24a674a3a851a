"""Parent classes: sessions from the city's file, places in persons (a couple takes two), a waiting
list whose freed places are offered in turn, each held for her for a set time.

Places are taken from the session's capacity counter, so the database never lets a session overfill;
an offer takes the freed places at once, in the same transaction that frees them.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.care import capacity, history
from scheduling.city.booking_config import BookingConfig, ParentClass
from scheduling.classes.problems import ClassProblem
from scheduling.classes.statuses import SessionStatus
from scheduling.dates.calendar import JST, after_quiet_hours, at, class_dates, jst_today
from scheduling.messaging import reminders
from scheduling.rules.periods import add_months, pregnancy_week
from scheduling.store.models import ClassBooking, ClassSession
from scheduling.store.sql import insert_ignoring_duplicates
from scheduling.store.statuses import ClassBookingStatus

KIND = "class"
HOLDING = (ClassBookingStatus.BOOKED, ClassBookingStatus.REQUESTED, ClassBookingStatus.OFFERED)   # hold places
OPEN = (*HOLDING, ClassBookingStatus.WAITING)
PLAN_AHEAD = timedelta(days=400)


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


def bookable(session: Session, *, config: BookingConfig, now: datetime) -> list[tuple[ClassSession, int]]:
    """Scheduled sessions whose booking is open now, with their free places."""
    today = jst_today(now)
    rows = session.scalars(select(ClassSession).where(ClassSession.status == SessionStatus.SCHEDULED,
                                                      ClassSession.day > today.isoformat())
                           .order_by(ClassSession.day, ClassSession.start))
    found = []
    for row in rows:
        source = config.parent_class(row.class_key)
        if source and date.fromisoformat(row.day) - timedelta(days=source.opens_days_before) <= today:
            found.append((row, free_places(session, row)))
    return found


def free_places(session: Session, row: ClassSession) -> int:
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
                  request_key: str, now: datetime) -> Outcome:
    earlier = _by_key(session, request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    row, _, problem = _open_session(session, config, session_id, now)
    if problem:
        return problem
    try:
        with session.begin_nested():
            booking = _insert(session, row, user_id, party, ClassBookingStatus.WAITING, request_key, now)
    except IntegrityError:
        return _already(session, request_key, row.id, user_id)
    position = len(waiting(session, session_id=row.id))
    # places may have been freed meanwhile, with nobody waiting to offer them to
    offer_freed(session, config=config, session_id=row.id, now=now)
    return Outcome(True, booking, params={"position": position})


def waiting(session: Session, *, session_id: int) -> list[ClassBooking]:
    return list(session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id,
                                                           ClassBooking.status == ClassBookingStatus.WAITING)
                                .order_by(ClassBooking.created_at, ClassBooking.id)))


def cancel(session: Session, *, config: BookingConfig, booking_id: int, now: datetime, user_id: str | None = None,
           actor: str = history.MOTHER, reason: str | None = None) -> Outcome:
    """Her own (until the class's deadline), or by staff; freed places go to the waiting list."""
    booking = locked(session, booking_id)
    if booking is None or (user_id is not None and booking.user_id != user_id) or booking.status not in OPEN:
        return Outcome(False, booking, problem=ClassProblem.GONE)
    row = session.get(ClassSession, booking.session_id)
    if actor == history.MOTHER and booking.status != ClassBookingStatus.WAITING and now >= cancel_deadline(config, row):
        return Outcome(False, booking, problem=ClassProblem.PAST_DEADLINE)
    freed = booking.status in HOLDING  # leaving the waiting list frees no place
    _leave(session, booking, ClassBookingStatus.CANCELLED, actor, now, reason)
    if freed:
        offer_freed(session, config=config, session_id=row.id, now=now)
    return Outcome(True, booking)


def cancel_deadline(config: BookingConfig, row: ClassSession) -> datetime:
    source = config.parent_class(row.class_key)
    days = source.cancel_days_before if source else 0
    day = date.fromisoformat(row.day) - timedelta(days=days)
    return at(day, "23:59") if days else at(day, row.start)


def offer_freed(session: Session, *, config: BookingConfig, session_id: int, now: datetime) -> list[ClassBooking]:
    """Offer free places to the waiting list in turn (the first in line whose party fits), each held
    for the city's hold time: the places are taken now, so nobody else can have them meanwhile."""
    row = session.get(ClassSession, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED or date.fromisoformat(row.day) <= jst_today(now):
        return []
    # held from the moment she can hear of it: an offer made at night waits for the quiet hours' end
    hold_until = after_quiet_hours(now, config.policy) + timedelta(minutes=config.policy.offer_hold_minutes)
    offered = []
    for entry in waiting(session, session_id=session_id):
        if not capacity.take(session, resource=resource(row.id), places=[(row.day, "", row.capacity)],
                             count=entry.party):
            continue
        taken = session.execute(update(ClassBooking).where(ClassBooking.id == entry.id,
                                                           ClassBooking.status == ClassBookingStatus.WAITING)
                                .values(status=ClassBookingStatus.OFFERED, hold_until=hold_until, updated_at=now)
                                .execution_options(synchronize_session=False)).rowcount
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
    row = session.get(ClassSession, booking.session_id)
    source = config.parent_class(row.class_key)
    status = ClassBookingStatus.REQUESTED if source and source.requires_confirmation else ClassBookingStatus.BOOKED
    accepted = session.execute(update(ClassBooking).where(ClassBooking.id == booking_id,
                                                          ClassBooking.status == ClassBookingStatus.OFFERED,
                                                          ClassBooking.hold_until > now)
                               .values(status=status, hold_until=None, updated_at=now)
                               .execution_options(synchronize_session=False)).rowcount
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
        expired = session.execute(update(ClassBooking).where(ClassBooking.id == booking.id,
                                                             ClassBooking.status == ClassBookingStatus.OFFERED,
                                                             ClassBooking.hold_until <= now)
                                  .values(status=ClassBookingStatus.EXPIRED, updated_at=now)
                                  .execution_options(synchronize_session=False)).rowcount
        if not expired:  # accepted or declined meanwhile
            continue
        count += 1
        row = session.get(ClassSession, booking.session_id)
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

def _open_session(session: Session, config: BookingConfig, session_id: int, now: datetime):
    row = session.get(ClassSession, session_id)
    source = config.parent_class(row.class_key) if row else None
    if (row is None or source is None or row.status != SessionStatus.SCHEDULED
            or date.fromisoformat(row.day) <= jst_today(now)):
        return row, source, Outcome(False, problem=ClassProblem.CLOSED)
    opens = date.fromisoformat(row.day) - timedelta(days=source.opens_days_before)
    if jst_today(now) < opens:
        return row, source, Outcome(False, problem=ClassProblem.NOT_OPEN, params={"date": opens.isoformat()})
    return row, source, None


def _insert(session, row, user_id, party, status, request_key, now) -> ClassBooking:
    booking = ClassBooking(session_id=row.id, user_id=user_id, party=party, status=status,
                           request_key=request_key, created_at=now, updated_at=now)
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
    return session.scalars(select(ClassBooking).where(ClassBooking.request_key == request_key)).first()


def _already(session: Session, request_key: str, session_id: int, user_id: str) -> Outcome:
    earlier = _by_key(session, request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    existing = session.scalars(select(ClassBooking).where(ClassBooking.session_id == session_id,
                                                          ClassBooking.user_id == user_id,
                                                          ClassBooking.status.in_(OPEN))).first()
    return Outcome(False, existing, problem=ClassProblem.ALREADY)


def _leave(session, booking: ClassBooking, to: str, actor: str, now: datetime, note: str | None) -> None:
    row = session.get(ClassSession, booking.session_id)
    if booking.status in HOLDING:
        capacity.give_back(session, resource=resource(row.id), places=[(row.day, "")], count=booking.party)
    history.record(session, kind=KIND, booking_id=booking.id, before=booking.status, after=to, actor=actor,
                   now=now, note=note)
    booking.status, booking.updated_at, booking.hold_until = to, now, None
    reminders.cancel_for(session, class_booking_id=booking.id)


def _plan_day_before(session, *, config: BookingConfig, row: ClassSession, booking: ClassBooking, now) -> None:
    due = at(date.fromisoformat(row.day) - timedelta(days=1), config.policy.reminder_time)
    if due > now:
        reminders.add(session, user_id=booking.user_id, kind="class_day_before", due_at=due, now=now,
                      class_booking_id=booking.id, facts=_params(row))


def _params(row: ClassSession) -> dict:
    return {"date": row.day, "title": row.title, "start": row.start, "place": row.place}


def _clock(moment: datetime) -> str:
    """Her local time, "2026-12-01T15:00": the catalog writes it in the chat's one date style."""
    return f"{moment.astimezone(JST):%Y-%m-%dT%H:%M}"
