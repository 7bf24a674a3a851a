"""Items for staff from the chat. Urgent: a message of hers that hit an urgent category of the city's
safety net (her life in danger, violence, an emergency), shown first on 今日. Not urgent: words of her own
that nothing understood (UNREAD_WORDS), for a person to read, since no word list knows every way of
saying danger. Both stay until a staff member marks them handled with a note (audited). Providers never
see them; they are erased with her data."""
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from scheduling.consult.statuses import AlertStatus
from scheduling.store import audit
from scheduling.store.models import SafetyAlert
from scheduling.store.sql import affected

MAX_BODY = 5000
UNREAD_WORDS = "unread_words"


def raise_alert(session: Session, *, user_id: str, category: str, label: str, body: str, matched: str,
                now: datetime, source_event_id: int | None = None) -> SafetyAlert:
    alert = SafetyAlert(user_id=user_id, category=category, label=label[:80], body=body[:MAX_BODY],
                        matched=matched[:200], at=now, status=AlertStatus.OPEN, source_event_id=source_event_id)
    session.add(alert)
    session.flush()
    return alert


def open_alerts(session: Session, *, limit: int = 100) -> list[SafetyAlert]:
    """Unhandled urgent items, the oldest first: the one waiting longest is the most urgent."""
    return list(session.scalars(select(SafetyAlert).where(SafetyAlert.status == AlertStatus.OPEN,
                                                          SafetyAlert.category != UNREAD_WORDS)
                                .order_by(SafetyAlert.at, SafetyAlert.id).limit(limit)))


def words_to_read(session: Session, *, limit: int = 100) -> list[SafetyAlert]:
    """Words of hers nothing understood, not yet read by staff, the oldest first."""
    return list(session.scalars(select(SafetyAlert).where(SafetyAlert.status == AlertStatus.OPEN,
                                                          SafetyAlert.category == UNREAD_WORDS)
                                .order_by(SafetyAlert.at, SafetyAlert.id).limit(limit)))


def handled(session: Session, *, limit: int = 30) -> list[SafetyAlert]:
    return list(session.scalars(select(SafetyAlert).where(SafetyAlert.status == AlertStatus.HANDLED)
                                .order_by(SafetyAlert.handled_at.desc()).limit(limit)))


def get(session: Session, *, alert_id: int) -> SafetyAlert | None:
    return session.get(SafetyAlert, alert_id)


def mark_handled(session: Session, *, alert_id: int, staff: str, note: str, now: datetime) -> SafetyAlert:
    note = note.strip()
    if not note:
        raise ValueError("a note is required")
    alert = session.scalars(select(SafetyAlert).where(SafetyAlert.id == alert_id).with_for_update()).first()
    if alert is None or alert.status != AlertStatus.OPEN:
        raise LookupError(alert_id)
    alert.status, alert.handled_by, alert.handled_at, alert.note = AlertStatus.HANDLED, staff, now, note[:2000]
    audit.record(session, actor=staff, action="alert_handled", subject=f"alert:{alert.id}", now=now,
                 before={"status": AlertStatus.OPEN}, after={"status": AlertStatus.HANDLED, "category": alert.category})
    return alert


def of_user(session: Session, *, user_id: str) -> list[SafetyAlert]:
    return list(session.scalars(select(SafetyAlert).where(SafetyAlert.user_id == user_id)
                                .order_by(SafetyAlert.at.desc())))


def erase(session: Session, *, user_id: str) -> int:
    return affected(session, delete(SafetyAlert).where(SafetyAlert.user_id == user_id))
