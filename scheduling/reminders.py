"""Pushes due at a moment, as rows: written in the transaction that causes them, claimed by the
dispatcher (bot/dispatcher.py), sent with X-Line-Retry-Key derived from the row, marked sent or failed.

A row's `message` is what to say, not LINE JSON: a list of {"key", "params", "choices": [[label, data]]}
rendered in her language when it is sent.
"""
import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from scheduling.models import LineUser, Reminder

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8
RETRY_NAMESPACE = uuid.UUID("6f1c8a52-3e0b-4d7e-9a51-0c2f6b9d4e11")


def retry_key(reminder_id: int) -> str:
    """The same row always gets the same key: a resend after a crash is recognised by LINE (409)."""
    return str(uuid.uuid5(RETRY_NAMESPACE, f"reminder:{reminder_id}"))


def say(key: str, params: dict | None = None, choices: list[tuple[str, str]] = ()) -> dict:
    return {"key": key, "params": params or {}, "choices": [list(c) for c in choices]}


def add(session: Session, *, user_id: str, kind: str, says: list[dict], due_at: datetime, now: datetime,
        care_booking_id: int | None = None, class_booking_id: int | None = None, stage: str | None = None,
        plan_key: str | None = None) -> Reminder:
    row = Reminder(user_id=user_id, kind=kind, message=json.dumps(says, ensure_ascii=False), due_at=due_at,
                   status="pending", stage=stage, care_booking_id=care_booking_id,
                   class_booking_id=class_booking_id, plan_key=plan_key, attempts=0, created_at=now)
    session.add(row)
    session.flush()
    return row


def cancel_for(session: Session, *, care_booking_id: int | None = None, class_booking_id: int | None = None,
               kinds: tuple[str, ...] | None = None) -> int:
    """Cancel the pending reminders of a booking (all, or only those of `kinds`)."""
    condition = (Reminder.care_booking_id == care_booking_id if care_booking_id is not None
                 else Reminder.class_booking_id == class_booking_id)
    statement = update(Reminder).where(condition, Reminder.status == "pending")
    if kinds:
        statement = statement.where(Reminder.kind.in_(kinds))
    return session.execute(statement.values(status="cancelled", lease_until=None)
                           .execution_options(synchronize_session=False)).rowcount


def claim_due(session: Session, *, now: datetime, limit: int = 200) -> list[Reminder]:
    """Take up to `limit` due rows nobody holds. On PostgreSQL, FOR UPDATE SKIP LOCKED lets several
    dispatchers share the work; SQLite has one writer at a time anyway."""
    query = (select(Reminder.id)
             .where(Reminder.status == "pending", Reminder.due_at <= now,
                    (Reminder.lease_until.is_(None)) | (Reminder.lease_until <= now))
             .order_by(Reminder.due_at, Reminder.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    session.execute(update(Reminder).where(Reminder.id.in_(ids))
                    .values(lease_until=now + LEASE, attempts=Reminder.attempts + 1)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(select(Reminder).where(Reminder.id.in_(ids)).order_by(Reminder.due_at, Reminder.id)
                                .execution_options(populate_existing=True)))


def blocked_users(session: Session, user_ids: set[str]) -> set[str]:
    return set(session.scalars(select(LineUser.user_id).where(LineUser.user_id.in_(user_ids),
                                                              LineUser.following.is_(False))))


def mark_sent(session: Session, *, ids: list[int], now: datetime) -> None:
    if ids:
        session.execute(update(Reminder).where(Reminder.id.in_(ids), Reminder.status == "pending")
                        .values(status="sent", sent_at=now, lease_until=None)
                        .execution_options(synchronize_session=False))


def mark(session: Session, *, reminder_id: int, status: str, error: str) -> None:
    """failed (staff see it) or skipped (blocked user, booking no longer on)."""
    session.execute(update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "pending")
                    .values(status=status, last_error=error[-2000:], lease_until=None)
                    .execution_options(synchronize_session=False))


def retry_later(session: Session, *, reminder_id: int, error: str, now: datetime) -> None:
    """Back off exponentially (capped at an hour); give up as failed after MAX_ATTEMPTS."""
    row = session.get(Reminder, reminder_id, populate_existing=True)
    if row is None or row.status != "pending":
        return
    row.last_error, row.lease_until = error[-2000:], None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.due_at = now + timedelta(seconds=min(2 ** row.attempts, 3600))


def failed(session: Session, *, limit: int = 100) -> list[Reminder]:
    """Reminders that could not be sent, newest first (for staff)."""
    return list(session.scalars(select(Reminder).where(Reminder.status == "failed")
                                .order_by(Reminder.due_at.desc()).limit(limit)))
