"""Pregnancies and births: registered by her in the chat (after consent) or by staff at the 母子健康手帳
interview and linked with a code; the timed pushes planned from her dates; a pregnancy that ended.

Each registration or change of a date is one small transaction: the row, its planned pushes (one
reminder row per push, keyed so a re-plan moves it instead of adding one) and the 32-week call row.
"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.orm import Session

from scheduling.city.pregnancy_config import CALL_NOTICE, PregnancyConfig, TimedPush
from scheduling.dates.calendar import at, jst_today
from scheduling.family import calls
from scheduling.family.statuses import CallStatus, MotherStatus
from scheduling.messaging import reminders
from scheduling.messaging.statuses import DeliveryStatus
from scheduling.rules.periods import pregnancy_week_start
from scheduling.store import audit
from scheduling.store.models import Call, Mother, Reminder
from scheduling.store.sql import affected, one_of, run

ACTIVE = (MotherStatus.PREGNANT, MotherStatus.MOTHER)
_MOTHERS = Mother.__table__
# read on every booking tap: the facts the chat needs of her registration, not a whole ORM object
_CURRENT_FACTS = (select(_MOTHERS.c.id, _MOTHERS.c.status, _MOTHERS.c.due_date, _MOTHERS.c.birth_date,
                         _MOTHERS.c.first_baby)
                  .where(_MOTHERS.c.user_id == bindparam("user"), one_of(_MOTHERS.c.status, ACTIVE))
                  .order_by(_MOTHERS.c.created_at.desc(), _MOTHERS.c.id.desc()).limit(1))


@dataclass(frozen=True)
class Planned:
    plan_key: str
    kind: str
    due_at: datetime
    stage: str
    facts: dict


def current(session: Session, *, user_id: str) -> Mother | None:
    """Her registration in force: the latest pregnancy or birth that has not ended."""
    return session.scalars(select(Mother).where(Mother.user_id == user_id, Mother.status.in_(ACTIVE))
                           .order_by(Mother.created_at.desc(), Mother.id.desc())).first()


def current_facts(session: Session, *, user_id: str) -> Row | None:
    """As `current`, only its id, status, due_date, birth_date and first_baby."""
    return run(session, _CURRENT_FACTS, {"user": user_id}).first()


def latest(session: Session, *, user_id: str) -> Mother | None:
    return session.scalars(select(Mother).where(Mother.user_id == user_id)
                           .order_by(Mother.created_at.desc(), Mother.id.desc())).first()


def register_pregnancy(session: Session, *, config: PregnancyConfig, user_id: str | None, due_date: date,
                       babies: int, first_baby: bool | None, now: datetime, via: str = "chat",
                       staff_ref: str | None = None) -> Mother:
    earlier = current(session, user_id=user_id) if user_id is not None else None
    if earlier is not None and earlier.status == MotherStatus.PREGNANT:   # registered again: updated, not doubled
        if first_baby is not None:
            earlier.first_baby = first_baby
        if via == "chat":
            earlier.consent_version, earlier.consent_at = config.consent_version, now
        change_dates(session, config=config, mother=earlier, now=now, due_date=due_date, babies=babies)
        return earlier
    mother = Mother(user_id=user_id, status=MotherStatus.PREGNANT, due_date=due_date.isoformat(), babies=babies,
                    first_baby=first_baby, staff_ref=staff_ref, registered_on=jst_today(now).isoformat(),
                    registered_via=via, created_at=now, updated_at=now)
    if via == "chat":
        mother.consent_version, mother.consent_at = config.consent_version, now
    session.add(mother)
    session.flush()
    session.add(Call(mother_id=mother.id, due_on=_call_day(config, due_date).isoformat(), updated_at=now))
    plan(session, config=config, mother=mother, now=now)
    reminders.switch_menu(session, user_id=user_id, stage="pregnant", now=now)
    return mother


def register_birth(session: Session, *, config: PregnancyConfig, user_id: str, birth_date: date, babies: int,
                   now: datetime, due_date: date | None = None, first_baby: bool | None = None) -> Mother:
    """The birth: her pregnancy record becomes a mother's (pregnancy pushes stop), or a new record."""
    mother = current(session, user_id=user_id)
    if mother is None:
        mother = Mother(user_id=user_id, status=MotherStatus.MOTHER, babies=babies, first_baby=first_baby,
                        registered_on=jst_today(now).isoformat(), registered_via="chat",
                        consent_version=config.consent_version, consent_at=now, created_at=now)
        session.add(mother)
    mother.status, mother.birth_date, mother.babies = MotherStatus.MOTHER, birth_date.isoformat(), babies
    mother.updated_at = now
    if due_date is not None:
        mother.due_date = due_date.isoformat()
    if first_baby is not None:
        mother.first_baby = first_baby
    session.flush()
    plan(session, config=config, mother=mother, now=now)
    reminders.switch_menu(session, user_id=user_id, stage="after_birth", now=now)
    return mother


