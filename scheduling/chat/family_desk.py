"""The registration desk: what the chat's registration, call and privacy dialogs may ask and do for one
mother at one moment. Built by the worker per event, inside the event's transaction; answers are plain
dataclasses, never ORM rows."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from scheduling.city.pregnancy_config import PregnancyConfig
from scheduling.family import calls, link_codes, mothers
from scheduling.family.statuses import MotherStatus


@dataclass(frozen=True)
class Registration:
    id: int
    status: str                 # pregnant | mother
    due_date: date | None
    birth_date: date | None
    babies: int
    first_baby: bool | None


@dataclass(frozen=True)
class Linked:
    """linked, wrong, expired, used, locked (then minutes to wait)."""
    status: link_codes.RedeemStatus
    minutes: int = 0


class FamilyDesk:
    def __init__(self, session: Session, user_id: str, *, config: PregnancyConfig, now: datetime):
        self.session, self.user_id, self.config, self.now = session, user_id, config, now

    @property
    def call_week(self) -> int:
        return self.config.call_week

    def registration(self) -> Registration | None:
        row = mothers.current(self.session, user_id=self.user_id)
        if row is None:
            return None
        return Registration(row.id, row.status, _day(row.due_date), _day(row.birth_date), row.babies, row.first_baby)

    def recently_ended(self) -> bool:
        """Her latest pregnancy ended within the last year: the chat words things gently."""
        row = mothers.latest(self.session, user_id=self.user_id)
        return bool(row and row.status == MotherStatus.ENDED and row.ended_on
                    and (self.now.date() - date.fromisoformat(row.ended_on)).days <= 366)

    def register_pregnancy(self, *, due_date: date, babies: int, first_baby: bool | None) -> Registration:
        existing = mothers.current(self.session, user_id=self.user_id)
        if existing is not None and existing.status == MotherStatus.PREGNANT:
            mothers.change_dates(self.session, config=self.config, mother=existing, now=self.now,
                                 due_date=due_date, babies=babies)
        else:
            mothers.register_pregnancy(self.session, config=self.config, user_id=self.user_id, due_date=due_date,
                                       babies=babies, first_baby=first_baby, now=self.now)
        return self._registered()

    def register_birth(self, *, birth_date: date, babies: int, due_date: date | None) -> Registration:
        mothers.register_birth(self.session, config=self.config, user_id=self.user_id, birth_date=birth_date,
                               babies=babies, due_date=due_date, now=self.now)
        return self._registered()

    def _registered(self) -> Registration:
        """Her registration, just made or changed: it is there."""
        found = self.registration()
        if found is None:
            raise LookupError("the registration just made")
        return found

    def change_due_date(self, due_date: date) -> Registration | None:
        row = mothers.current(self.session, user_id=self.user_id)
        if row is None or row.status != MotherStatus.PREGNANT:
            return None
        mothers.change_dates(self.session, config=self.config, mother=row, now=self.now, due_date=due_date)
        return self.registration()

    def end_pregnancy(self) -> bool:
        row = mothers.current(self.session, user_id=self.user_id)
        if row is None or row.status != MotherStatus.PREGNANT:
            return False
        mothers.end_pregnancy(self.session, mother=row, actor="mother", now=self.now)
        return True

    def redeem(self, text: str) -> Linked:
        result = link_codes.redeem(self.session, config=self.config, user_id=self.user_id, text=text, now=self.now)
        return Linked(result.status, result.minutes)

    def answer_call(self, mother_id: int, preference: str) -> bool:
        return calls.answer(self.session, mother_id=mother_id, user_id=self.user_id, preference=preference,
                            now=self.now) is not None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
