"""The history of every booking: each change of state, who made it, when, and why."""
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from scheduling.store.models import BookingChange
from scheduling.store.sql import run

MOTHER, SYSTEM = "mother", "system"
_RECORD = insert(BookingChange.__table__)


def record(session: Session, *, kind: str, booking_id: int, before: str | None, after: str, actor: str,
           now: datetime, note: str | None = None) -> None:
    run(session, _RECORD, dict(kind=kind, booking_id=booking_id, from_status=before, to_status=after, actor=actor,
                               note=note, at=now))


def of_booking(session: Session, *, kind: str, booking_id: int) -> list[BookingChange]:
    return list(session.scalars(select(BookingChange)
                                .where(BookingChange.kind == kind, BookingChange.booking_id == booking_id)
                                .order_by(BookingChange.at, BookingChange.id)))
