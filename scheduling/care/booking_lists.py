"""Lists of care bookings for staff: waiting for confirmation, on a day, by filters. A provider's
account passes its provider_id and sees nothing else."""
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from scheduling.care.care_bookings import OPEN
from scheduling.store.models import CareBooking, Provider
from scheduling.store.statuses import CareBookingStatus

MAX_STAY = 31  # nights: no stay is longer, so older starts need not be looked at


@dataclass(frozen=True)
class Row:
    booking: CareBooking
    provider: Provider


def _query(provider_id: int | None) -> Select[CareBooking, Provider]:
    query = select(CareBooking, Provider).join(Provider, Provider.id == CareBooking.provider_id)
    return query if provider_id is None else query.where(CareBooking.provider_id == provider_id)


def waiting(session: Session, *, provider_id: int | None = None) -> list[Row]:
    """Requests waiting for staff, oldest request first."""
    query = _query(provider_id).where(CareBooking.status == CareBookingStatus.REQUESTED).order_by(CareBooking.created_at,
                                                                                  CareBooking.id)
    return [Row(*r) for r in session.execute(query).all()]


def on_days(session: Session, *, first: date, last: date, provider_id: int | None = None) -> list[Row]:
    """Bookings on (or, for stays, starting on) these days that are on: requested or confirmed."""
    query = (_query(provider_id).where(CareBooking.start_date >= first.isoformat(),
                                       CareBooking.start_date <= last.isoformat(),
                                       CareBooking.status.in_(OPEN))
             .order_by(CareBooking.start_date, CareBooking.slot, CareBooking.id))
    return [Row(*r) for r in session.execute(query).all()]


def staying(session: Session, *, day: date, provider_id: int | None = None) -> list[Row]:
    """Stays in progress on `day`: begun on an earlier day, the check-out day not yet past."""
    query = (_query(provider_id).where(CareBooking.care_type == "short_stay", CareBooking.start_date < day.isoformat(),
                                       CareBooking.start_date >= (day - timedelta(days=MAX_STAY)).isoformat(),
                                       CareBooking.status.in_(OPEN))
             .order_by(CareBooking.start_date, CareBooking.id))
    return [Row(*r) for r in session.execute(query).all()
            if date.fromisoformat(r[0].start_date) + timedelta(days=r[0].nights) >= day]


def to_close(session: Session, *, day: date, provider_id: int | None = None, limit: int = 100) -> list[Row]:
    """Confirmed bookings whose day has passed with neither 利用済み nor 不在 recorded, oldest first."""
    query = (_query(provider_id).where(CareBooking.status == CareBookingStatus.CONFIRMED,
                                       CareBooking.start_date < day.isoformat())
             .order_by(CareBooking.start_date, CareBooking.id).limit(limit))
    return [Row(*r) for r in session.execute(query).all()]


def requested_at(session: Session, *, provider_id: int, first: date, last: date) -> list[CareBooking]:
    """A provider's requests not yet confirmed that start between two days."""
    return list(session.scalars(select(CareBooking).where(
        CareBooking.provider_id == provider_id, CareBooking.status == CareBookingStatus.REQUESTED,
        CareBooking.start_date >= first.isoformat(), CareBooking.start_date <= last.isoformat())))


def search(session: Session, *, provider_id: int | None = None, care_type: str | None = None,
           status: str | None = None, first: date | None = None, last: date | None = None,
           only_provider: int | None = None, limit: int = 500) -> list[Row]:
    """Filters for the bookings page; `only_provider` is the provider account's own (always applied)."""
    query = _query(only_provider)
    if provider_id:
        query = query.where(CareBooking.provider_id == provider_id)
    if care_type:
        query = query.where(CareBooking.care_type == care_type)
    if status:
        query = query.where(CareBooking.status == status)
    if first:
        query = query.where(CareBooking.start_date >= first.isoformat())
    if last:
        query = query.where(CareBooking.start_date <= last.isoformat())
    query = query.order_by(CareBooking.start_date.desc(), CareBooking.id.desc()).limit(limit)
    return [Row(*r) for r in session.execute(query).all()]


def providers(session: Session) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.id)))
