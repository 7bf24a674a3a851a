"""産後ケア bookings: a request checked against the rules as of the care date, her remaining uses,
the city's policy and the provider's room; then confirmed or declined by staff, cancelled, changed.

Services never commit: the caller's transaction does. Every change of state is recorded (history) and
every push to her is a reminder row written in the same transaction.
"""
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.care import capacity, history, providers
from scheduling.care.problems import CareProblem
from scheduling.city.booking_config import BookingConfig
from scheduling.city.booking_config import Provider as ProviderConfig
from scheduling.dates.calendar import at, jst_today, provider_open
from scheduling.messaging import reminders, users
from scheduling.rules import RuleSet, Use, decide
from scheduling.rules.engine import ELIGIBLE, child_date, units
from scheduling.store.models import CareBooking, Screening
from scheduling.store.models import Provider as ProviderRow
from scheduling.store.sql import existing, one_of
from scheduling.store.statuses import CareBookingStatus

OPEN = (CareBookingStatus.REQUESTED, CareBookingStatus.CONFIRMED)          # holding places
COUNTED = (*OPEN, CareBookingStatus.ATTENDED)   # counting against her caps
KIND = "care"


@dataclass(frozen=True)
class Request:
    user_id: str
    care_type: str
    start: date
    request_key: str                 # the same key twice is the same request
    provider_key: str | None = None  # None: any provider with room
    nights: int = 0                  # short stays
    slot: str = ""                   # home visits: the time
    babies: int = 1


@dataclass(frozen=True)
class Outcome:
    """ok, or why not (problem, see problems.py)."""
    ok: bool
    booking: CareBooking | None = None
    problem: CareProblem | None = None
    params: dict = field(default_factory=dict)
    reasons: tuple = ()              # the rule engine's reasons when not eligible
    repeated: bool = False           # the same request was made before: this is that booking


_BOOKINGS = CareBooking.__table__
# asked on every screening answer: a prebuilt Core statement of four columns, not whole ORM objects
_SCREENINGS = Screening.__table__
_USES = (select(_BOOKINGS.c.id, _BOOKINGS.c.care_type, _BOOKINGS.c.start_date, _BOOKINGS.c.nights,
                _SCREENINGS.c.answers)
         .outerjoin(_SCREENINGS, _SCREENINGS.c.id == _BOOKINGS.c.screening_id)
         .where(_BOOKINGS.c.user_id == bindparam("user"), one_of(_BOOKINGS.c.status, COUNTED)))


def uses_of(session: Session, *, user_id: str, excluding: int | None = None) -> list[Use]:
    """Her uses that count against the caps, each with the child it was for (from the screening it was
    booked under), so that a second birth has its own caps where the city counts by birth."""
    session.flush()  # her bookings made in this transaction count (as session.execute would flush them)
    rows = [row for row in session.connection().execute(_USES, {"user": user_id}) if row.id != excluding]
    return [Use(row.care_type, date.fromisoformat(row.start_date), row.nights,
                child_date(json.loads(row.answers)) if row.answers else None) for row in rows]


def of_user(session: Session, *, user_id: str, upcoming_from: date | None = None) -> list[CareBooking]:
    query = select(CareBooking).where(CareBooking.user_id == user_id)
    if upcoming_from:
        query = query.where(CareBooking.start_date >= upcoming_from.isoformat(), CareBooking.status.in_(OPEN))
    return list(session.scalars(query.order_by(CareBooking.start_date, CareBooking.id)))


def get(session: Session, *, booking_id: int) -> CareBooking | None:
    return session.get(CareBooking, booking_id)


def by_key(session: Session, *, request_key: str) -> CareBooking | None:
    return session.scalars(select(CareBooking).where(CareBooking.request_key == request_key)).first()