def change_dates(session: Session, *, config: PregnancyConfig, mother: Mother, now: datetime,
                 due_date: date | None = None, birth_date: date | None = None, babies: int | None = None) -> None:
    """A moved due date (or a corrected birth date): the planned pushes move with it, none is doubled."""
    if due_date is not None:
        mother.due_date = due_date.isoformat()
        call = session.scalars(select(Call).where(Call.mother_id == mother.id)).first()
        if call is not None and call.status == CallStatus.OPEN:
            call.due_on, call.updated_at = _call_day(config, due_date).isoformat(), now
    if birth_date is not None:
        mother.birth_date = birth_date.isoformat()
    if babies is not None:
        mother.babies = babies
    mother.updated_at = now
    plan(session, config=config, mother=mother, now=now)


def end_pregnancy(session: Session, *, mother: Mother, actor: str, now: datetime) -> int:
    """The pregnancy has ended: every pregnancy-stage push stops at once, today's included; the call
    is taken off the list. Returns how many pushes were stopped."""
    before = {"status": mother.status}
    mother.status, mother.ended_on, mother.updated_at = MotherStatus.ENDED, jst_today(now).isoformat(), now
    stopped = stop_pushes(session, mother=mother, stages=("pregnancy", "baby"))
    if mother.user_id:   # and any other push to her (a class reminder, an offer): nothing of before may arrive
        stopped += affected(session, update(Reminder).where(Reminder.user_id == mother.user_id,
                                                            Reminder.status == DeliveryStatus.PENDING,
                                                            Reminder.stage.is_(None), Reminder.kind != reminders.RICHMENU)
                            .values(status=DeliveryStatus.CANCELLED, lease_until=None)
                            .execution_options(synchronize_session=False))
    calls.take_off_list(session, mother_ids=[mother.id], now=now)
    reminders.switch_menu(session, user_id=mother.user_id, stage="not_registered", now=now)
    audit.record(session, actor=actor, action="pregnancy_ended", subject=f"mother:{mother.id}", now=now,
                 before=before, after={"status": MotherStatus.ENDED, "pushes_stopped": stopped})
    return stopped


def relink_menus(session: Session, *, stages: set[str], now: datetime) -> int:
    """Every mother of these rich menu stages gets a switch to her menu again: `hagukumi richmenu apply`
    replaced it, and LINE unlinked her from the old one. Returns how many."""
    statuses = [status for status, stage in reminders.MENU_STAGES.items() if stage in stages]
    rows = session.execute(select(Mother.user_id, Mother.status)
                           .where(Mother.status.in_(statuses), Mother.user_id.is_not(None))
                           .order_by(Mother.created_at, Mother.id))
    latest = {user_id: status for user_id, status in rows}   # her newest record counts, as in `current`
    for user_id, status in latest.items():
        reminders.switch_menu(session, user_id=user_id, stage=reminders.menu_stage(status), now=now)
    return len(latest)


def replace(session: Session, *, mother: Mother, by: Mother, now: datetime) -> None:
    """Her own chat registration of a pregnancy that staff registered too (she then linked their code):
    the staff's record is kept; hers stops its pushes, leaves the call list and the figures."""
    stop_pushes(session, mother=mother, stages=("pregnancy", "baby"))
    calls.take_off_list(session, mother_ids=[mother.id], now=now)
    mother.status, mother.updated_at = MotherStatus.REPLACED, now
    audit.record(session, actor="mother", action="registration_replaced", subject=f"mother:{mother.id}", now=now,
                 before={"status": MotherStatus.PREGNANT}, after={"status": MotherStatus.REPLACED, "by": f"mother:{by.id}"})


