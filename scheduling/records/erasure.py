"""Delete her personal data on request, keeping only what the yearly figures count, anonymously.

Deleted: her LINE id wherever it is stored, her dates and answers (registrations, screenings, link
codes, every field of her 利用申請 and its drafts), her messages and pushes, her conversation state (SQL;
the caller clears Redis). Kept: her
bookings and calls as anonymous rows under one random name (so 実人数 still counts her once), the
registration's status and date. Her open bookings are cancelled first, so their places are freed.
"""
import secrets
from datetime import datetime

from sqlalchemy import String, cast, delete, literal, select, update
from sqlalchemy.orm import Session

from scheduling.applications import service as applications
from scheduling.care import care_bookings
from scheduling.city.booking_config import BookingConfig
from scheduling.classes import classes
from scheduling.consult import alerts, consults
from scheduling.family import calls
from scheduling.store import audit
from scheduling.store.models import (
    Call,
    CallOutcome,
    CareBooking,
    ClassBooking,
    CodeAttempt,
    ConversationState,
    InboundEvent,
    LineUser,
    LinkCode,
    Mother,
    OutgoingMessage,
    Reminder,
    Screening,
    StaffNeed,
)
from scheduling.store.sql import affected


def delete_user_data(session: Session, *, config: BookingConfig, user_id: str, now: datetime,
                     actor: str = "mother") -> dict:
    """Returns the counts of what was deleted and kept (also in the audit entry)."""
    for booking in care_bookings.of_user(session, user_id=user_id):
        if booking.status in care_bookings.OPEN:
            care_bookings.cancel(session, config=config, booking_id=booking.id, now=now, actor="system",
                                 reason="data deleted on request")
    for class_booking, _ in classes.of_user(session, user_id=user_id):
        if class_booking.status in classes.OPEN:
            classes.cancel(session, config=config, booking_id=class_booking.id, now=now, actor="system",
                           reason="data deleted on request")
    alias = "deleted:" + secrets.token_hex(8)
    mother_ids = list(session.scalars(select(Mother.id).where(Mother.user_id == user_id)))
    counts = {
        "care_bookings_kept": _update(session, CareBooking, CareBooking.user_id == user_id, user_id=alias,
                                      screening_id=None, request_key=_renamed(alias, CareBooking)),
        "class_bookings_kept": _update(session, ClassBooking, ClassBooking.user_id == user_id, user_id=alias,
                                       request_key=_renamed(alias, ClassBooking)),
        **erase_records(session, mother_ids=mother_ids, now=now),
        "screenings": _delete(session, Screening, Screening.user_id == user_id),
        "pushes": _delete(session, Reminder, Reminder.user_id == user_id),
        "messages": _delete(session, OutgoingMessage, OutgoingMessage.user_id == user_id),
        "events": _delete(session, InboundEvent, InboundEvent.user_id == user_id),
        **consults.anonymise(session, user_id=user_id, alias=alias, now=now),
        "safety_alerts": alerts.erase(session, user_id=user_id),
        **applications.erase(session, user_id=user_id, alias=alias, now=now),
    }
    _delete(session, CodeAttempt, CodeAttempt.user_id == user_id)
    _delete(session, ConversationState, ConversationState.user_id == user_id)
    _delete(session, LineUser, LineUser.user_id == user_id)
    audit.record(session, actor=actor, action="data_deleted", subject=alias, now=now, after=counts)
    return counts


def erase_records(session: Session, *, mother_ids: list[int], now: datetime) -> dict:
    """Her registrations keep only what the figures count (status, the day registered); their dates,
    the centre's code, link codes and call notes go, and nobody is left on the call list."""
    return {
        "registrations_kept": _update(session, Mother, Mother.id.in_(mother_ids), user_id=None, due_date=None,
                                      birth_date=None, first_baby=None, staff_ref=None, ended_on=None, phone=None,
                                      deleted_at=now, updated_at=now),
        "calls_closed": calls.take_off_list(session, mother_ids=mother_ids, now=now),
        "call_notes_deleted": _update(session, CallOutcome, CallOutcome.call_id.in_(
            select(Call.id).where(Call.mother_id.in_(mother_ids))), note=None),
        "link_codes": _delete(session, LinkCode, LinkCode.mother_id.in_(mother_ids)),
        "staff_needs": _delete(session, StaffNeed, StaffNeed.mother_id.in_(mother_ids)),
    }


def _renamed(alias: str, model):
    """A booking's request key may be made of her LINE id: it becomes '<alias>:<booking id>'."""
    return literal(f"{alias}:") + cast(model.id, String)


def _update(session: Session, model, condition, **values) -> int:
    return affected(session, update(model).where(condition).values(**values)
                    .execution_options(synchronize_session=False))


def _delete(session: Session, model, condition) -> int:
    return affected(session, delete(model).where(condition).execution_options(synchronize_session=False))
