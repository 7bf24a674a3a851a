"""The booking desk: what the chat's booking dialogs may ask and do, for one mother at one moment.

The worker builds one per event, inside the event's transaction; the dialogs call it and get plain
dataclasses back, never ORM rows. Every action goes through the booking services (care_bookings,
classes), which enforce places and rules; the desk only turns her draft into their requests and
their outcomes into something a dialog can say.

A draft's token (chosen by the dialog, kept in its state and carried by the 「予約する」 button) is
turned into the request key here, so a double tap or a redelivered event is one booking.
"""
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from sqlalchemy import Row
from sqlalchemy.orm import Session

from scheduling import staff_needs
from scheduling.care import care_bookings, providers
from scheduling.care.problems import CareProblem
from scheduling.city.booking_config import BookingConfig
from scheduling.city.booking_config import Provider as ProviderConfig
from scheduling.classes import classes
from scheduling.classes.classes import Mother
from scheduling.dates.calendar import jst_today, provider_open
from scheduling.family import mothers, screenings
from scheduling.family.statuses import MotherStatus
from scheduling.rules import Fee, Reason, RuleSet, Use, decide, fee_for, total_fee
from scheduling.rules.engine import ELIGIBLE, fee_unit, household_for, units
from scheduling.store.models import CareBooking, ClassBooking
from scheduling.store.models import Provider as ProviderRow
from scheduling.store.statuses import ClassBookingStatus

KEY_NAMESPACE = uuid.UUID("0b7f3c1e-9a44-4c52-8e0f-5d1f6a2b7c90")

__all__ = ["Desk", "Mother", "ProviderInfo", "Days", "Quote", "CareView", "ClassView", "SessionView",
           "Result", "Known"]


@dataclass(frozen=True)
class ProviderInfo:
    key: str
    name: str
    phone: str
    cancel_days_before: int
    cancel_time: str
    late_fee: str           # none | half | full
    check_in: str
    day_hours: str
    check_out: str = ""
    address: str = ""
    what_to_bring: str = ""


@dataclass(frozen=True)
class Days:
    """Days a care may start on, or why there are none (problem: one_open, full, not_eligible)."""
    days: tuple[date, ...]
    problem: str | None = None
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Quote:
    """What a draft would cost her: the fee per use (None: no fee rules), the units it counts and
    those left before it (None: no cap), and the provider's cancel deadline (None: any provider);
    `fees`: each unit's own fee, from use number `first_use` on (the tiers), and `total` their sum."""
    fee: Fee | None
    units: int
    remaining: int | None
    provider: ProviderInfo | None
    deadline: datetime | None
    fees: tuple[Fee | None, ...] = ()
    total: Fee | None = None
    first_use: int = 1
    unit: str = "use"       # what one fee is for: night (1泊), day (1日), use (1回)


@dataclass(frozen=True)
class CareView:
    id: int
    care_type: str
    provider: ProviderInfo
    start: date
    nights: int
    slot: str
    status: str
    deadline: datetime      # free cancellation in the chat until then


@dataclass(frozen=True)
class ClassView:
    id: int
    session_id: int
    title: str
    day: date
    start: str
    end: str
    place: str
    party: int
    status: str
    deadline: datetime
    position: int | None = None        # on the waiting list
    hold_until: datetime | None = None  # an offered place is held until then


@dataclass(frozen=True)
class SessionView:
    id: int
    title: str
    day: date
    start: str
    end: str
    place: str
    free: int
    fits: bool
    unknown: tuple[str, ...]     # facts the class needs that are not known (due_date, birth_date, first_baby)
    requires_confirmation: bool
    mine: str | None = None      # her own open booking of it: booked, requested, waiting, offered


@dataclass(frozen=True)
class Known:
    """What her registration (or else her latest screening) says of her stage: pregnant or born."""
    stage: str | None = None         # "pregnant" | "born" | None
    due_date: date | None = None
    birth_date: date | None = None
    first_baby: bool | None = None   # only a registration says


@dataclass(frozen=True)
class Result:
    """An action's outcome. problem: full, closed, too_soon, too_far, nights, one_open, not_eligible,
    no_screening, gone, past_deadline, not_open, not_for_her, already, expired."""
    ok: bool
    problem: str | None = None
    params: dict = field(default_factory=dict)
    reasons: tuple[Reason, ...] = ()
    repeated: bool = False
    care: CareView | None = None
    cls: ClassView | None = None


