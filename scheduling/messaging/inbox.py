"""Inbound webhook events: stored on receipt, claimed one user at a time, marked done."""
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from scheduling.store.models import InboundEvent
from scheduling.store.sql import insert_ignoring_duplicates

LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
WAIT_FOR_STORE = timedelta(seconds=2)
KEEP_HANDLED = timedelta(days=7)  # handled events are forgotten then; older events are refused, not acted on


def add(session: Session, *, events: list[dict], now: datetime) -> int:
    """Store events (dicts with webhook_event_id, user_id, event_type, occurred_at, is_redelivery,
    body, and optionally status "rejected" with the reason as last_error); an id seen before is
    skipped, which is the de-duplication. Returns how many were new."""
    rows = [dict(dict(status="pending", last_error=None), **event, received_at=now, attempts=0) for event in events]
    return insert_ignoring_duplicates(session, InboundEvent.__table__, rows, "webhook_event_id")


def claim_next(session: Session, *, user_id: str, now: datetime) -> tuple[int, str] | None:
    """Claim the user's oldest pending event, unless another worker holds it: (id, body) or None.

    One statement: on PostgreSQL a second worker racing for the same row waits for the first, then
    re-checks the row as the first left it (leased, or already done) and claims nothing."""
    oldest = (select(InboundEvent.id)
              .where(InboundEvent.user_id == user_id, InboundEvent.status == "pending")
              .order_by(InboundEvent.occurred_at, InboundEvent.id).limit(1).scalar_subquery())
    return session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == oldest, InboundEvent.status == "pending",
               (InboundEvent.lease_until.is_(None)) | (InboundEvent.lease_until <= now))
        .values(lease_until=now + LEASE, attempts=InboundEvent.attempts + 1)
        .returning(InboundEvent.id, InboundEvent.body)
        .execution_options(synchronize_session=False)
    ).first()


def finish(session: Session, *, event_id: int) -> None:
    session.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                    .values(status="done", lease_until=None))


def fail(session: Session, *, event_id: int, error: str, now: datetime) -> bool:
    """Retry a failed event later, with backoff; after MAX_ATTEMPTS set it aside for staff (True)."""
    event = session.get(InboundEvent, event_id)
    event.last_error = error[-2000:]
    event.lease_until = now + timedelta(seconds=2 ** event.attempts)
    if event.attempts >= MAX_ATTEMPTS:
        event.status = "failed"
    return event.status == "failed"


def postpone(session: Session, *, event_id: int, error: str, now: datetime) -> None:
    """Try the event again shortly without counting this try: a part it needs (the state store) did not
    answer. It stays pending however long that lasts, and shows on /healthz as the oldest pending event."""
    session.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                    .values(attempts=InboundEvent.attempts - 1, lease_until=now + WAIT_FOR_STORE,
                            last_error=error[-2000:]))


def users_waiting(session: Session, *, now: datetime, limit: int = 500) -> list[str]:
    """Users with a pending event nobody holds: events left by a stopped or crashed worker."""
    return list(session.scalars(
        select(InboundEvent.user_id)
        .where(InboundEvent.status == "pending",
               (InboundEvent.lease_until.is_(None)) | (InboundEvent.lease_until <= now))
        .distinct()
        .limit(limit)
    ))


def purge_done(session: Session, *, before: datetime) -> int:
    """Forget handled (and rejected) events once LINE can no longer redeliver them."""
    return session.execute(
        delete(InboundEvent).where(InboundEvent.status.in_(("done", "rejected")), InboundEvent.received_at < before)
    ).rowcount


def backlog(session: Session, *, now: datetime) -> tuple[int, float]:
    """(how many acknowledged events wait for an answer, seconds the oldest has waited), for staff."""
    count, oldest = session.execute(select(func.count(), func.min(InboundEvent.received_at))
                                    .where(InboundEvent.status == "pending")).one()
    return count, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def oldest_pending_age(session: Session, *, now: datetime) -> float:
    """Seconds the oldest acknowledged, unanswered event has waited (0 when none waits)."""
    oldest = session.scalar(select(func.min(InboundEvent.received_at)).where(InboundEvent.status == "pending"))
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
