"""What the outbox's messages and the timed pushes share on their way to LINE: a sender claims a row for
LEASE (one that dies is replaced after it), and a row LINE could not take is tried again after a backoff
until its retry key no longer holds.

A second sender of the same row is harmless (a push's retry key, a reply's used-up token), so the lease
is short: a reply still goes out while its token lives."""
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Mapped

from scheduling.messaging.statuses import DeliveryStatus

LEASE = timedelta(seconds=10)
# LINE recognises a retry key for 24 hours: a row is tried (backing off up to MAX_BACKOFF, or longer
# when LINE says Retry-After) until GIVE_UP_AFTER from its first try, and only then marked failed.
MAX_BACKOFF = timedelta(minutes=5)
MAX_RETRY_AFTER = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=23)
ERROR_KEPT = 2000  # characters of a failure's text kept on the row, its end


class Leased(Protocol):
    """A row a sender claims: an outgoing message or a timed push."""
    status: str
    attempts: int
    lease_until: datetime | None
    last_error: str | None


def free(lease_until: Mapped[datetime | None], now: datetime) -> ColumnElement[bool]:
    """No sender holds the row: never claimed, or its claim has lapsed."""
    return lease_until.is_(None) | (lease_until <= now)


def claimed(attempts: Mapped[int], now: datetime) -> dict[str, Any]:
    """The values a claim sets: the row held for LEASE, one try more."""
    return {"lease_until": now + LEASE, "attempts": attempts + 1}


def released(status: str, error: str) -> dict[str, Any]:
    """The values that end a row's sending: its last status, why, and no sender holding it."""
    return {"status": status, "last_error": error[-ERROR_KEPT:], "lease_until": None}


def next_try(attempts: int, now: datetime, retry_after: float | None) -> datetime:
    """When to try again after `attempts` tries: exponential backoff, capped, or LINE's Retry-After."""
    wait = min(timedelta(seconds=2 ** min(attempts, 20)), MAX_BACKOFF)
    if retry_after:
        wait = max(wait, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return now + wait


def retry_later(row: Leased, *, error: str, first_try: datetime, now: datetime,
                retry_after: float | None) -> datetime | None:
    """Release a row LINE did not take this time: when to try it next (see next_try), or None when it
    was first tried GIVE_UP_AFTER ago and is now failed."""
    row.last_error, row.lease_until = error[-ERROR_KEPT:], None
    if now - first_try >= GIVE_UP_AFTER:
        row.status = DeliveryStatus.FAILED
        return None
    return next_try(row.attempts, now, retry_after)