def check(session: Session, *, config: BookingConfig, rules: RuleSet, request: Request, answers: dict,
          now: datetime, replacing: int | None = None) -> Outcome | None:
    """Why this request cannot be booked, or None when only room remains to be found."""
    today = jst_today(now)
    policy = config.policy
    lead = policy.lead_days.get(request.care_type, 0)
    if request.start < today + timedelta(days=lead):
        return Outcome(False, problem=CareProblem.TOO_SOON, params={"days": lead})
    if request.start > today + timedelta(days=policy.book_ahead_days):
        return Outcome(False, problem=CareProblem.TOO_FAR, params={"days": policy.book_ahead_days})
    if request.care_type == "short_stay" and not 1 <= request.nights <= policy.max_nights:
        return Outcome(False, problem=CareProblem.NIGHTS, params={"most": policy.max_nights})
    if policy.one_open_booking and any(b.id != replacing for b in of_user(session, user_id=request.user_id,
                                                                          upcoming_from=today)):
        return Outcome(False, problem=CareProblem.ONE_OPEN)
    decision = decide(rules, answers, on_date=request.start, nights=max(request.nights, 1),
                      existing_uses=uses_of(session, user_id=request.user_id, excluding=replacing),
                      provider=request.provider_key)
    result = decision.results.get(request.care_type)
    if result is None or result.status != ELIGIBLE:
        return Outcome(False, problem=CareProblem.NOT_ELIGIBLE, reasons=result.reasons if result else decision.reasons)
    return None


def request(session: Session, *, config: BookingConfig, rules: RuleSet, request: Request, answers: dict,
            now: datetime, screening_id: int | None = None, replacing: int | None = None) -> Outcome:
    """Book the care as a request for staff to confirm: the same request_key twice is one booking."""
    # her requests one at a time, whatever process makes them: her caps and the one-open-booking rule
    # are counted from her other bookings, which a request running beside this one could not see
    users.hold(session, user_id=request.user_id, now=now)
    earlier = by_key(session, request_key=request.request_key)
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    problem = check(session, config=config, rules=rules, request=request, answers=answers, now=now,
                    replacing=replacing)
    if problem:
        return problem
    candidates = [p for p in config.providers_for(request.care_type)
                  if request.provider_key in (None, p.key) and provider_open(p, request.start)]
    version = rules.in_force(request.start)
    if version is None:  # not reached: check() finds her not eligible when no rules are in force
        return Outcome(False, problem=CareProblem.NOT_ELIGIBLE)
    if version.providers_for(request.care_type):   # only where its own rules take her
        taking = decide(rules, answers, on_date=request.start, nights=max(request.nights, 1),
                        existing_uses=uses_of(session, user_id=request.user_id, excluding=replacing)
                        ).results[request.care_type].providers or ()
        candidates = [p for p in candidates if p.key in taking]
    if not candidates:
        return Outcome(False, problem=CareProblem.CLOSED)
    row_ids = providers.ids(session)
    for provider in candidates:
        if request.care_type == "home_visit" and request.slot not in provider.visit_times:
            continue
        try:
            with session.begin_nested():
                resource = providers.resource(request.care_type, row_ids[provider.key])
                places = providers.places(provider, request.care_type, request.start, request.nights, request.slot)
                if not capacity.take(session, resource=resource, places=places, count=1):
                    raise _Full()
                booking = CareBooking(
                    user_id=request.user_id, care_type=request.care_type, provider_id=row_ids[provider.key],
                    start_date=request.start.isoformat(), nights=request.nights,
                    slot=request.slot if request.care_type == "home_visit" else "",
                    units=units(version, request.care_type, request.nights), babies=request.babies,
                    status=CareBookingStatus.REQUESTED, request_key=request.request_key, screening_id=screening_id,
                    created_at=now, updated_at=now)
                session.add(booking)
                session.flush()
        except _Full:
            continue
        except IntegrityError:  # the same request, committed meanwhile by another transaction
            earlier = by_key(session, request_key=request.request_key)
            if earlier is not None:
                return Outcome(True, earlier, repeated=True)
            raise
        history.record(session, kind=KIND, booking_id=booking.id, before=None, after=CareBookingStatus.REQUESTED,
                       actor=history.MOTHER, now=now)
        _plan_day_before(session, config=config, booking=booking, now=now)
        return Outcome(True, booking)
    earlier = by_key(session, request_key=request.request_key)  # committed while we waited for the last bed
    if earlier is not None:
        return Outcome(True, earlier, repeated=True)
    return Outcome(False, problem=CareProblem.FULL)


