"""Inbound webhook events: stored on receipt, claimed one user at a time, marked done."""
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from scheduling.messaging.statuses import EventStatus
from scheduling.store.models import InboundEvent
from scheduling.store.sql import affected, insert_ignoring_duplicates, insert_skipping_duplicates

LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
WAIT_FOR_STORE = timedelta(seconds=2)
KEEP_HANDLED = timedelta(days=7)  # handled events are forgotten then; older events are refused, not acted on


# The worker's hot path runs these prebuilt Core statements on the session's connection: building a
# statement and going through the ORM's bulk-update machinery cost more than the database's own work.
_EVENTS = InboundEvent.__table__
_OLDEST_PENDING = (select(_EVENTS.c.id)
                   .where(_EVENTS.c.user_id == bindparam("user"), _EVENTS.c.status == EventStatus.PENDING)
                   .order_by(_EVENTS.c.occurred_at, _EVENTS.c.id).limit(1).scalar_subquery())
_CLAIM = (update(_EVENTS)
          .where(_EVENTS.c.id == _OLDEST_PENDING, _EVENTS.c.status == EventStatus.PENDING,
                 or_(_EVENTS.c.lease_until.is_(None), _EVENTS.c.lease_until <= bindparam("now")))
          .values(lease_until=bindparam("until"), attempts=_EVENTS.c.attempts + 1)
          .returning(_EVENTS.c.id, _EVENTS.c.body))
_FINISH = update(_EVENTS).where(_EVENTS.c.id == bindparam("event")).values(status=EventStatus.DONE, lease_until=None)


def add(session: Session | Connection, *, events: list[dict], now: datetime) -> int:
    """Store events (dicts with webhook_event_id, user_id, event_type, occurred_at, is_redelivery,
    body, and optionally status "rejected" with the reason as last_error); an id seen before is
    skipped, which is the de-duplication. Returns how many were new."""
    return insert_ignoring_duplicates(session, _EVENTS, _rows(events, now), "webhook_event_id")


def store(connection: Connection, *, events: list[dict], now: datetime) -> None:
    """add() without counting the new events (the webhook's batches): one statement, no rows fetched.
    The events must all have the same keys."""
    insert_skipping_duplicates(connection, _EVENTS, _rows(events, now), "webhook_event_id")


def _rows(events: list[dict], now: datetime) -> list[dict]:
    return [dict(dict(status=EventStatus.PENDING, last_error=None), **event, received_at=now, attempts=0)
            for event in events]


def claim_next(session: Session, *, user_id: str, now: datetime) -> tuple[int, str] | None:
    """Claim the user's oldest pending event, unless another worker holds it: (id, body) or None.

    One statement: on PostgreSQL a second worker racing for the same row waits for the first, then
    re-checks the row as the first left it (leased, or already done) and claims nothing."""
    return session.connection().execute(_CLAIM, {"user": user_id, "now": now, "until": now + LEASE}).first()


def finish(session: Session, *, event_id: int) -> None:
    session.connection().execute(_FINISH, {"event": event_id})


def fail(session: Session, *, event_id: int, error: str, now: datetime) -> bool:
    """Retry a failed event later, with backoff; after MAX_ATTEMPTS set it aside for staff (True)."""
    event = session.get_one(InboundEvent, event_id)
    event.last_error = error[-2000:]
    event.lease_until = now + timedelta(seconds=2 ** event.attempts)
    if event.attempts >= MAX_ATTEMPTS:
        event.status = EventStatus.FAILED
    return event.status == EventStatus.FAILED


def postpone(session: Session, *, event_id: int, error: str, now: datetime) -> None:
    """Try the event again shortly without counting this try: a part it needs (the state store) did not
    answer. It stays pending however long that lasts, and shows on /healthz as the oldest pending event."""
    session.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                    .values(attempts=InboundEvent.attempts - 1, lease_until=now + WAIT_FOR_STORE,
                            last_error=error[-2000:]))


def users_waiting(session: Session, *, now: datetime, limit: int = 500) -> list[tuple[str, int]]:
    """Users with pending events nobody holds (events left by a stopped or crashed worker, or waiting
    for a worker process), with how many, the longest waiting first: under a backlog, first come is
    first answered."""
    return [(user_id, count) for user_id, count in session.execute(
        select(InboundEvent.user_id, func.count())
        .where(InboundEvent.status == EventStatus.PENDING,
               (InboundEvent.lease_until.is_(None)) | (InboundEvent.lease_until <= now))
        .group_by(InboundEvent.user_id)
        .order_by(func.min(InboundEvent.received_at), func.min(InboundEvent.id))
        .limit(limit)
    )]


def purge_done(session: Session, *, before: datetime) -> int:
    """Forget handled (and rejected) events once LINE can no longer redeliver them."""
    return affected(session, delete(InboundEvent).where(InboundEvent.status.in_((EventStatus.DONE, EventStatus.REJECTED)),
                                                        InboundEvent.received_at < before))


def backlog(session: Session, *, now: datetime) -> tuple[int, float]:
    """(how many acknowledged events wait for an answer, seconds the oldest has waited), for staff."""
    count, oldest = session.execute(select(func.count(), func.min(InboundEvent.received_at))
                                    .where(InboundEvent.status == EventStatus.PENDING)).one()
    return count, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def oldest_pending_age(session: Session, *, now: datetime) -> float:
    """Seconds the oldest acknowledged, unanswered event has waited (0 when none waits)."""
    oldest = session.scalar(select(func.min(InboundEvent.received_at)).where(InboundEvent.status == EventStatus.PENDING))
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
