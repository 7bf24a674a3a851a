"""What staff need in view to decide on a care request (the booking page): the screening's answers and
the rules version that decided it, the baby's age on the day of care, her uses so far and left, and the
places still free at the provider on each of its days. Staff and administrators only.

Who she is (`applicant`): her 利用申請, whose state staff see (申請なし, 承認待ち, 承認済み) with her name,
kana and phone; a provider sees, for its own booking only, `for_provider` of it (no health answer, no
household class)."""
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from scheduling.applications import service as applications
from scheduling.applications.crypto import Cipher
from scheduling.care import capacity, care_bookings, providers
from scheduling.city.booking_config import BookingConfig
from scheduling.rules import RuleSet, decide
from scheduling.rules.periods import add_months
from scheduling.store.models import CareBooking, Screening
from scheduling.store.models import Provider as ProviderRow
from scheduling.store.sql import existing


@dataclass(frozen=True)
class Place:
    day: date
    slot: str
    free: int
    capacity: int


@dataclass(frozen=True)
class BookingFacts:
    answers: dict                    # the screening's answers (keys and values as the rules know them)
    rules_version: str | None        # the version that decided the screening
    screened_at: datetime | None
    baby_age: tuple[int, int] | None  # (months, days) on the first day of care, by the birth date
    uses: int                        # units of her other requested, confirmed and attended care
    remaining: int | None            # units left after this booking (None: the rules set no cap)
    places: tuple[Place, ...]        # each day (and time) this booking takes, with what is still free


def for_staff(session: Session, *, booking: CareBooking, rules: RuleSet, config: BookingConfig) -> BookingFacts:
    screening = session.get(Screening, booking.screening_id) if booking.screening_id else None
    answers = json.loads(screening.answers) if screening else {}
    start = date.fromisoformat(booking.start_date)
    others = care_bookings.uses_of(session, user_id=booking.user_id, excluding=booking.id)
    remaining = None
    if answers:
        result = decide(rules, answers, on_date=start, nights=max(booking.nights, 1),
                        existing_uses=others).results.get(booking.care_type)
        if result is not None and result.remaining is not None:
            remaining = max(result.remaining - booking.units, 0)
    return BookingFacts(answers=answers, rules_version=screening.rules_version if screening else None,
                        screened_at=screening.created_at if screening else None,
                        baby_age=_age(answers.get("birth_date"), start), uses=_units_used(session, booking),
                        remaining=remaining, places=_places(session, booking, start, config))


def applicant(session: Session, *, booking: CareBooking, cipher: Cipher) -> applications.View | None:
    """Her latest submitted or decided application, or None (申請なし; a draft is not an application)."""
    if booking.user_id.startswith("deleted:"):
        return None
    return applications.standing(session, user_ids={booking.user_id}, cipher=cipher).get(booking.user_id)


def _units_used(session: Session, booking: CareBooking) -> int:
    return sum(row.units for row in care_bookings.of_user(session, user_id=booking.user_id)
               if row.status in care_bookings.COUNTED and row.id != booking.id)


def _age(birth: str | None, on: date) -> tuple[int, int] | None:
    try:
        born = date.fromisoformat(birth) if birth else None
    except ValueError:
        return None
    if born is None or born > on:
        return None
    months = (on.year - born.year) * 12 + on.month - born.month
    while add_months(born, months) > on:
        months -= 1
    return months, (on - add_months(born, months)).days


def _places(session: Session, booking: CareBooking, start: date, config: BookingConfig) -> tuple[Place, ...]:
    source = config.provider(existing(session, ProviderRow, booking.provider_id).key)
    if source is None:   # no longer in the city's file
        return ()
    wanted = providers.places(source, booking.care_type, start, booking.nights, booking.slot)
    taken = capacity.used(session, resource=providers.resource(booking.care_type, booking.provider_id),
                          first=wanted[0][0], last=wanted[-1][0])
    found = []
    for day, slot, total in wanted:
        used, cap = taken.get((day, slot), (0, total))
        found.append(Place(date.fromisoformat(day), slot, max(cap - used, 0), cap))
    return tuple(found)