class _Full(Exception):
    """No room with this provider: roll back what was taken of it."""


def _locked(session: Session, booking_id: int) -> CareBooking | None:
    """The booking read afresh with its row locked until the transaction ends, so that two changes of one
    booking at once (staff and her, two taps) happen one after the other and see each other's result.
    (SQLite ignores FOR UPDATE: its writers queue for the one write lock anyway.)"""
    return session.get(CareBooking, booking_id, with_for_update=True, populate_existing=True)


def change(session: Session, *, config: BookingConfig, rules: RuleSet, booking_id: int, user_id: str,
           new: Request, answers: dict, now: datetime) -> Outcome:
    """Move a booking to another date in one step: the new one is secured first, and only then is the
    old one cancelled; if the new date cannot be had, the old booking stays as it was."""
    earlier = by_key(session, request_key=new.request_key)
    if earlier is not None:  # the same change delivered twice: the old booking is already cancelled
        return Outcome(True, earlier, repeated=True)
    old = _locked(session, booking_id)
    if old is None or old.user_id != user_id or old.status not in OPEN:
        return Outcome(False, problem=CareProblem.GONE)
    if now >= cancel_deadline(config, session, old):
        return Outcome(False, problem=CareProblem.PAST_DEADLINE, params=_provider_params(session, old))
    outcome = request(session, config=config, rules=rules, request=new, answers=answers, now=now,
                      replacing=old.id)
    if outcome.ok and not outcome.repeated and outcome.booking is not None:
        _release(session, booking=old, to=CareBookingStatus.CANCELLED, actor=history.MOTHER, now=now,
                 note=f"changed to booking {outcome.booking.id}")
    return outcome


def cancel_deadline(config: BookingConfig, session: Session, booking: CareBooking) -> datetime:
    """Until when she may cancel free of charge in the chat: the provider's rule."""
    provider = config.provider(existing(session, ProviderRow, booking.provider_id).key)
    return free_until(provider, date.fromisoformat(booking.start_date))


def free_until(provider: ProviderConfig | None, start: date) -> datetime:
    """The provider's free-cancellation deadline for a care starting on `start` (no rule: that day)."""
    if provider is None:
        return at(start, "00:00")
    return at(start - timedelta(days=provider.cancel.days_before), provider.cancel.time)


def cancel(session: Session, *, config: BookingConfig, booking_id: int, now: datetime, user_id: str | None = None,
           actor: str = history.MOTHER, reason: str | None = None) -> Outcome:
    """Cancel: by her (only her own, only before the provider's deadline) or by staff (any time)."""
    booking = _locked(session, booking_id)
    if booking is None or (user_id is not None and booking.user_id != user_id) or booking.status not in OPEN:
        return Outcome(False, booking, problem=CareProblem.GONE)
    if actor == history.MOTHER and now >= cancel_deadline(config, session, booking):
        return Outcome(False, booking, problem=CareProblem.PAST_DEADLINE, params=_provider_params(session, booking))
    _release(session, booking=booking, to=CareBookingStatus.CANCELLED, actor=actor, now=now, note=reason)
    booking.reason = reason
    return Outcome(True, booking)