def stop_pushes(session: Session, *, mother: Mother, stages: tuple[str, ...]) -> int:
    """Cancel her pending pushes of these stages: planned ones and any other row of hers with that stage."""
    # Her pending planned rows always carry her user id (plan() keeps it so): found by the index on
    # user_id. A LIKE on plan_key would read the whole table on PostgreSQL outside the C collation.
    if mother.user_id is None:
        return 0   # nothing is planned for a record nobody is linked to
    return affected(session, update(Reminder).where(Reminder.user_id == mother.user_id,
                                                    Reminder.status == DeliveryStatus.PENDING, Reminder.stage.in_(stages))
                    .values(status=DeliveryStatus.CANCELLED, lease_until=None).execution_options(synchronize_session=False))


# --- planning the timed pushes ----------------------------------------------------------------------

def plan(session: Session, *, config: PregnancyConfig, mother: Mother, now: datetime) -> None:
    """Make her planned pushes match her dates: move pending ones, add missing ones (only from today
    on), cancel those that no longer apply. A push already sent is never sent again."""
    if mother.user_id is None:
        return  # not linked to a LINE account yet: planned when she links
    wanted = {p.plan_key: p for p in wanted_pushes(config, mother)}
    keys = [f"timed:{mother.id}:{key}" for key in (CALL_NOTICE, *(p.key for p in config.timed_pushes))]
    existing = {row.plan_key: row for row in session.scalars(   # by index: plan_key, or her user id
        select(Reminder).where(Reminder.plan_key.in_(keys) | ((Reminder.user_id == mother.user_id)
                                                              & Reminder.plan_key.like(f"timed:{mother.id}:%"))))}
    today_start = at(jst_today(now), "00:00")
    for key, row in existing.items():
        if key not in wanted and row.status == DeliveryStatus.PENDING:
            row.status = DeliveryStatus.CANCELLED
    for key, push in wanted.items():
        planned = existing.get(key)
        if planned is None:
            if push.due_at >= today_start:
                reminders.add(session, user_id=mother.user_id, kind=push.kind, facts=push.facts, due_at=push.due_at,
                              now=now, stage=push.stage, plan_key=key)
        elif planned.status in (DeliveryStatus.PENDING, DeliveryStatus.CANCELLED):  # moved; into the past: dropped
            planned.status = DeliveryStatus.PENDING if push.due_at >= today_start else DeliveryStatus.CANCELLED
            planned.due_at, planned.lease_until, planned.user_id = push.due_at, None, mother.user_id
    session.flush()


def wanted_pushes(config: PregnancyConfig, mother: Mother) -> list[Planned]:
    pushes = []
    if mother.status == MotherStatus.PREGNANT and mother.due_date:
        due = date.fromisoformat(mother.due_date)
        call_day = pregnancy_week_start(due, config.call_push_week)
        pushes.append(Planned(f"timed:{mother.id}:{CALL_NOTICE}", "call_notice", at(call_day, config.push_time),
                              "pregnancy", call_notice(mother.id)))
        for push in config.timed_pushes:
            if push.pregnancy_week is not None and _for_her(push, mother):
                day = pregnancy_week_start(due, push.pregnancy_week)
                pushes.append(_timed(push, mother, day, config))
    if mother.status == MotherStatus.MOTHER and mother.birth_date:
        born = date.fromisoformat(mother.birth_date)
        for push in config.timed_pushes:
            if push.days_after_birth is not None and _for_her(push, mother):
                pushes.append(_timed(push, mother, born + timedelta(days=push.days_after_birth), config))
    return pushes


def call_notice(mother_id: int) -> dict:
    """The 32-week call notice's facts: the centre will call her (her answers go to this record)."""
    return {"mother": mother_id}


def _timed(push: TimedPush, mother: Mother, day: date, config: PregnancyConfig) -> Planned:
    facts = {"message": push.message, "button": push.button}
    if push.about_class:   # held back when she has booked that class by then (reminders.reasons_to_hold_back)
        facts["about_class"] = push.about_class
    return Planned(f"timed:{mother.id}:{push.key}", f"timed:{push.key}", at(day, config.push_time), push.stage,
                   facts)


def _for_her(push: TimedPush, mother: Mother) -> bool:
    if push.to == "first_baby":
        return mother.first_baby is True
    if push.to == "multiples":
        return (mother.babies or 1) >= 2
    return True


def _call_day(config: PregnancyConfig, due: date) -> date:
    return pregnancy_week_start(due, config.call_week)
