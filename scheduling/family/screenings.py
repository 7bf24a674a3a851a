"""Finished 産後ケア screenings, stored against the user with the rules version used."""
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.store.models import Screening


def record(session: Session, *, user_id: str, answers: dict, decision: dict, rules_version: str,
           care_date: str, now: datetime, source_event_id: int | None = None) -> Screening:
    row = Screening(user_id=user_id, answers=json.dumps(answers, ensure_ascii=False),
                    decision=json.dumps(decision, ensure_ascii=False), rules_version=rules_version,
                    care_date=care_date, created_at=now, source_event_id=source_event_id)
    session.add(row)
    session.flush()
    return row


def of_user(session: Session, *, user_id: str) -> list[Screening]:
    return list(session.scalars(select(Screening).where(Screening.user_id == user_id)
                                .order_by(Screening.created_at, Screening.id)))