def confirm(session: Session, *, config: BookingConfig, booking_id: int, actor: str, now: datetime) -> Outcome:
    booking = _locked(session, booking_id)
    if booking is None or booking.status != CareBookingStatus.REQUESTED:
        return Outcome(False, booking, problem=CareProblem.GONE)
    _move(session, booking, CareBookingStatus.CONFIRMED, actor, now)
    reminders.add(session, user_id=booking.user_id, kind="care_confirmed", due_at=now, now=now,
                  care_booking_id=booking.id,
                  facts={**_push_params(session, booking), "booking": booking.id, **_details(session, config, booking)})
    return Outcome(True, booking)


def decline(session: Session, *, config: BookingConfig, booking_id: int, reason: str, actor: str,
            now: datetime) -> Outcome:
    booking = _locked(session, booking_id)
    if booking is None or booking.status != CareBookingStatus.REQUESTED:
        return Outcome(False, booking, problem=CareProblem.GONE)
    _release(session, booking=booking, to=CareBookingStatus.DECLINED, actor=actor, now=now, note=reason)
    booking.reason = reason
    reminders.add(session, user_id=booking.user_id, kind="care_declined", due_at=now, now=now,
                  care_booking_id=booking.id,
                  facts={**_push_params(session, booking), "reason": reason})
    return Outcome(True, booking)


def close(session: Session, *, booking_id: int, status: str, actor: str, now: datetime) -> Outcome:
    """After the day: attended or no_show (staff or the provider)."""
    booking = _locked(session, booking_id)
    if (status not in (CareBookingStatus.ATTENDED, CareBookingStatus.NO_SHOW) or booking is None
            or booking.status != CareBookingStatus.CONFIRMED):
        return Outcome(False, booking, problem=CareProblem.GONE)
    _move(session, booking, status, actor, now)
    return Outcome(True, booking)


def _release(session: Session, *, booking: CareBooking, to: str, actor: str, now: datetime,
             note: str | None = None) -> None:
    start = date.fromisoformat(booking.start_date)
    days = [((start + timedelta(days=n)).isoformat(), booking.slot)
            for n in range(max(booking.nights, 1) if booking.care_type == "short_stay" else 1)]
    capacity.give_back(session, resource=providers.resource(booking.care_type, booking.provider_id),
                       places=days, count=1)
    reminders.cancel_for(session, care_booking_id=booking.id)
    _move(session, booking, to, actor, now, note)


def _move(session: Session, booking: CareBooking, to: str, actor: str, now: datetime, note: str | None = None):
    history.record(session, kind=KIND, booking_id=booking.id, before=booking.status, after=to, actor=actor,
                   now=now, note=note)
    booking.status, booking.updated_at = to, now


def _plan_day_before(session: Session, *, config: BookingConfig, booking: CareBooking, now: datetime) -> None:
    """The push the day before, at the city's hour, asking about fever in the household."""
    start = date.fromisoformat(booking.start_date)
    due = at(start - timedelta(days=1), config.policy.reminder_time)
    if due > now:
        reminders.add(session, user_id=booking.user_id, kind="care_day_before", due_at=due, now=now,
                      care_booking_id=booking.id,
                      facts={**_push_params(session, booking), **_details(session, config, booking)})


def _details(session: Session, config: BookingConfig, booking: CareBooking) -> dict:
    """A push's facts of where and when: check-in, the visit's time, the day's hours, what to bring, the address."""
    provider = config.provider(existing(session, ProviderRow, booking.provider_id).key)
    if provider is None:
        return {}
    return {"check_in": provider.check_in, "slot": booking.slot, "day_hours": provider.day_hours,
            "bring": provider.what_to_bring, "address": provider.address}


def _push_params(session: Session, booking: CareBooking) -> dict:
    return {"date": booking.start_date, "type": booking.care_type, **_provider_params(session, booking)}


def _provider_params(session: Session, booking: CareBooking) -> dict:
    provider = existing(session, ProviderRow, booking.provider_id)
    return {"provider": provider.name, "provider_phone": provider.phone}
