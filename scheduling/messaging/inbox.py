"""Inbound webhook events: stored on receipt, claimed one user at a time, marked done."""
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from scheduling.messaging import lease
from scheduling.messaging.statuses import EventStatus
from scheduling.store import raw
from scheduling.store.models import InboundEvent
from scheduling.store.sql import affected, insert_ignoring_duplicates

LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 5
WAIT_FOR_STORE = timedelta(seconds=2)
KEEP_HANDLED = timedelta(days=7)  # handled events are forgotten then; older events are refused, not acted on


# The worker's hot path: plain SQL (scheduling/store/raw.py), one row each.
_CLAIM = raw.Sql(f"""
    UPDATE inbound_events SET lease_until = :until, attempts = attempts + 1
    WHERE id = (SELECT id FROM inbound_events WHERE user_id = :user AND status = '{EventStatus.PENDING}'
                ORDER BY occurred_at, id LIMIT 1)
      AND status = '{EventStatus.PENDING}' AND (lease_until IS NULL OR lease_until <= :now)
    RETURNING id, body""")
_FINISH = raw.Sql(f"UPDATE inbound_events SET status = '{EventStatus.DONE}', lease_until = NULL WHERE id = :event")
_EVENTS = InboundEvent.__table__


def add(session: Session | Connection, *, events: list[dict], now: datetime) -> int:
    """Store events (dicts with webhook_event_id, user_id, event_type, occurred_at, is_redelivery,
    body, and optionally status "rejected" with the reason as last_error); an id seen before is
    skipped, which is the de-duplication. Returns how many were new."""
    return insert_ignoring_duplicates(session, _EVENTS, _rows(events, now), "webhook_event_id")


_STORE = raw.Sql("""
    INSERT INTO inbound_events (webhook_event_id, user_id, event_type, occurred_at, received_at, is_redelivery,
                                body, status, attempts, last_error)
    VALUES (:webhook_event_id, :user_id, :event_type, :occurred_at, :received_at, :is_redelivery,
            :body, :status, :attempts, :last_error)
    ON CONFLICT (webhook_event_id) DO NOTHING""")


def store(connection: Connection, *, events: list[dict], now: datetime) -> None:
    """add() without counting the new events (the webhook's batches): one plain statement run for all
    of them by the driver, no rows fetched; an id seen before is skipped."""
    raw.execute_many(connection, _STORE, _rows(events, now))


def pending_counts(rows: list[dict]) -> Counter[str]:
    """How many of the rows (as given to `store`) each user has to be answered: rejected ones are not."""
    return Counter(row["user_id"] for row in rows if row.get("status", EventStatus.PENDING) == EventStatus.PENDING)


def _rows(events: list[dict], now: datetime) -> list[dict]:
    return [dict(dict(status=EventStatus.PENDING, last_error=None), **event, received_at=now, attempts=0)
            for event in events]


def claim_next(session: Session, *, user_id: str, now: datetime) -> tuple[int, str] | None:
    """Claim the user's oldest pending event, unless another worker holds it: (id, body) or None.

    One statement: on PostgreSQL a second worker racing for the same row waits for the first, then
    re-checks the row as the first left it (leased, or already done) and claims nothing."""
    rows = raw.execute(session, _CLAIM, {"user": user_id, "now": now, "until": now + LEASE}).fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def finish(session: Session, *, event_id: int) -> None:
    raw.execute(session, _FINISH, {"event": event_id})


def fail(session: Session, *, event_id: int, error: str, now: datetime) -> bool | None:
    """A try of the event failed and its transaction was rolled back (its claim with it): count the
    try and retry it later, with backoff; after MAX_ATTEMPTS set it aside for staff (True). None when
    another worker has claimed it since."""
    attempts = session.scalar(
        update(InboundEvent).where(InboundEvent.id == event_id, _free_to_claim(now))
        .values(attempts=InboundEvent.attempts + 1, last_error=error[-2000:])
        .returning(InboundEvent.attempts))
    if attempts is None:
        return None
    given_up = attempts >= MAX_ATTEMPTS
    session.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                    .values(lease_until=now + timedelta(seconds=2 ** attempts),
                            status=EventStatus.FAILED if given_up else EventStatus.PENDING))
    return given_up


def postpone(session: Session, *, event_id: int, error: str, now: datetime) -> None:
    """Try the event again shortly without counting this try: a part it needs (the state store) did not
    answer. It stays pending however long that lasts, and shows on /healthz as the oldest pending event.
    (Its transaction was rolled back; unless another worker has claimed it since.)"""
    session.execute(update(InboundEvent).where(InboundEvent.id == event_id, _free_to_claim(now))
                    .values(lease_until=now + WAIT_FOR_STORE, last_error=error[-2000:]))


def _free_to_claim(now: datetime):
    return (InboundEvent.status == EventStatus.PENDING) & lease.free(InboundEvent.lease_until, now)


def users_waiting(session: Session, *, now: datetime, limit: int = 500) -> list[tuple[str, int, datetime]]:
    """Users with pending events nobody holds (events left by a stopped or crashed worker, or waiting
    for a worker process): (user, how many, when the first was received), the longest waiting first:
    under a backlog, first come is first answered."""
    return [(user_id, count, since) for user_id, count, since in session.execute(
        select(InboundEvent.user_id, func.count(), func.min(InboundEvent.received_at))
        .where(_free_to_claim(now))
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
