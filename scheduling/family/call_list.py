"""The 32-week call list's counts for staff (the list itself and the outcomes are scheduling/family/calls.py)."""
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduling.family.calls import OUTCOMES
from scheduling.family.statuses import CallStatus
from scheduling.store.models import Call


def counts(session: Session, *, first: date, last: date) -> dict[str, int]:
    """Calls whose week falls between two dates, by their latest outcome: phone, in_person,
    not_reached, declined, none (not tried yet), cancelled (the pregnancy ended)."""
    rows = session.execute(select(Call.status, Call.outcome, func.count())
                           .where(Call.due_on >= first.isoformat(), Call.due_on <= last.isoformat())
                           .group_by(Call.status, Call.outcome))
    found = dict.fromkeys((*OUTCOMES, "none", "cancelled"), 0)
    for status, outcome, n in rows:
        key = "cancelled" if status == CallStatus.CANCELLED else (outcome or "none")
        found[key] = found.get(key, 0) + n
    return found
