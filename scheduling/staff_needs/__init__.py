"""Needs only staff can judge (issue 15, kind 4): 「産婦健康診査の結果、医師から勧められた方」 and
「保健師等が特に支援が必要と認めた方」. The rules file lists them as eligibility.staff_needs; the mother is never
asked them. Staff mark her record (the resident page), and her screening and bookings then pass on that
need instead of waiting for a check. Every mark and removal is in the audit trail.

The marks reach the rule engine as answers ("staff_need:staff_recognised": "yes"), read from the
registration in force for her LINE account."""
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduling.family import mothers
from scheduling.rules.schema import STAFF_NEEDS
from scheduling.store import audit
from scheduling.store.models import StaffNeed
from scheduling.store.sql import run

_NEEDS = StaffNeed.__table__
_NEEDS_OF = select(_NEEDS.c.need).where(_NEEDS.c.mother_id == bindparam("mother")).order_by(_NEEDS.c.need)


def of_mother(session: Session, *, mother_id: int) -> list[StaffNeed]:
    return list(session.scalars(select(StaffNeed).where(StaffNeed.mother_id == mother_id)
                                .order_by(StaffNeed.need)))


def answers_of(session: Session, *, user_id: str) -> dict[str, str]:
    """Her marks as the rule engine reads them, from the registration in force for her account."""
    mother = mothers.current_facts(session, user_id=user_id)
    return answers_of_mother(session, mother_id=mother.id) if mother is not None else {}


def answers_of_mother(session: Session, *, mother_id: int) -> dict[str, str]:
    needs: list[str] = list(run(session, _NEEDS_OF, {"mother": mother_id}).scalars())
    return {f"staff_need:{need}": "yes" for need in needs}


def mark(session: Session, *, mother_id: int, need: str, actor: str, now: datetime) -> bool:
    """Mark a need as judged by staff; False when it was marked already."""
    if need not in STAFF_NEEDS:
        raise ValueError(f"unknown staff need: {need}")
    if session.scalars(select(StaffNeed).where(StaffNeed.mother_id == mother_id, StaffNeed.need == need)).first():
        return False
    try:
        with session.begin_nested():
            session.add(StaffNeed(mother_id=mother_id, need=need, actor=actor, marked_at=now))
            session.flush()
    except IntegrityError:   # marked meanwhile by another member of staff
        return False
    audit.record(session, actor=actor, action="staff_need_marked", subject=f"mother:{mother_id}", now=now,
                 before={"staff_need": None}, after={"staff_need": need})
    return True


def unmark(session: Session, *, mother_id: int, need: str, actor: str, now: datetime) -> bool:
    found = session.scalars(select(StaffNeed).where(StaffNeed.mother_id == mother_id, StaffNeed.need == need)).first()
    if found is None:
        return False
    session.delete(found)
    audit.record(session, actor=actor, action="staff_need_removed", subject=f"mother:{mother_id}", now=now,
                 before={"staff_need": need}, after={"staff_need": None})
    return True
