"""Parent classes for staff: the sessions with their places and waiting lists, a session added or
changed, a session cancelled with a push to everyone booked or waiting, the participant list and
attendance. Places always move through the capacity counter (scheduling/care/capacity.py); every change is
in the audit trail.

A session's time, place and title come from the city's file (config/booking.toml) for the classes it
lists, and classes.sync puts them back when a process starts: a change made here that should last
belongs in the file too (the page says so).
"""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduling.care import capacity, history
from scheduling.city.booking_config import BookingConfig
from scheduling.classes import classes
from scheduling.classes.statuses import SessionStatus
from scheduling.dates.calendar import jst_today
from scheduling.family import mothers
from scheduling.messaging import reminders
from scheduling.store import audit
from scheduling.store.models import ClassBooking, ClassSession, Mother
from scheduling.store.statuses import ClassBookingStatus

ATTENDANCE = (ClassBookingStatus.ATTENDED, ClassBookingStatus.NO_SHOW)
PARTICIPATING = (*classes.HOLDING, *ATTENDANCE)   # on the participant list


class ClassAdminError(ValueError):
    """A change staff asked for cannot be made; `problem` names why (the page says it in Japanese)."""

    def __init__(self, problem: str, **params):
        super().__init__(problem)
        self.problem, self.params = problem, params


@dataclass(frozen=True)
class SessionInfo:
    row: ClassSession
    taken: int          # places (persons) held: booked, requested, offered
    waiting: int        # entries on the waiting list
    waiting_persons: int
    recorded: bool = False  # attendance recorded for at least one booking (attended or no-show)


@dataclass(frozen=True)
class Participant:
    booking: ClassBooking
    number: int         # its place on the printed list
    mother: Mother | None   # her registration, when she has one (the bot keeps no names)


def sessions(session: Session, *, first: date, last: date | None = None) -> list[SessionInfo]:
    """Sessions from `first` (to `last`), in date order, with places taken and the waiting list."""
    query = select(ClassSession).where(ClassSession.day >= first.isoformat())
    if last:
        query = query.where(ClassSession.day <= last.isoformat())
    rows = list(session.scalars(query.order_by(ClassSession.day, ClassSession.start, ClassSession.id)))
    if not rows:
        return []
    ids = [row.id for row in rows]
    counts = {(session_id, status): (n, persons) for session_id, status, n, persons in session.execute(
        select(ClassBooking.session_id, ClassBooking.status, func.count(), func.sum(ClassBooking.party))
        .where(ClassBooking.session_id.in_(ids)).group_by(ClassBooking.session_id, ClassBooking.status))}

    def persons(session_id: int, *statuses: str) -> int:
        return sum(int(counts.get((session_id, s), (0, 0))[1] or 0) for s in statuses)

    return [SessionInfo(row, persons(row.id, *classes.HOLDING), counts.get((row.id, ClassBookingStatus.WAITING), (0, 0))[0],
                        persons(row.id, ClassBookingStatus.WAITING),
                        any((row.id, s) in counts for s in ATTENDANCE)) for row in rows]


def info(session: Session, *, session_id: int) -> SessionInfo | None:
    row = session.get(ClassSession, session_id)
    if row is None:
        return None
    found = sessions(session, first=date.fromisoformat(row.day), last=date.fromisoformat(row.day))
    return next(i for i in found if i.row.id == session_id)


def create(session: Session, *, config: BookingConfig, class_key: str, day: date, start: str, end: str,
           place: str, capacity_persons: int, actor: str, now: datetime) -> ClassSession:
    """An extra session of one of the city's classes (so she can book it in the chat)."""
    source = config.parent_class(class_key)
    if source is None:
        raise ClassAdminError("unknown_class")
    _check(day=day, start=start, end=end, capacity_persons=capacity_persons, place=place, now=now)
    taken = session.scalars(select(ClassSession).where(ClassSession.class_key == class_key,
                                                       ClassSession.day == day.isoformat())).first()
    if taken is not None:
        raise ClassAdminError("same_day", session_id=taken.id)
    row = ClassSession(class_key=class_key, day=day.isoformat(), start=start, end=end, title=source.title,
                       place=place.strip(), capacity=capacity_persons, status=SessionStatus.SCHEDULED)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="class_session_created", subject=f"class_session:{row.id}", now=now,
                 after=_facts(row))
    return row


