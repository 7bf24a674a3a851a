"""相談: a mother's request to talk with the centre, its thread, staff replies by push, closing.

One open case per mother (a partial unique index). While it is open, what she types joins its thread.
A staff reply is a message row and a `consult_reply` push (through the dispatcher, with its retry key)
that says only that an answer is waiting; she reads it in the chat, so nothing of a 相談 shows on a
lock screen. Every read of a case by staff is audited (admin/pages/consults.py).
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from scheduling.consult.statuses import CaseStatus
from scheduling.dates.calendar import JST
from scheduling.messaging import reminders
from scheduling.store import audit
from scheduling.store.models import ConsultCase, ConsultMessage
from scheduling.store.sql import affected

TOPICS = ("body", "baby", "feelings", "other")
ANSWER_BY = ("line", "phone")
TIME_BANDS = ("morning", "afternoon", "evening")
SOURCES = ("menu", "text", "safety", "care")
CLOSE_CATEGORIES = ("childcare", "mother_health", "feelings", "procedures", "to_care", "to_medical", "other")
MAX_BODY = 5000  # LINE's own limit for a text message
MAX_REPLY = 2000


@dataclass(frozen=True)
class Opened:
    case: ConsultCase
    new: bool  # False: she had one open already, which is returned


def open_of(session: Session, *, user_id: str) -> ConsultCase | None:
    return session.scalars(select(ConsultCase).where(ConsultCase.user_id == user_id,
                                                     ConsultCase.status == CaseStatus.OPEN)).first()


def open_case(session: Session, *, user_id: str, topic: str, answer_by: str, now: datetime, source: str = "menu",
              time_band: str | None = None, phone: str | None = None) -> Opened:
    """Open her 相談, or return the one she has open (one at a time; a new topic is added to it as a note)."""
    if topic not in TOPICS or answer_by not in ANSWER_BY or source not in SOURCES \
            or (time_band is not None and time_band not in TIME_BANDS):
        raise ValueError(f"not a 相談: {topic!r} {answer_by!r} {source!r} {time_band!r}")
    existing = open_of(session, user_id=user_id)
    if existing is not None:
        if answer_by == "phone":
            existing.answer_by, existing.time_band, existing.phone = "phone", time_band, phone or existing.phone
        return Opened(existing, False)
    case = ConsultCase(user_id=user_id, topic=topic, answer_by=answer_by, time_band=time_band, phone=phone,
                       source=source, status=CaseStatus.OPEN, opened_at=now)
    session.add(case)
    session.flush()
    return Opened(case, True)


def add_message(session: Session, *, case: ConsultCase, kind: str, body: str, now: datetime,
                source_event_id: int | None = None) -> ConsultMessage:
    """Her message joins the thread. Only text keeps a body; an image or a file is noted as sent."""
    message = ConsultMessage(case_id=case.id, author="mother", kind=kind, body=body[:MAX_BODY] if kind == "text" else "",
                             at=now, source_event_id=source_event_id)
    session.add(message)
    case.last_mother_at = now
    session.flush()
    return message


def mark_told(session: Session, *, case: ConsultCase, now: datetime) -> bool:
    """True the first time after opening (or after a staff reply): she is told when the centre answers."""
    if case.told_at is not None and (case.last_staff_at is None or case.told_at > case.last_staff_at):
        return False
    case.told_at = now
    return True


def reply(session: Session, *, case_id: int, staff: str, body: str, now: datetime) -> ConsultMessage:
    """A staff reply: stored, and a push that tells her an answer is waiting (read in the chat)."""
    body = body.strip()
    if not body or len(body) > MAX_REPLY:
        raise ValueError("a reply needs 1 to 2,000 characters")
    case = _locked(session, case_id)
    if case is None or case.status != CaseStatus.OPEN or case.user_id.startswith("deleted:"):
        raise LookupError(case_id)
    message = ConsultMessage(case_id=case.id, author=staff, kind="text", body=body, at=now)
    session.add(message)
    case.last_staff_at = now
    session.flush()
    reminders.add(session, user_id=case.user_id, kind="consult_reply", due_at=now, now=now,
                  facts={"case": case.id},
                  plan_key=f"consult_reply:{message.id}")
    audit.record(session, actor=staff, action="consult_replied", subject=f"consult:{case.id}", now=now,
                 after={"message": message.id, "length": len(body)})
    return message


def unread_replies(session: Session, *, user_id: str, now: datetime) -> list[ConsultMessage]:
    """Staff replies she has not opened yet, oldest first, marked read now."""
    rows = list(session.scalars(
        select(ConsultMessage).join(ConsultCase, ConsultCase.id == ConsultMessage.case_id)
        .where(ConsultCase.user_id == user_id, ConsultMessage.author != "mother", ConsultMessage.read_at.is_(None))
        .order_by(ConsultMessage.at, ConsultMessage.id)))
    for row in rows:
        row.read_at = now
    return rows


def close(session: Session, *, case_id: int, staff: str, category: str, now: datetime) -> ConsultCase:
    if category not in CLOSE_CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    case = _locked(session, case_id)
    if case is None or case.status != CaseStatus.OPEN:
        raise LookupError(case_id)
    case.status, case.category, case.closed_at, case.closed_by = CaseStatus.CLOSED, category, now, staff
    audit.record(session, actor=staff, action="consult_closed", subject=f"consult:{case.id}", now=now,
                 before={"status": CaseStatus.OPEN}, after={"status": CaseStatus.CLOSED, "category": category})
    return case


def get(session: Session, *, case_id: int) -> ConsultCase | None:
    return session.get(ConsultCase, case_id)


def thread(session: Session, *, case_id: int) -> list[ConsultMessage]:
    return list(session.scalars(select(ConsultMessage).where(ConsultMessage.case_id == case_id)
                                .order_by(ConsultMessage.at, ConsultMessage.id)))


def inbox(session: Session, *, status: str = CaseStatus.OPEN, limit: int = 200) -> list[ConsultCase]:
    """Open cases, the one waiting longest for staff first (her latest message unanswered); or closed ones,
    newest first."""
    query = select(ConsultCase).where(ConsultCase.status == status).limit(limit)
    if status == CaseStatus.OPEN:
        waiting = func.coalesce(ConsultCase.last_mother_at, ConsultCase.opened_at)
        query = query.order_by(waiting, ConsultCase.id)
    else:
        query = query.order_by(ConsultCase.closed_at.desc(), ConsultCase.id.desc())
    return list(session.scalars(query))


def waiting_since(case: ConsultCase) -> datetime | None:
    """Since when she waits for staff: her first message after staff's latest reply (else the opening)."""
    if case.last_staff_at is not None and (case.last_mother_at is None or case.last_mother_at <= case.last_staff_at):
        return None
    return case.opened_at if case.last_staff_at is None else case.last_mother_at


