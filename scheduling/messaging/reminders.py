"""Pushes due at a moment, as rows: written in the transaction that causes them, claimed by the
dispatcher (bot/dispatcher.py), sent with X-Line-Retry-Key derived from the row, marked sent or failed.

A row is a notice: its `kind` says what happened, its `message` holds the facts as JSON, {"facts": {…}}
(ids, dates, names; "about_class": a class's id for a timed push that advertises it). The words and buttons
are the dialogs' (dialogs/notices.py), rendered in her language when it is sent. Rows written before
notices hold a list of {"key", "params", "choices"}; the dispatcher still reads them.
"""
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from scheduling.dates.calendar import after_quiet_hours, jst_today
from scheduling.messaging import lease, outbox
from scheduling.messaging.statuses import DeliveryStatus
from scheduling.store import audit
from scheduling.store.models import CareBooking, ClassBooking, ClassSession, LineUser, Reminder
from scheduling.store.sql import affected, run
from scheduling.store.statuses import CareBookingStatus, ClassBookingStatus

ClaimedRow = Row[Any]  # a claimed reminder's columns, read by name as on a Reminder
_REMINDERS = Reminder.__table__

RETRY_NAMESPACE = uuid.UUID("6f1c8a52-3e0b-4d7e-9a51-0c2f6b9d4e11")
CARE_CHECKED = ("care_day_before",)  # sent only while the booking is on
CLASS_CHECKED = ("class_day_before", "class_offer")
# scheduling.classes.classes.OPEN (which imports this)
CLASS_OPEN = (ClassBookingStatus.BOOKED, ClassBookingStatus.REQUESTED,
              ClassBookingStatus.WAITING, ClassBookingStatus.OFFERED)
RICHMENU = "richmenu"   # not a push: her rich menu is switched to her stage's (bot/dispatcher.py)
MENU_STAGES = {"pregnant": "pregnant", "mother": "after_birth"}   # Mother.status -> the rich menu's stage


def retry_key(reminder_id: int) -> str:
    """The same row always gets the same key: a resend after a crash is recognised by LINE (409)."""
    return str(uuid.uuid5(RETRY_NAMESPACE, f"reminder:{reminder_id}"))


def add(session: Session, *, user_id: str, kind: str, facts: dict, due_at: datetime, now: datetime,
        care_booking_id: int | None = None, class_booking_id: int | None = None, stage: str | None = None,
        plan_key: str | None = None) -> Reminder:
    row = Reminder(user_id=user_id, kind=kind, message=json.dumps({"facts": facts}, ensure_ascii=False), due_at=due_at,
                   status=DeliveryStatus.PENDING, stage=stage, care_booking_id=care_booking_id,
                   class_booking_id=class_booking_id, plan_key=plan_key, attempts=0, created_at=now)
    session.add(row)
    session.flush()
    return row


def menu_stage(status: str | None) -> str:
    """The rich menu for a mother's status; anything else (ended, replaced, none, deleted) is not_registered."""
    return MENU_STAGES.get(status or "", "not_registered")


def switch_menu(session: Session, *, user_id: str | None, stage: str, now: datetime) -> Reminder | None:
    """Her rich menu follows her stage: a row the dispatcher sends now, retried like a push. A switch still
    pending is cancelled: only her latest stage counts."""
    if user_id is None:
        return None
    session.execute(update(Reminder).where(Reminder.user_id == user_id, Reminder.kind == RICHMENU,
                                           Reminder.status == DeliveryStatus.PENDING)
                    .values(status=DeliveryStatus.CANCELLED, lease_until=None).execution_options(synchronize_session=False))
    return add(session, user_id=user_id, kind=RICHMENU, facts={"stage": stage}, due_at=now, now=now)


def facts_of(row: Reminder | ClaimedRow) -> dict | None:
    """The notice's facts, or None for a row written before notices (a list of words)."""
    message = json.loads(row.message)
    return message["facts"] if isinstance(message, dict) else None


def menu_stage_of(row: Reminder | ClaimedRow) -> str:
    facts = facts_of(row)
    return facts["stage"] if facts is not None else json.loads(row.message)[0]["richmenu"]


def forget_switches(session: Session, *, ids: list[int]) -> None:
    """A switch made holds nothing worth keeping (and may be all that is left of a mother who deleted
    her data): it goes."""
    if ids:
        session.execute(delete(Reminder).where(Reminder.id.in_(ids), Reminder.kind == RICHMENU,
                                               Reminder.status == DeliveryStatus.SENT)
                        .execution_options(synchronize_session=False))


def cancel_for(session: Session, *, care_booking_id: int | None = None, class_booking_id: int | None = None,
               kinds: tuple[str, ...] | None = None) -> int:
    """Cancel the pending reminders of a booking (all, or only those of `kinds`)."""
    condition = (Reminder.care_booking_id == care_booking_id if care_booking_id is not None
                 else Reminder.class_booking_id == class_booking_id)
    statement = update(Reminder).where(condition, Reminder.status == DeliveryStatus.PENDING)
    if kinds:
        statement = statement.where(Reminder.kind.in_(kinds))
    return affected(session, statement.values(status=DeliveryStatus.CANCELLED, lease_until=None)
                    .execution_options(synchronize_session=False))