class Desk:
    def __init__(self, session: Session, user_id: str, *, config: BookingConfig, rules: RuleSet, now: datetime,
                 asked_at: datetime | None = None):
        """`asked_at`: when she tapped (the event's time at LINE), for her place in a waiting list."""
        self.session, self.user_id, self.config, self.rules, self.now = session, user_id, config, rules, now
        self.asked_at = asked_at
        self.today = jst_today(now)
        self._uses: list[Use] | None = None
        self._marks: dict[str, str] | None = None

    # --- her facts (read once for the event: nothing in it changes them) ------------------------------
    def answers(self) -> dict | None:
        """Her latest finished screening's answers (with staff's marks on her record), or None when she
        has none."""
        return {**self._answers, **self.marks()} if self._screening is not None else None

    def marks(self) -> dict:
        """Needs staff have judged on her record, as answers ("staff_need:…": "yes"). Only rules that list
        such needs read them: without any, nothing is read (asked on every screening answer)."""
        if self._marks is None:
            judged = any(version.eligibility.staff_needs for version in self.rules.versions)
            registered = self._registration if judged else None
            self._marks = (staff_needs.answers_of_mother(self.session, mother_id=registered.id)
                           if registered is not None else {})
        return self._marks

    @cached_property
    def _registration(self) -> Row | None:
        return mothers.current_facts(self.session, user_id=self.user_id)

    @cached_property
    def _screening(self) -> Row | None:
        return screenings.latest(self.session, user_id=self.user_id)

    @cached_property
    def _answers(self) -> dict:
        return json.loads(self._screening.answers) if self._screening is not None else {}

    def _asked_on(self) -> date | None:
        """The day of her latest screening (her household class is the one of the 住民税 year then)."""
        return _day(self._screening.care_date) if self._screening is not None else None

    def uses(self) -> list[Use]:
        """Her care bookings that count against the caps (requested, confirmed, attended)."""
        if self._uses is None:
            self._uses = care_bookings.uses_of(self.session, user_id=self.user_id)
        return self._uses

    def known(self) -> Known:
        registered = self._registration
        if registered is not None and registered.status == MotherStatus.PREGNANT and registered.due_date:
            return Known("pregnant", due_date=_day(registered.due_date), first_baby=registered.first_baby)
        if registered is not None and registered.status == MotherStatus.MOTHER and registered.birth_date:
            return Known("born", due_date=_day(registered.due_date), birth_date=_day(registered.birth_date),
                         first_baby=registered.first_baby)
        answers = self.answers() or {}
        relationship = answers.get("relationship")
        due, born = _day(answers.get("due_date")), _day(answers.get("birth_date"))
        if relationship == "pregnant" and due and due >= self.today:
            return Known("pregnant", due_date=due)
        if relationship in ("birth", "adoptive", "foster") and born:
            return Known("born", due_date=due, birth_date=born)
        return Known()

    # --- care: queries ----------------------------------------------------------------------------
    def providers(self, care_type: str) -> list[ProviderInfo]:
        """The type's providers; where its rules differ by facility, only those that take her."""
        allowed = self._allowed(care_type)
        return [_info(p) for p in self.config.providers_for(care_type) if allowed is None or p.key in allowed]

    def _allowed(self, care_type: str, day: date | None = None) -> set[str] | None:
        """The providers whose own rules take her (from the first day she may book, or `day`); None: no
        such rules, no screening yet, or none takes her (the dates step then says why)."""
        version = self.rules.in_force(day or self.window(care_type)[0])
        if version is None or not version.providers_for(care_type) or self.answers() is None:
            return None
        found = self._result(care_type, day or self.window(care_type)[0], 1, None).providers
        return set(found) if found else None

    def provider(self, key: str) -> ProviderInfo | None:
        found = self.config.provider(key)
        return _info(found) if found else None

    def window(self, care_type: str) -> tuple[date, date]:
        policy = self.config.policy
        return (self.today + timedelta(days=policy.lead_days.get(care_type, 0)),
                self.today + timedelta(days=policy.book_ahead_days))

    def care_days(self, care_type: str, provider_key: str | None = None, *, replacing: int | None = None) -> Days:
        """Days from the lead time to the horizon with room, on which the rules let her start."""
        if self._one_open(replacing):
            return Days((), CareProblem.ONE_OPEN)
        answers = self.answers()
        if answers is None:
            return Days((), CareProblem.NO_SCREENING)
        first, last = self.window(care_type)
        allowed = self._allowed(care_type)
        if provider_key is None and allowed is not None:   # anywhere: the days at a provider that takes her
            found = [self.care_days(care_type, key, replacing=replacing) for key in sorted(allowed)]
            days = tuple(sorted({d for f in found for d in f.days}))
            if days:
                return Days(days)
            return next((f for f in found if f.problem == CareProblem.NOT_ELIGIBLE), Days((), CareProblem.FULL))
        room = providers.open_days(self.session, config=self.config, care_type=care_type,
                                   provider_key=provider_key, first=first, last=last)
        if not room:
            return Days((), CareProblem.FULL)
        days = tuple(d.day for d in room
                     if self._result(care_type, d.day, 1, replacing, provider_key).status == ELIGIBLE)
        if not days:
            reasons = self._result(care_type, room[0].day, 1, replacing, provider_key).reasons
            return Days((), CareProblem.NOT_ELIGIBLE, reasons)
        return Days(days)

    def visit_times(self, provider_key: str | None, day: date) -> list[str]:
        keys = [provider_key] if provider_key else [p.key for p in self.config.providers_for("home_visit")]
        found = set()
        for key in keys:
            found.update(providers.free_times(self.session, config=self.config, provider_key=key, day=day))
        return sorted(found)

    def nights(self, provider_key: str | None, day: date, *, replacing: int | None = None) -> list[int]:
        """The numbers of nights she may choose from `day`: beds free in a row, the city's most, and
        what the rules allow (her uses left, the baby's age on the last day)."""
        most = self.config.policy.max_nights
        keys = [provider_key] if provider_key else [p.key for p in self.config.providers_for("short_stay")
                                                    if provider_open(p, day)]
        found: set[int] = set()
        for key in keys:   # per provider: where the rules differ by facility, its own age window counts
            free = providers.nights_free(self.session, config=self.config, provider_key=key, start=day, most=most)
            found.update(n for n in range(1, free + 1) if n not in found
                         and self._result("short_stay", day, n, replacing, key).status == ELIGIBLE)
        return sorted(found)

    def quote(self, care_type: str, provider_key: str | None, day: date, nights: int = 0, *,
              replacing: int | None = None) -> Quote:
        result = self._result(care_type, day, max(nights, 1), replacing, provider_key)
        version = self.rules.in_force(day)
        provider = self.provider(provider_key) if provider_key else None
        deadline = care_bookings.free_until(self.config.provider(provider_key), day) \
            if provider_key and provider else None
        count = units(version, care_type, nights) if version else 1
        fees: tuple[Fee | None, ...] = ()
        total, first = None, getattr(result, "use_number", 1)
        if version is not None and care_type in version.types and result.fee_per_use is not None:
            answers = self.answers() or {}
            household = household_for(version, answers, day, self._asked_on() or day)
            rules, babies = version.types[care_type], _babies(answers)
            fees = tuple(fee_for(rules, first + n, household, babies) for n in range(count))
            total = total_fee(rules, first, count, household, babies)
        unit = fee_unit(version, care_type) if version else "use"
        return Quote(result.fee_per_use, count, result.remaining, provider, deadline, fees, total, first, unit)

    def care_booking(self, booking_id: int) -> CareView | None:
        """Her own open care booking."""
        row = care_bookings.get(self.session, booking_id=booking_id)
        if row is None or row.user_id != self.user_id or row.status not in care_bookings.OPEN:
            return None
        return self._care_view(row)

    def care_request(self, token: str) -> CareView | None:
        """The booking made from this draft, if any (a second tap on 「予約する」)."""
        row = care_bookings.by_key(self.session, request_key=self._key("care", token))
        return self._care_view(row) if row and row.user_id == self.user_id else None

    # --- care: actions ----------------------------------------------------------------------------
    def request_care(self, *, care_type: str, provider_key: str | None, day: date, nights: int = 0,
                     slot: str = "", token: str, replacing: int | None = None) -> Result:
        """Book the care as a request for staff to confirm; with `replacing`, move that booking here
        (the old one stays until the new one is secured)."""
        screening, answers = self._screening, self.answers()
        if screening is None or answers is None:
            return Result(False, CareProblem.NO_SCREENING)
        request = care_bookings.Request(
            user_id=self.user_id, care_type=care_type, start=day, request_key=self._key("care", token),
            provider_key=provider_key, nights=nights, slot=slot, babies=_babies(answers))
        if replacing is None:
            outcome = care_bookings.request(self.session, request=request, screening_id=screening.id,
                                            config=self.config, rules=self.rules, answers=answers, now=self.now)
        else:
            outcome = care_bookings.change(self.session, booking_id=replacing, user_id=self.user_id, new=request,
                                           config=self.config, rules=self.rules, answers=answers, now=self.now)
        self._uses = None
        return Result(outcome.ok, outcome.problem, dict(outcome.params), tuple(outcome.reasons), outcome.repeated,
                      care=self._care_view(outcome.booking) if outcome.ok and outcome.booking else None)

    def cancel_care(self, booking_id: int) -> Result:
        outcome = care_bookings.cancel(self.session, config=self.config, booking_id=booking_id, now=self.now,
                                       user_id=self.user_id)
        self._uses = None
        return Result(outcome.ok, outcome.problem, dict(outcome.params))

    # --- classes ----------------------------------------------------------------------------------
    def class_sessions(self, mother: Mother) -> list[SessionView]:
        """Sessions open for booking now, with their free places, whether they fit her, and her own."""
        return [self._session_view(row, free, mother, row.mine)
                for row, free in classes.bookable(self.session, config=self.config, now=self.now,
                                                  user_id=self.user_id)]

    def class_session(self, session_id: int, mother: Mother) -> SessionView | None:
        return next((s for s in self.class_sessions(mother) if s.id == session_id), None)

    def class_booking(self, booking_id: int) -> ClassView | None:
        """Her own open class booking (booked, requested, waiting or offered)."""
        row = classes.booking_row(self.session, booking_id=booking_id)
        if row is None or row.user_id != self.user_id or row.status not in classes.OPEN:
            return None
        return self._class_view(row, row)

    def class_request(self, token: str) -> ClassView | None:
        """The booking or waiting-list place made from this draft, if any."""
        for kind in ("class", "wait"):
            row = classes.booking_row_by_key(self.session, request_key=self._key(kind, token))
            if row is not None and row.user_id == self.user_id:
                return self._class_view(row, row)
        return None

    def book_class(self, *, session_id: int, party: int, token: str, mother: Mother | None) -> Result:
        outcome = classes.book(self.session, config=self.config, session_id=session_id, user_id=self.user_id,
                               party=party, request_key=self._key("class", token), now=self.now, mother=mother)
        return self._class_result(outcome)

    def join_waitlist(self, *, session_id: int, party: int, token: str) -> Result:
        outcome = classes.join_waitlist(self.session, config=self.config, session_id=session_id,
                                        user_id=self.user_id, party=party, request_key=self._key("wait", token),
                                        now=self.now, asked_at=self.asked_at)
        return self._class_result(outcome)

    def accept_offer(self, booking_id: int) -> Result:
        return self._class_result(classes.accept_offer(self.session, config=self.config, booking_id=booking_id,
                                                       user_id=self.user_id, now=self.now))

    def decline_offer(self, booking_id: int) -> Result:
        return self._class_result(classes.decline_offer(self.session, config=self.config, booking_id=booking_id,
                                                        user_id=self.user_id, now=self.now))

    def cancel_class(self, booking_id: int) -> Result:
        return self._class_result(classes.cancel(self.session, config=self.config, booking_id=booking_id,
                                                 now=self.now, user_id=self.user_id))

    @property
    def offer_hold_minutes(self) -> int:
        return self.config.policy.offer_hold_minutes

    # --- all of hers ------------------------------------------------------------------------------
    def upcoming(self) -> list[CareView | ClassView]:
        """Her upcoming open bookings of care and classes, by date."""
        care = [self._care_view(row) for row in care_bookings.of_user(self.session, user_id=self.user_id,
                                                                       upcoming_from=self.today)]
        taken = [self._class_view(booking, row) for booking, row in
                 classes.of_user(self.session, user_id=self.user_id, upcoming_from=self.today)]
        views: list[CareView | ClassView] = [*care, *taken]
        return sorted(views, key=lambda v: (v.start if isinstance(v, CareView) else v.day, v.id))

    # --- inside -----------------------------------------------------------------------------------
    def _key(self, kind: str, token: str) -> str:
        return f"{kind}:{uuid.uuid5(KEY_NAMESPACE, f'{self.user_id}|{kind}|{token}').hex}"

    def _one_open(self, replacing: int | None) -> bool:
        if not self.config.policy.one_open_booking:
            return False
        return any(b.id != replacing for b in care_bookings.of_user(self.session, user_id=self.user_id,
                                                                     upcoming_from=self.today))

    def _result(self, care_type: str, day: date, nights: int, replacing: int | None, provider: str | None = None):
        uses = (care_bookings.uses_of(self.session, user_id=self.user_id, excluding=replacing)
                if replacing else self.uses())
        decision = decide(self.rules, self.answers() or {}, on_date=day, nights=nights, existing_uses=uses,
                          provider=provider, asked_on=self._asked_on())
        result = decision.results.get(care_type)
        if result is None:
            return _NotOffered(decision.reasons)
        return result

    def _care_view(self, row: CareBooking) -> CareView:
        provider_row = self.session.get_one(ProviderRow, row.provider_id)
        source = self.config.provider(provider_row.key)
        info = _info(source) if source else ProviderInfo(provider_row.key, provider_row.name, provider_row.phone,
                                                         1, "17:00", "full", "", "")
        return CareView(row.id, row.care_type, info, date.fromisoformat(row.start_date), row.nights, row.slot,
                        row.status, care_bookings.cancel_deadline(self.config, self.session, row))

    def _class_view(self, booking: ClassBooking | Row, row: classes.SessionRow) -> ClassView:
        """The view of a booking and its session (`classes.booking_row` is both in one row)."""
        position = None
        if booking.status == ClassBookingStatus.WAITING:
            line = [b.id for b in classes.waiting_line(self.session, session_id=booking.session_id)]
            position = line.index(booking.id) + 1 if booking.id in line else None
        return ClassView(booking.id, booking.session_id, row.title, date.fromisoformat(row.day), row.start, row.end,
                         row.place, booking.party, booking.status, classes.cancel_deadline(self.config, row),
                         position, booking.hold_until)

    def _session_view(self, row: Row, free: int, mother: Mother, mine: str | None = None) -> SessionView:
        source = self.config.parent_class(row.class_key)
        assert source is not None   # classes.bookable lists only the sessions of the city's classes
        day = date.fromisoformat(row.day)
        fits, unknown = classes.fits(source, mother, day)
        return SessionView(row.id, row.title, day, row.start, row.end, row.place, free, fits, tuple(unknown),
                           source.requires_confirmation, mine)

    def _class_result(self, outcome: classes.Outcome) -> Result:
        view = None
        if outcome.booking is not None:
            # read back: the services move some states with a plain UPDATE
            row = classes.booking_row(self.session, booking_id=outcome.booking.id)
            assert row is not None
            view = self._class_view(row, row)
        return Result(outcome.ok, outcome.problem, dict(outcome.params), repeated=outcome.repeated, cls=view)


@dataclass(frozen=True)
class _NotOffered:
    reasons: tuple
    status: str = "not_offered"
    fee_per_use: Fee | None = None
    remaining: int | None = None
    providers: tuple | None = None


def _info(p: ProviderConfig) -> ProviderInfo:
    return ProviderInfo(p.key, p.name, p.phone, p.cancel.days_before, p.cancel.time, p.cancel.late_fee, p.check_in,
                        p.day_hours, p.check_out, p.address, p.what_to_bring)


def _day(value) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _babies(answers: dict) -> int:
    value = str(answers.get("babies"))
    return int(value) if value.isdigit() and int(value) >= 1 else 1