def edit(session: Session, *, config: BookingConfig, session_id: int, start: str, end: str, place: str,
         capacity_persons: int, actor: str, now: datetime) -> ClassSession:
    """Change a coming session's time, place or capacity. The capacity cannot go below the places
    taken; places it adds go to the waiting list in turn."""
    row = session.get(ClassSession, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED:
        raise ClassAdminError("gone")
    _check(day=date.fromisoformat(row.day), start=start, end=end, capacity_persons=capacity_persons, place=place,
           now=now)
    before = _facts(row)
    if capacity_persons != row.capacity and not capacity.set_capacity(
            session, resource=classes.resource(row.id), day=row.day, slot="", capacity=capacity_persons):
            taken = capacity.used(session, resource=classes.resource(row.id), first=row.day, last=row.day)
            raise ClassAdminError("below_taken", taken=taken.get((row.day, ""), (0, 0))[0])
    row.start, row.end, row.place, row.capacity = start, end, place.strip(), capacity_persons
    session.flush()
    offered = classes.offer_freed(session, config=config, session_id=row.id, now=now)
    audit.record(session, actor=actor, action="class_session_changed", subject=f"class_session:{row.id}", now=now,
                 before=before, after={**_facts(row), "offered": len(offered)})
    return row


def cancel(session: Session, *, config: BookingConfig, session_id: int, reason: str, actor: str,
           now: datetime) -> int:
    """Cancel the session: every booking and waiting-list entry is cancelled (places freed, their
    reminders stopped) and each of those mothers gets one push. Returns the number of pushes."""
    row = session.get(ClassSession, session_id)
    if row is None or row.status != SessionStatus.SCHEDULED:
        raise ClassAdminError("gone")
    open_bookings = list(session.scalars(select(ClassBooking).where(ClassBooking.session_id == row.id,
                                                                    ClassBooking.status.in_(classes.OPEN))
                                         .order_by(ClassBooking.id)))
    before = {**_facts(row), "bookings": len(open_bookings)}
    row.status = SessionStatus.CANCELLED   # first, so that freed places are not offered to the waiting list
    session.flush()
    told = set()
    for booking in open_bookings:
        classes.cancel(session, config=config, booking_id=booking.id, now=now, actor=actor,
                       reason=f"session cancelled: {reason}")
        if booking.user_id in told or booking.user_id.startswith("deleted:"):
            continue
        told.add(booking.user_id)
        reminders.add(session, user_id=booking.user_id, kind="class_cancelled", due_at=now, now=now,
                      class_booking_id=booking.id,
                      facts={"date": row.day, "title": row.title})
    audit.record(session, actor=actor, action="class_session_cancelled", subject=f"class_session:{row.id}",
                 now=now, before=before, after={"status": SessionStatus.CANCELLED, "reason": reason, "pushes": len(told)})
    return len(told)


def participants(session: Session, *, session_id: int) -> list[Participant]:
    """Who comes (or came), in the order they booked: the list to print."""
    rows = [b for b in classes.participants(session, session_id=session_id) if b.status in PARTICIPATING]
    return [Participant(b, n, _mother(session, b.user_id)) for n, b in enumerate(rows, start=1)]


def waiting_list(session: Session, *, session_id: int) -> list[Participant]:
    """The waiting list in order: the first is offered the next freed place that fits her party."""
    return [Participant(b, n, _mother(session, b.user_id))
            for n, b in enumerate(classes.waiting(session, session_id=session_id), start=1)]


def mark_attendance(session: Session, *, booking_id: int, status: str, actor: str, now: datetime) -> ClassBooking:
    """On the day or after: attended or no_show (a mistake can be corrected the same way)."""
    booking = session.get(ClassBooking, booking_id)
    if status not in ATTENDANCE or booking is None or booking.status not in (ClassBookingStatus.BOOKED, *ATTENDANCE):
        raise ClassAdminError("gone")
    row = session.get_one(ClassSession, booking.session_id)
    if date.fromisoformat(row.day) > jst_today(now):
        raise ClassAdminError("not_yet")
    if booking.status == status:
        return booking
    before = booking.status
    history.record(session, kind=classes.KIND, booking_id=booking.id, before=before, after=status, actor=actor,
                   now=now)
    booking.status, booking.updated_at = status, now
    audit.record(session, actor=actor, action="class_attendance", subject=f"class_booking:{booking.id}", now=now,
                 before={"status": before}, after={"status": status})
    return booking


def confirm_request(session: Session, *, booking_id: int, actor: str, now: datetime) -> ClassBooking:
    """A class that the city confirms: her request becomes a place, and she is told by push."""
    booking = classes.locked(session, booking_id)
    if booking is None or booking.status != ClassBookingStatus.REQUESTED:
        raise ClassAdminError("gone")
    row = session.get_one(ClassSession, booking.session_id)
    history.record(session, kind=classes.KIND, booking_id=booking.id, before=ClassBookingStatus.REQUESTED,
                   after=ClassBookingStatus.BOOKED, actor=actor, now=now)
    booking.status, booking.updated_at = ClassBookingStatus.BOOKED, now
    reminders.add(session, user_id=booking.user_id, kind="class_confirmed", due_at=now, now=now,
                  class_booking_id=booking.id,
                  facts={"date": row.day, "title": row.title, "start": row.start, "place": row.place})
    audit.record(session, actor=actor, action="class_confirmed", subject=f"class_booking:{booking.id}", now=now,
                 before={"status": ClassBookingStatus.REQUESTED}, after={"status": ClassBookingStatus.BOOKED})
    return booking


def _mother(session: Session, user_id: str) -> Mother | None:
    return None if user_id.startswith("deleted:") else mothers.latest(session, user_id=user_id)


def _check(*, day: date, start: str, end: str, capacity_persons: int, place: str, now: datetime) -> None:
    if day <= jst_today(now):
        raise ClassAdminError("past")
    if not (_clock(start) and _clock(end)) or end <= start:
        raise ClassAdminError("times")
    if capacity_persons < 1 or capacity_persons > 500:
        raise ClassAdminError("capacity")
    if not place.strip():
        raise ClassAdminError("place")


def _clock(text: str) -> bool:
    return len(text) == 5 and text[2] == ":" and text[:2].isdigit() and text[3:].isdigit() \
        and int(text[:2]) < 24 and int(text[3:]) < 60


def _facts(row: ClassSession) -> dict:
    return {"class": row.class_key, "day": row.day, "start": row.start, "end": row.end, "place": row.place,
            "capacity": row.capacity, "status": row.status}
