"""Finished 産後ケア screenings, stored against the user with the rules version used."""
import json
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from scheduling.store.models import Screening
from scheduling.store.sql import run

_SCREENINGS = Screening.__table__
_LATEST = (select(_SCREENINGS.c.id, _SCREENINGS.c.care_date, _SCREENINGS.c.answers)
           .where(_SCREENINGS.c.user_id == bindparam("user"))
           .order_by(_SCREENINGS.c.created_at.desc(), _SCREENINGS.c.id.desc()).limit(1))


def record(session: Session, *, user_id: str, answers: dict, decision: dict, rules_version: str,
           care_date: str, now: datetime, source_event_id: int | None = None) -> Screening:
    row = Screening(user_id=user_id, answers=json.dumps(answers, ensure_ascii=False),
                    decision=json.dumps(decision, ensure_ascii=False), rules_version=rules_version,
                    care_date=care_date, created_at=now, source_event_id=source_event_id)
    session.add(row)
    session.flush()
    return row


def latest(session: Session, *, user_id: str) -> Row | None:
    """Her latest screening's id, care_date and answers (JSON), or None."""
    return run(session, _LATEST, {"user": user_id}).first()


def of_user(session: Session, *, user_id: str) -> list[Screening]:
    return list(session.scalars(select(Screening).where(Screening.user_id == user_id)
                                .order_by(Screening.created_at, Screening.id)))
