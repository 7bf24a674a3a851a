"""A resident's record for staff: found by the centre's registration code or the record number, shown
with her registration, screenings (with the reasons of each decision), bookings, the 32-week call and
the pushes sent; made at the 母子健康手帳 interview; deleted on request.

The bot keeps no LINE display name (only the account's opaque id), so there is no search by name.
Reading a record is itself written to the audit trail: the data is 要配慮個人情報.
"""
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduling.city.booking_config import BookingConfig
from scheduling.city.pregnancy_config import PregnancyConfig
from scheduling.classes import classes
from scheduling.dates.japanese_dates import wareki
from scheduling.family import calls, mothers, screenings
from scheduling.messaging import reminders
from scheduling.records import erasure
from scheduling.rules import Reason, render_reason
from scheduling.rules.texts import QUESTION_TEXTS_JA
from scheduling.store import audit
from scheduling.store.models import Call, CallOutcome, CareBooking, ClassBooking, ClassSession, Mother, Provider, Reminder

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RECORD_NUMBER = re.compile(r"^(?:M|No\.?|記録)?\s*-?\s*(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class ScreeningView:
    at: datetime
    care_date: str
    rules_version: str
    answers: list[tuple[str, str]]               # (question, answer) in Japanese
    results: list[tuple[str, str, list[str]]]    # (care type, status, reasons' texts)
    reasons: list[str]                           # about the whole decision


@dataclass(frozen=True)
class Record:
    mother: Mother
    others: list[Mother]                          # her other registrations (an earlier pregnancy...)
    screenings: list[ScreeningView] = field(default_factory=list)
    care: list[tuple[CareBooking, Provider]] = field(default_factory=list)
    classes: list[tuple[ClassBooking, ClassSession]] = field(default_factory=list)
    call: Call | None = None
    call_outcomes: list[CallOutcome] = field(default_factory=list)
    pushes: list[Reminder] = field(default_factory=list)
    linked: bool = False


def record_number(text: str) -> int | None:
    """'M12', '12', 'No.12', '１２' -> 12."""
    match = _RECORD_NUMBER.match(unicodedata.normalize("NFKC", text).strip())
    return int(match.group(1)) if match else None


def find(session: Session, *, text: str, limit: int = 50) -> list[Mother]:
    """Records whose registration code is `text` in any case ('r8-0123'), or ends with its number
    ('0123'), or whose record number it is (not deleted ones)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        return []
    condition = func.upper(Mother.staff_ref) == text.upper()
    if text.isdigit():   # the number part of a code such as R8-0123
        condition = condition | Mother.staff_ref.like(f"%{text}")
    number = record_number(text)
    if number is not None:
        condition = condition | (Mother.id == number)
    return list(session.scalars(select(Mother).where(condition, Mother.deleted_at.is_(None))
                                .order_by(Mother.id.desc()).limit(limit)))


def record_of(session: Session, *, mother_id: int, actor: str, now: datetime, city_name: str = "") -> Record | None:
    mother = session.get(Mother, mother_id)
    if mother is None:
        return None
    audit.record(session, actor=actor, action="record_viewed", subject=f"mother:{mother.id}", now=now)
    call = calls.of_mother(session, mother_id=mother.id)
    outcomes = calls.outcomes(session, call_id=call.id) if call else []
    user_id = mother.user_id
    if not user_id:
        return Record(mother, [], call=call, call_outcomes=outcomes)
    others = [m for m in session.scalars(select(Mother).where(Mother.user_id == user_id, Mother.id != mother.id)
                                         .order_by(Mother.id))]
    care = [(booking, provider) for booking, provider in session.execute(
        select(CareBooking, Provider).join(Provider, Provider.id == CareBooking.provider_id)
        .where(CareBooking.user_id == user_id).order_by(CareBooking.start_date.desc(), CareBooking.id.desc()))]
    pushes = list(session.scalars(select(Reminder).where(Reminder.user_id == user_id)
                                  .order_by(Reminder.due_at.desc(), Reminder.id.desc()).limit(200)))
    return Record(mother, others, [screening_view(s, city_name)
                                   for s in reversed(screenings.of_user(session, user_id=user_id))],
                  care, list(reversed(classes.of_user(session, user_id=user_id))), call, outcomes, pushes, True)


def screening_view(row, city_name: str = "") -> ScreeningView:
    answers = json.loads(row.answers or "{}")
    decision = json.loads(row.decision or "{}")
    results = [(type_name, result.get("status", ""),
                [_reason(r) for r in result.get("reasons", [])])
               for type_name, result in (decision.get("results") or {}).items()]
    return ScreeningView(row.created_at, row.care_date, row.rules_version, answers_in_words(answers, city_name),
                         results, [_reason(r) for r in decision.get("reasons", [])])


def answers_in_words(answers: dict, city_name: str = "") -> list[tuple[str, str]]:
    """A screening's answers as staff read them: (the question, her answer), in Japanese."""
    return [(_question(key).replace("{city}", city_name), _answer(key, value)) for key, value in answers.items()]


def register(session: Session, *, config: PregnancyConfig, due_date: date, babies: int, first_baby: bool | None,
             staff_ref: str | None, actor: str, now: datetime) -> Mother:
    """Her record, made by staff at the 母子健康手帳 interview (linked to her LINE account by a code)."""
    mother = mothers.register_pregnancy(session, config=config, user_id=None, due_date=due_date, babies=babies,
                                        first_baby=first_baby, now=now, via="staff",
                                        staff_ref=(staff_ref or "").strip() or None)
    audit.record(session, actor=actor, action="mother_registered", subject=f"mother:{mother.id}", now=now,
                 after={"due_date": mother.due_date, "babies": babies, "first_baby": first_baby,
                        "staff_ref": mother.staff_ref})
    return mother


def set_staff_ref(session: Session, *, mother_id: int, staff_ref: str, actor: str, now: datetime) -> Mother | None:
    """Give a record (one she made in the chat, say) the centre's registration number, so one number
    finds her; audited."""
    mother = session.get(Mother, mother_id)
    if mother is None or mother.deleted_at is not None:
        return None
    before = mother.staff_ref
    mother.staff_ref, mother.updated_at = unicodedata.normalize("NFKC", staff_ref).strip() or None, now
    audit.record(session, actor=actor, action="staff_ref_set", subject=f"mother:{mother.id}", now=now,
                 before={"staff_ref": before}, after={"staff_ref": mother.staff_ref})
    return mother


def delete_on_request(session: Session, *, config: BookingConfig, mother_id: int, actor: str,
                      now: datetime) -> dict:
    """Her data deleted on her request. Linked to LINE: everything of her account (scheduling/records/erasure.py).
    Not linked yet: the record alone (erasure.erase_records); the counted facts stay, anonymous."""
    mother = session.get(Mother, mother_id)
    if mother is None or mother.deleted_at is not None:
        return {}
    if mother.user_id:
        user_id = mother.user_id
        counts = erasure.delete_user_data(session, config=config, user_id=user_id, now=now, actor=actor)
        reminders.switch_menu(session, user_id=user_id, stage="not_registered", now=now)   # gone once made
        return counts
    counts = erasure.erase_records(session, mother_ids=[mother.id], now=now)
    session.refresh(mother)
    audit.record(session, actor=actor, action="data_deleted", subject=f"mother:{mother.id}", now=now, after=counts)
    return counts


def _question(key: str) -> str:
    return QUESTION_TEXTS_JA.get(f"screening.question.{key}") or QUESTION_TEXTS_JA.get(
        f"screening.question.{key.replace(':', '.')}") or key


def _answer(key: str, value) -> str:
    if isinstance(value, list):
        return "、".join(_answer(key, v) for v in value)
    if isinstance(value, str) and _ISO_DATE.match(value):
        return wareki(value)
    for candidate in (f"screening.option.{key}.{value}", f"screening.option.{value}",
                      f"screening.detail.{key}.{value}"):
        if candidate in QUESTION_TEXTS_JA:
            return QUESTION_TEXTS_JA[candidate]
    return str(value)


def _reason(spec: dict) -> str:
    try:
        return render_reason(Reason(spec.get("key", ""), spec.get("params") or {}))
    except (KeyError, ValueError, IndexError):
        return spec.get("key", "")

