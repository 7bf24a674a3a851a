"""Outgoing LINE requests: written in the transaction that decides them, then sent and marked."""
import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from scheduling.models import LineUser, OutgoingMessage

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


def add(session: Session, *, user_id: str, messages: list[dict], now: datetime,
        reply_token: str | None = None, reply_deadline: datetime | None = None,
        not_before: datetime | None = None, source_event_id: int | None = None,
        claimed: bool = False) -> OutgoingMessage:
    """A message to send; `claimed` when the caller sends it itself right after the commit."""
    row = OutgoingMessage(
        user_id=user_id, messages=json.dumps(messages, ensure_ascii=False),
        reply_token=reply_token, reply_deadline=reply_deadline, retry_key=str(uuid.uuid4()),
        status="pending", not_before=not_before or now, created_at=now, source_event_id=source_event_id,
        attempts=1 if claimed else 0, lease_until=now + LEASE if claimed else None,
    )
    session.add(row)
    session.flush()
    return row


def claim(session: Session, *, message_id: int, now: datetime) -> OutgoingMessage | None:
    """Take a pending message for sending, unless another sender holds it."""
    claimed = session.execute(
        update(OutgoingMessage)
        .where(OutgoingMessage.id == message_id, OutgoingMessage.status == "pending",
               OutgoingMessage.not_before <= now,
               (OutgoingMessage.lease_until.is_(None)) | (OutgoingMessage.lease_until <= now))
        .values(lease_until=now + LEASE, attempts=OutgoingMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return session.get(OutgoingMessage, message_id, populate_existing=True) if claimed else None


def due_ids(session: Session, *, now: datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(
        select(OutgoingMessage.id)
        .where(OutgoingMessage.status == "pending", OutgoingMessage.not_before <= now,
               (OutgoingMessage.lease_until.is_(None)) | (OutgoingMessage.lease_until <= now))
        .order_by(OutgoingMessage.not_before, OutgoingMessage.id)
        .limit(limit)
    ))


def mark_sent(session: Session, *, message_id: int, via: str, now: datetime) -> None:
    session.execute(update(OutgoingMessage).where(OutgoingMessage.id == message_id)
                    .values(status="sent", sent_via=via, sent_at=now, lease_until=None))


def mark_failed(session: Session, *, message_id: int, error: str) -> None:
    session.execute(update(OutgoingMessage).where(OutgoingMessage.id == message_id)
                    .values(status="failed", last_error=error[-2000:], lease_until=None))


def mark_skipped(session: Session, *, message_id: int, reason: str) -> None:
    session.execute(update(OutgoingMessage).where(OutgoingMessage.id == message_id)
                    .values(status="skipped", last_error=reason, lease_until=None))


def retry_later(session: Session, *, message_id: int, error: str, now: datetime) -> None:
    """Back off exponentially (capped at an hour); give up as failed after MAX_ATTEMPTS."""
    row = session.get(OutgoingMessage, message_id, populate_existing=True)
    row.last_error = error[-2000:]
    row.lease_until = None
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.not_before = now + timedelta(seconds=min(2 ** row.attempts, 3600))
        row.reply_token = None  # a token is long dead by the next try: push instead


def recipient_blocked(session: Session, *, user_id: str) -> bool:
    user = session.get(LineUser, user_id)
    return user is not None and not user.following


def purge_sent(session: Session, *, before: datetime) -> int:
    """Forget what was sent long ago (failed rows stay for staff): the chat is LINE's to show, not ours to keep."""
    return session.execute(
        delete(OutgoingMessage).where(OutgoingMessage.status.in_(("sent", "skipped")),
                                      OutgoingMessage.created_at < before)
    ).rowcount