def of_user(session: Session, *, user_id: str) -> list[ConsultCase]:
    return list(session.scalars(select(ConsultCase).where(ConsultCase.user_id == user_id)
                                .order_by(ConsultCase.opened_at.desc())))


def anonymise(session: Session, *, user_id: str, alias: str, now: datetime) -> dict:
    """Her data deleted: every message and phone of her cases goes; the cases stay anonymous for the figures."""
    case_ids = select(ConsultCase.id).where(ConsultCase.user_id == user_id).scalar_subquery()
    messages = affected(session, delete(ConsultMessage).where(ConsultMessage.case_id.in_(case_ids))
                        .execution_options(synchronize_session=False))
    cases = affected(session, update(ConsultCase).where(ConsultCase.user_id == user_id)
                     .values(user_id=alias, phone=None, status=CaseStatus.CLOSED,
                             category=func.coalesce(ConsultCase.category, "other"),
                             closed_at=func.coalesce(ConsultCase.closed_at, now))
                     .execution_options(synchronize_session=False))
    return {"consult_cases_kept": cases, "consult_messages": messages}


def counted(session: Session, *, first: date, last: date) -> list[tuple[str, str, date]]:
    """(who, topic, JST date opened) of every case opened in [first, last], for the figures."""
    start = datetime.combine(first, datetime.min.time(), JST)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), JST)
    rows = session.execute(select(ConsultCase.user_id, ConsultCase.topic, ConsultCase.opened_at)
                           .where(ConsultCase.opened_at >= start, ConsultCase.opened_at < end))
    return [(user, topic, opened.astimezone(JST).date()) for user, topic, opened in rows]


def _locked(session: Session, case_id: int) -> ConsultCase | None:
    return session.scalars(select(ConsultCase).where(ConsultCase.id == case_id).with_for_update()
                           .execution_options(populate_existing=True)).first()
