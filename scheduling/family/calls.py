"""The 32-week call list: her preferred time (or none), what staff recorded of each try, the
'no family help after birth' flag that offers her 産後ケア."""
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from scheduling.family.statuses import CallStatus, MotherStatus
from scheduling.messaging import reminders
from scheduling.store import audit
from scheduling.store.models import Call, CallOutcome, Mother
from scheduling.store.sql import affected, existing

PREFERENCES = ("morning", "afternoon", "evening", "in_person", "not_needed")
OUTCOMES = ("phone", "in_person", "not_reached", "declined")
FINAL = {"phone": CallStatus.DONE, "in_person": CallStatus.DONE, "declined": CallStatus.DONE, "not_reached": CallStatus.OPEN}


@dataclass(frozen=True)
class DueCall:
    call: Call
    mother: Mother


def of_mother(session: Session, *, mother_id: int) -> Call | None:
    return session.scalars(select(Call).where(Call.mother_id == mother_id)).first()


def take_off_list(session: Session, *, mother_ids: list[int], now: datetime) -> int:
    """Nobody to call any more (the pregnancy ended, the record was replaced or deleted): open calls are
    cancelled; what was already recorded stays for the figures."""
    return affected(session, update(Call).where(Call.mother_id.in_(mother_ids), Call.status == CallStatus.OPEN)
                    .values(status=CallStatus.CANCELLED, updated_at=now).execution_options(synchronize_session=False))


def answer(session: Session, *, mother_id: int, user_id: str, preference: str, now: datetime) -> Call | None:
    """Her answer to the call notice (only for her own, open call); a second answer replaces the first."""
    call = of_mother(session, mother_id=mother_id)
    mother = session.get(Mother, mother_id)
    if call is None or mother is None or mother.user_id != user_id or preference not in PREFERENCES \
            or mother.status != MotherStatus.PREGNANT or call.status != CallStatus.OPEN:
        return None
    call.preference, call.answered_at, call.updated_at = preference, now, now
    return call


def due(session: Session, *, until: date, preference: str | None = None, include_done: bool = False,
        limit: int = 500) -> list[DueCall]:
    """Calls due by `until` (their week has come, or a retry date), oldest first; pregnant women only."""
    day = func.coalesce(Call.retry_on, Call.due_on)
    query = (select(Call, Mother).join(Mother, Mother.id == Call.mother_id)
             .where(Mother.status == MotherStatus.PREGNANT, day <= until.isoformat())
             .order_by(day, Call.id).limit(limit))
    if not include_done:
        query = query.where(Call.status == CallStatus.OPEN)
    if preference:
        query = query.where(Call.preference == preference)
    return [DueCall(call, mother) for call, mother in session.execute(query).all()]


def record(session: Session, *, call_id: int, outcome: str, staff: str, now: datetime, note: str | None = None,
           retry_on: date | None = None, no_family_help: bool | None = None) -> Call:
    """One try of the call. 'not_reached' keeps it open (with a retry date); the others close it.
    Marking 'no family help after birth' offers her 産後ケア screening by push, once."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    call = existing(session, Call, call_id)
    before = {"status": call.status, "outcome": call.outcome, "retry_on": call.retry_on,
              "no_family_help": call.no_family_help}
    session.add(CallOutcome(call_id=call.id, outcome=outcome, note=note,
                            retry_on=retry_on.isoformat() if retry_on else None, staff=staff, at=now))
    call.outcome, call.status, call.updated_at = outcome, FINAL[outcome], now
    call.retry_on = retry_on.isoformat() if outcome == "not_reached" and retry_on else None
    if no_family_help and not call.no_family_help:
        call.no_family_help = True
        mother = existing(session, Mother, call.mother_id)
        if mother.user_id and mother.status != MotherStatus.ENDED:
            reminders.add(session, user_id=mother.user_id, kind="care_offer", due_at=now, now=now, stage="pregnancy",
                          facts={})
    audit.record(session, actor=staff, action="call_recorded", subject=f"call:{call.id}", now=now, before=before,
                 after={"status": call.status, "outcome": outcome, "retry_on": call.retry_on,
                        "no_family_help": call.no_family_help})
    return call


def outcomes(session: Session, *, call_id: int) -> list[CallOutcome]:
    return list(session.scalars(select(CallOutcome).where(CallOutcome.call_id == call_id)
                                .order_by(CallOutcome.at, CallOutcome.id)))