def claim_due(session: Session, *, now: datetime, limit: int = 200,
              kinds: tuple[str, ...] | None = None) -> list[ClaimedRow]:
    """Take up to `limit` due rows nobody holds (only of `kinds`, when given), in one statement. On
    PostgreSQL, FOR UPDATE SKIP LOCKED lets several dispatchers share the work; SQLite has one writer at a
    time anyway. The rows come back as Core rows (the ORM's loading of 200 objects a batch was a tenth of
    a push's CPU)."""
    due = (select(Reminder.id)
           .where(Reminder.status == DeliveryStatus.PENDING, Reminder.due_at <= now,
                  lease.free(Reminder.lease_until, now))
           .order_by(Reminder.due_at, Reminder.id).limit(limit))
    if kinds is not None:
        due = due.where(Reminder.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # on the table, not the mapped class: the rows come back as columns, not loaded as objects
    rows = run(session, update(_REMINDERS).where(Reminder.id.in_(due.scalar_subquery()))
               .values(**lease.claimed(Reminder.attempts, now),
                       first_tried_at=func.coalesce(Reminder.first_tried_at,
                                                    literal(now, Reminder.first_tried_at.type)))
               .returning(*_REMINDERS.c)).all()
    return sorted(rows, key=lambda row: (row.due_at, row.id))


def blocked_users(session: Session, user_ids: set[str]) -> set[str]:
    return set(session.scalars(select(LineUser.user_id).where(LineUser.user_id.in_(user_ids),
                                                              LineUser.following.is_(False))))


def recipients(session: Session, user_ids: set[str]) -> dict[str, tuple[str | None, bool]]:
    """(language, following) of each user we know (a Core read: the ORM's loading was most of its cost)."""
    rows = session.connection().execute(select(LineUser.user_id, LineUser.language, LineUser.following)
                                        .where(LineUser.user_id.in_(user_ids)))
    return {user_id: (language, following) for user_id, language, following in rows}


def reasons_to_hold_back(session: Session, rows: Sequence[Reminder | ClaimedRow], *, following: dict[str, bool],
                         now: datetime) -> dict[int, str]:
    """Why some claimed rows must not be sent (they become `skipped` with the reason): she blocked the
    account, or the booking a reminder is about is no longer on. Users we never stored count as following."""
    care_ids = {row.care_booking_id for row in rows if row.kind in CARE_CHECKED and row.care_booking_id}
    class_ids = {row.class_booking_id for row in rows if row.kind in CLASS_CHECKED and row.class_booking_id}
    care: dict[int | None, str] = {booking_id: status for booking_id, status in session.execute(
        select(CareBooking.id, CareBooking.status).where(CareBooking.id.in_(care_ids)))} if care_ids else {}
    classes: dict[int | None, tuple[str | None, datetime | None]] = {
        booking_id: (status, hold_until) for booking_id, status, hold_until in session.execute(
            select(ClassBooking.id, ClassBooking.status, ClassBooking.hold_until)
            .where(ClassBooking.id.in_(class_ids)))} if class_ids else {}
    booked = _classes_booked(session, rows, now)
    reasons = {}
    for row in rows:
        if row.kind == RICHMENU:   # switched even while she blocks us: right when she comes back
            continue
        if not following.get(row.user_id, True):
            reasons[row.id] = "the user has blocked the account"
        elif (row.user_id, _about_class(row)) in booked:
            reasons[row.id] = f"she has already booked the class it is about ({_about_class(row)})"
        elif row.kind == "care_day_before":
            status = care.get(row.care_booking_id)
            if status == CareBookingStatus.REQUESTED:
                reasons[row.id] = "the care booking was still not confirmed by staff the day before"
            elif status != CareBookingStatus.CONFIRMED:
                reasons[row.id] = f"the care booking is {status or 'gone'}"
        elif row.kind == "class_day_before":
            status = classes.get(row.class_booking_id, (None, None))[0]
            if status == ClassBookingStatus.REQUESTED:
                reasons[row.id] = "the class booking was still not confirmed by staff the day before"
            elif status != ClassBookingStatus.BOOKED:
                reasons[row.id] = f"the class booking is {status or 'gone'}"
        elif row.kind == "class_offer":
            status, hold_until = classes.get(row.class_booking_id, (None, None))
            if status != ClassBookingStatus.OFFERED or hold_until is None or hold_until <= now:
                reasons[row.id] = "the offered place is no longer held for her"
    return reasons


def _about_class(row: Reminder | ClaimedRow) -> str | None:
    """The class a timed push advertises (its message spec's "about_class"), if any."""
    if not row.kind.startswith("timed:"):
        return None
    try:
        facts = facts_of(row)
        if facts is not None:
            return facts.get("about_class")
        return next((spec.get("about_class") for spec in json.loads(row.message) if spec.get("about_class")), None)
    except (ValueError, AttributeError, TypeError):
        return None


def _classes_booked(session: Session, rows: Sequence[Reminder | ClaimedRow], now: datetime) -> set[tuple[str, str]]:
    """(user, class id) for the users of rows about a class who have an open booking of an upcoming session."""
    users = {row.user_id for row in rows if _about_class(row)}
    if not users:
        return set()
    found = session.execute(select(ClassBooking.user_id, ClassSession.class_key)
                            .join(ClassSession, ClassSession.id == ClassBooking.session_id)
                            .where(ClassBooking.user_id.in_(users), ClassBooking.status.in_(CLASS_OPEN),
                                   ClassSession.day >= jst_today(now).isoformat()))
    return {(user, key) for user, key in found}


def mark_sent(session: Session, *, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(update(Reminder).where(Reminder.id.in_(ids), Reminder.status == DeliveryStatus.PENDING)
                        .values(status=DeliveryStatus.SENT, sent_at=now, lease_until=None)
                        .execution_options(synchronize_session=False))


def mark(session: Session, *, reminder_id: int, status: str, error: str) -> None:
    """failed (staff see it) or skipped (blocked user, booking no longer on)."""
    session.execute(update(Reminder).where(Reminder.id == reminder_id, Reminder.status == DeliveryStatus.PENDING)
                    .values(lease.released(status, error))
                    .execution_options(synchronize_session=False))


def retry_later(session: Session, *, reminder_id: int, error: str, now: datetime,
                retry_after: float | None = None) -> None:
    """Try again later, as outgoing messages are (lease.retry_later): the retry key holds from its first try."""
    row = session.get(Reminder, reminder_id, populate_existing=True)
    if row is None or row.status != DeliveryStatus.PENDING:
        return
    next_try = lease.retry_later(row, error=error, first_try=row.first_tried_at or now, now=now,
                                 retry_after=retry_after)
    if next_try is not None:
        row.due_at = next_try


@dataclass(frozen=True)
class Waiting:
    """A push about a booking not sent yet: what, when it goes, and whether quiet hours hold it until then."""
    kind: str
    sends_at: datetime
    held_by_night: bool


def waiting_for_care(session: Session, *, care_booking_id: int, policy, now: datetime) -> list[Waiting]:
    """The booking's pending pushes with the moment each will really go (after the quiet hours, not before now;
    `policy` None: no quiet hours, as in the local chat started with --no-quiet-hours)."""
    rows = session.scalars(select(Reminder).where(Reminder.care_booking_id == care_booking_id,
                                                  Reminder.status == DeliveryStatus.PENDING).order_by(Reminder.due_at))
    waiting = []
    for row in rows:
        due = max(row.due_at, now)
        sends = after_quiet_hours(due, policy) if policy is not None else due
        waiting.append(Waiting(row.kind, sends, sends != due))
    return waiting


def failed(session: Session, *, limit: int = 100) -> list[Reminder]:
    """Reminders that could not be sent, newest first (for staff)."""
    return list(session.scalars(select(Reminder).where(Reminder.status == DeliveryStatus.FAILED)
                                .order_by(Reminder.due_at.desc()).limit(limit)))


def delayed(session: Session, *, now: datetime, limit: int = 100) -> list[Reminder]:
    """Pushes still being retried DELAYED_AFTER after their first try (LINE down), oldest first (for staff)."""
    return list(session.scalars(select(Reminder).where(Reminder.status == DeliveryStatus.PENDING,
                                                       Reminder.first_tried_at < now - outbox.DELAYED_AFTER)
                                .order_by(Reminder.first_tried_at).limit(limit)))


def resend(session: Session, *, reminder_id: int, actor: str, now: datetime) -> bool:
    """A failed push goes out again at once (after she followed the account again, say), with the checks of
    any push (quiet hours, blocked, booking still on), under the same retry key: LINE never took it, so it
    is no duplicate. A staff action, audited."""
    row = session.get(Reminder, reminder_id, populate_existing=True)
    if row is None or row.status != DeliveryStatus.FAILED:
        return False
    row.status, row.due_at, row.attempts, row.lease_until, row.first_tried_at = DeliveryStatus.PENDING, now, 0, None, None
    audit.record(session, actor=actor, action="reminder.resend", subject=f"reminder:{reminder_id}", now=now,
                 before={"status": DeliveryStatus.FAILED, "error": (row.last_error or "")[:200]},
                 after={"status": DeliveryStatus.PENDING})
    return True


def resolve(session: Session, *, reminder_id: int, actor: str, now: datetime) -> bool:
    """Staff dealt with a failed push another way (a phone call): it leaves the list; audited."""
    row = session.get(Reminder, reminder_id, populate_existing=True)
    if row is None or row.status != DeliveryStatus.FAILED:
        return False
    row.status = DeliveryStatus.RESOLVED
    audit.record(session, actor=actor, action="reminder.resolve", subject=f"reminder:{reminder_id}", now=now,
                 before={"status": DeliveryStatus.FAILED}, after={"status": DeliveryStatus.RESOLVED})
    return True
