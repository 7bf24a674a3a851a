"""Outgoing LINE requests: written in the transaction that decides them, then sent and marked."""
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from scheduling.messaging import lease
from scheduling.messaging.statuses import DeliveryStatus
from scheduling.store import audit, raw
from scheduling.store.models import LineUser, OutgoingMessage
from scheduling.store.sql import affected

LATE_AFTER = timedelta(minutes=3)  # an answer leaving later than this after her message says sorry first
DELAYED_AFTER = timedelta(minutes=10)  # staff see an answer still not delivered after this


def add(session: Session, *, user_id: str, messages: list[dict], now: datetime,
        reply_token: str | None = None, reply_deadline: datetime | None = None,
        not_before: datetime | None = None, source_event_id: int | None = None,
        claimed: bool = False) -> OutgoingMessage:
    """A message to send; `claimed` when the caller sends it itself right after the commit."""
    row = OutgoingMessage(
        user_id=user_id, messages=json.dumps(messages, ensure_ascii=False),
        reply_token=reply_token, reply_deadline=reply_deadline, retry_key=str(uuid.uuid4()),
        status=DeliveryStatus.PENDING, not_before=not_before or now, created_at=now, source_event_id=source_event_id,
        attempts=1 if claimed else 0, lease_until=now + lease.LEASE if claimed else None,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Claimed:
    """A message row written already claimed (the worker's own answer): what sending it needs."""
    id: int
    user_id: str
    retry_key: str
    reply_token: str | None
    reply_deadline: datetime | None
    attempts: int = 1


_ADD_CLAIMED = raw.Sql(f"""
    INSERT INTO outgoing_messages (user_id, messages, reply_token, reply_deadline, retry_key, status,
                                   not_before, lease_until, attempts, created_at, source_event_id)
    VALUES (:user_id, :messages, :reply_token, :reply_deadline, :retry_key, '{DeliveryStatus.PENDING}',
            :now, :lease_until, 1, :now, :source_event_id)
    RETURNING id""")
_MARK_SENT = raw.Sql(f"""
    UPDATE outgoing_messages SET status = '{DeliveryStatus.SENT}', sent_via = :via, sent_at = :now, lease_until = NULL
    WHERE id = :message""")


def add_claimed(session: Session, *, user_id: str, messages: list[dict], now: datetime,
                reply_token: str | None = None, reply_deadline: datetime | None = None,
                source_event_id: int | None = None) -> tuple[Claimed, list[dict]]:
    """As `add(..., claimed=True)` in one plain statement (the worker's hot path): the claimed row and
    its messages, for the caller to send right after the commit."""
    retry_key = str(uuid.uuid4())
    message_id: int = raw.execute(session, _ADD_CLAIMED, dict(
        user_id=user_id, messages=json.dumps(messages, ensure_ascii=False), reply_token=reply_token,
        reply_deadline=reply_deadline, retry_key=retry_key, now=now, lease_until=now + lease.LEASE,
        source_event_id=source_event_id)).fetchall()[0][0]
    return Claimed(message_id, user_id, retry_key, reply_token, reply_deadline), messages


def claim(session: Session, *, message_id: int, now: datetime) -> OutgoingMessage | None:
    """Take a pending message for sending, unless another sender holds it."""
    claimed = affected(session,
        update(OutgoingMessage)
        .where(OutgoingMessage.id == message_id, OutgoingMessage.status == DeliveryStatus.PENDING,
               OutgoingMessage.not_before <= now, lease.free(OutgoingMessage.lease_until, now))
        .values(lease.claimed(OutgoingMessage.attempts, now))
        .execution_options(synchronize_session=False)
    )
    return session.get(OutgoingMessage, message_id, populate_existing=True) if claimed else None


def due_ids(session: Session, *, now: datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(
        select(OutgoingMessage.id)
        .where(OutgoingMessage.status == DeliveryStatus.PENDING, OutgoingMessage.not_before <= now,
               lease.free(OutgoingMessage.lease_until, now))
        .order_by(OutgoingMessage.not_before, OutgoingMessage.id)
        .limit(limit)
    ))


def mark_sent(session: Session, *, sent: list[tuple[int, str]], now: datetime) -> None:
    """Messages sent, each with the way it went (reply, push): one statement for them all."""
    if sent:
        raw.execute_many(session, _MARK_SENT, [{"message": message_id, "via": via, "now": now}
                                               for message_id, via in sent])


def mark_failed(session: Session, *, message_id: int, error: str) -> None:
    session.execute(update(OutgoingMessage).where(OutgoingMessage.id == message_id)
                    .values(lease.released(DeliveryStatus.FAILED, error)))


def mark_skipped(session: Session, *, message_id: int, reason: str) -> None:
    session.execute(update(OutgoingMessage).where(OutgoingMessage.id == message_id)
                    .values(lease.released(DeliveryStatus.SKIPPED, reason)))


def retry_later(session: Session, *, message_id: int, error: str, now: datetime,
                retry_after: float | None = None) -> None:
    """Try again later (lease.retry_later), by push: a reply's token is long dead by the next try."""
    row = session.get(OutgoingMessage, message_id, populate_existing=True)
    if row is None:
        return
    next_try = lease.retry_later(row, error=error, first_try=row.created_at, now=now, retry_after=retry_after)
    if next_try is not None:
        row.not_before, row.reply_token = next_try, None


def recipient_blocked(session: Session, *, user_id: str) -> bool:
    user = session.get(LineUser, user_id)
    return user is not None and not user.following


def purge_sent(session: Session, *, before: datetime) -> int:
    """Forget what was sent long ago (failed rows stay for staff): the chat is LINE's to show, not ours to keep."""
    return affected(session, delete(OutgoingMessage).where(
        OutgoingMessage.status.in_((DeliveryStatus.SENT, DeliveryStatus.SKIPPED)), OutgoingMessage.created_at < before))


def is_late_answer(row: OutgoingMessage, *, asked_at: datetime | None, now: datetime) -> bool:
    """An answer to her message leaving more than LATE_AFTER after she sent it."""
    return row.source_event_id is not None and now - (asked_at or row.created_at) > LATE_AFTER


def troubled(session: Session, *, now: datetime, limit: int = 100) -> list[OutgoingMessage]:
    """Messages staff should see: failed ones, and pending ones not delivered DELAYED_AFTER after they
    were written (LINE down, the worker stopped). Oldest first."""
    return list(session.scalars(
        select(OutgoingMessage)
        .where((OutgoingMessage.status == DeliveryStatus.FAILED)
               | ((OutgoingMessage.status == DeliveryStatus.PENDING) & (OutgoingMessage.created_at < now - DELAYED_AFTER)))
        .order_by(OutgoingMessage.created_at, OutgoingMessage.id).limit(limit)))


def resend(session: Session, *, message_id: int, actor: str, now: datetime) -> bool:
    """A failed message goes out again at once (a staff action, audited). A new retry key when the old
    one may no longer hold, so LINE does not take it for a resend of what it refused."""
    row = session.get(OutgoingMessage, message_id, populate_existing=True)
    if row is None or row.status != DeliveryStatus.FAILED:
        return False
    if now - row.created_at >= lease.GIVE_UP_AFTER:
        row.retry_key, row.created_at = str(uuid.uuid4()), now
    row.status, row.not_before, row.lease_until, row.reply_token = DeliveryStatus.PENDING, now, None, None
    audit.record(session, actor=actor, action="message.resend", subject=f"outgoing_message:{message_id}", now=now)
    return True
