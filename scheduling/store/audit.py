"""The audit trail: who did what to which record, with the state before and after."""
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.store.models import AuditEntry


def record(session: Session, *, actor: str, action: str, subject: str, now: datetime,
           before: dict | None = None, after: dict | None = None) -> None:
    dump = lambda value: None if value is None else json.dumps(value, ensure_ascii=False, default=str)  # noqa: E731
    session.add(AuditEntry(actor=actor, action=action, subject=subject, before=dump(before), after=dump(after),
                           at=now))


def entries(session: Session, *, limit: int = 200, subject: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    return list(session.scalars(query))
