"""Delete my data: her LINE id is gone from every table, with her dates, answers, notes and messages;
her open bookings are cancelled and their places freed; what the yearly figures count stays, as
anonymous rows (her bookings under one alias, so 実人数 still counts her once; her call and its
outcomes); staff see an audit entry. Another mother's data is untouched."""
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from scheduling.care import care_bookings, providers
from scheduling.city.booking_config import load_booking_config
from scheduling.city.pregnancy_config import load_pregnancy_config
from scheduling.classes import classes
from scheduling.dates.calendar import JST
from scheduling.family import calls, link_codes, mothers, screenings
from scheduling.messaging import outbox, reminders, users
from scheduling.records import erasure
from scheduling.rules import load_rules
from scheduling.store.db import transaction
from scheduling.store.models import (
    AuditEntry,
    Base,
    Call,
    CallOutcome,
    CapacityCounter,
    CareBooking,
    ClassBooking,
    ClassSession,
    CodeAttempt,
    ConversationState,
    InboundEvent,
    LinkCode,
    Mother,
    OutgoingMessage,
    Reminder,
    Screening,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"
BOOKING = load_booking_config(CONFIG / "booking.toml")
PREGNANCY = load_pregnancy_config(CONFIG / "pregnancy.toml")
RULES = load_rules(CONFIG / "rules" / "hagukumi.toml")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)    # a Tuesday; パパママ教室 on 9 January is open for booking
HER, OTHER = "U" + "1" * 32, "U" + "2" * 32
ANSWERS = {"relationship": "birth", "residence": "resident", "birth_date": "2026-10-20", "babies": 1,
           "need:family_help": "yes", "exclusions": "none"}


def a_life(session, user_id: str, *, n: int) -> dict:
    """Everything a mother leaves behind: a registration made by staff and linked with a code, a
    wrong code tried, her call with a note, a screening, a care booking, a class booking, webhook
    events, messages, her conversation state."""
    users.ensure(session, user_id=user_id, now=NOW, language="ja")
    mother = mothers.register_pregnancy(session, config=PREGNANCY, user_id=None, due_date=date(2027, 3, 1), babies=1,
                                        first_baby=True, now=NOW, via="staff", staff_ref=f"R-{n}")
    code = link_codes.issue(session, config=PREGNANCY, mother_id=mother.id, staff="staff:1", now=NOW)
    link_codes.redeem(session, config=PREGNANCY, user_id=user_id, text="ZZZZ-ZZZZ", now=NOW)
    assert link_codes.redeem(session, config=PREGNANCY, user_id=user_id, text=code, now=NOW).status == "linked"
    link_codes.redeem(session, config=PREGNANCY, user_id=user_id, text="YYYY-YYYY", now=NOW)
    call = calls.of_mother(session, mother_id=mother.id)
    calls.answer(session, mother_id=mother.id, user_id=user_id, preference="evening", now=NOW)
    calls.record(session, call_id=call.id, outcome="phone", staff="staff:1", now=NOW, note="実家に帰る予定",
                 no_family_help=True)
    screening = screenings.record(session, user_id=user_id, answers=ANSWERS, decision={"short_stay": "eligible"},
                                  rules_version="2026", care_date="2026-12-07", now=NOW)
    care = care_bookings.request(session, config=BOOKING, rules=RULES, answers=ANSWERS, now=NOW,
                                 screening_id=screening.id, request=care_bookings.Request(
                                     user_id=user_id, care_type="day_care", start=date(2026, 12, 7 + n),
                                     request_key=f"{user_id}:care:{n}", provider_key="sakura"))
    assert care.ok, care
    papamama = next(row for row, _ in classes.bookable(session, config=BOOKING, now=NOW) if row.class_key == "papamama")
    booked = classes.book(session, config=BOOKING, session_id=papamama.id, user_id=user_id, party=2,
                          request_key=f"{user_id}:class:{n}", now=NOW)
    assert booked.ok, booked
    session.execute(InboundEvent.__table__.insert(), [{
        "webhook_event_id": f"evt-{n}", "user_id": user_id, "event_type": "message", "occurred_at": NOW,
        "received_at": NOW, "body": json.dumps({"source": {"userId": user_id}}), "status": "done", "attempts": 1,
        "is_redelivery": False}])
    outbox.add(session, user_id=user_id, messages=[{"type": "text", "text": "ご予約を承りました"}], now=NOW)
    session.add(ConversationState(user_id=user_id, data=json.dumps({"user": user_id}), version=1,
                                  expires_at=NOW + timedelta(days=1)))
    return {"mother": mother.id, "call": call.id, "care": care.booking.id, "class": booked.booking.id,
            "session": papamama.id}


@pytest.fixture
def two(sessions):
    with transaction(sessions) as session:
        providers.sync(session, config=BOOKING)
        classes.sync(session, config=BOOKING, today=NOW.date())
        return {HER: a_life(session, HER, n=0), OTHER: a_life(session, OTHER, n=1)}


def delete_her(sessions, actor="mother") -> dict:
    with transaction(sessions) as session:
        return erasure.delete_user_data(session, config=BOOKING, user_id=HER, now=NOW + timedelta(hours=1),
                                        actor=actor)


def everywhere(sessions, needle: str) -> list[str]:
    """Every table and column where `needle` appears in a stored text."""
    found = []
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).mappings():
                found += [f"{table.name}.{column}" for column, value in row.items()
                          if isinstance(value, str) and needle in value]
    return sorted(set(found))


def test_her_line_id_is_nowhere_after_deletion_and_the_other_mothers_is_untouched(sessions, two):
    assert "mothers.user_id" in everywhere(sessions, HER) and "reminders.user_id" in everywhere(sessions, HER)
    before_other = everywhere(sessions, OTHER)
    assert {"mothers.user_id", "screenings.user_id", "reminders.user_id", "outgoing_messages.user_id",
            "inbound_events.user_id", "inbound_events.body", "line_users.user_id", "conversation_states.user_id",
            "code_attempts.user_id", "care_bookings.user_id", "class_bookings.user_id"} <= set(before_other)
    delete_her(sessions)
    assert everywhere(sessions, HER) == []
    assert everywhere(sessions, OTHER) == before_other


def test_her_dates_answers_notes_and_codes_are_gone(sessions, two):
    mine = two[HER]
    delete_her(sessions)
    with sessions() as session:
        mother = session.get(Mother, mine["mother"])
        assert (mother.user_id, mother.due_date, mother.birth_date, mother.first_baby, mother.staff_ref,
                mother.ended_on) == (None, None, None, None, None, None)
        assert (mother.status, mother.registered_on, mother.deleted_at) == ("pregnant", "2026-12-01",
                                                                           NOW + timedelta(hours=1))
        assert [o.note for o in calls.outcomes(session, call_id=mine["call"])] == [None]
        assert session.scalars(select(LinkCode).where(LinkCode.mother_id == mine["mother"])).all() == []
        assert session.get(CareBooking, mine["care"]).screening_id is None
        for model in (Screening, Reminder, OutgoingMessage, InboundEvent, ConversationState, CodeAttempt):
            assert session.scalar(select(func.count()).select_from(model)) > 0   # the other mother's are there
        other = session.get(Mother, two[OTHER]["mother"])
        assert (other.user_id, other.due_date, other.staff_ref) == (OTHER, "2027-03-01", "R-1")
        assert [o.note for o in calls.outcomes(session, call_id=two[OTHER]["call"])] == ["実家に帰る予定"]


def test_her_open_bookings_are_cancelled_and_their_places_freed(sessions, two):
    mine = two[HER]
    delete_her(sessions)
    with sessions() as session:
        assert session.get(CareBooking, mine["care"]).status == "cancelled"
        assert session.get(ClassBooking, mine["class"]).status == "cancelled"
        used = dict(session.execute(select(CapacityCounter.day, CapacityCounter.used)
                                    .where(CapacityCounter.resource.like("day_care:%"))).all())
        assert used == {"2026-12-07": 0, "2026-12-08": 1}                 # hers freed, the other's kept
        assert classes.free_places(session, session.get(ClassSession, mine["session"])) == 20 - 2
        assert session.get(CareBooking, two[OTHER]["care"]).status == "requested"


def test_the_counts_stay_right_her_bookings_under_one_alias_her_call_and_its_outcomes(sessions, two):
    def counted():
        with sessions() as session:
            distinct = session.scalar(select(func.count(func.distinct(text("user_id")))).select_from(
                select(CareBooking.user_id).union_all(select(ClassBooking.user_id)).subquery()))
            return (distinct, *(session.scalar(select(func.count()).select_from(model))
                                for model in (Mother, CareBooking, ClassBooking, Call, CallOutcome)))

    before = counted()
    delete_her(sessions)
    assert counted() == before == (2, 2, 2, 2, 2, 2)
    mine = two[HER]
    with sessions() as session:
        alias = session.get(CareBooking, mine["care"]).user_id
        assert alias.startswith("deleted:") and session.get(ClassBooking, mine["class"]).user_id == alias
        call = session.get(Call, mine["call"])
        assert (call.status, call.outcome, call.preference, call.no_family_help) == ("done", "phone", "evening", True)


def test_staff_see_an_audit_entry_with_what_was_deleted_and_kept(sessions, two):
    counts = delete_her(sessions, actor="staff:9")
    with sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "data_deleted")).one()
        alias = session.get(CareBooking, two[HER]["care"]).user_id
    assert (entry.actor, entry.subject, entry.at) == ("staff:9", alias, NOW + timedelta(hours=1))
    assert json.loads(entry.after) == counts
    assert counts["care_bookings_kept"] == counts["class_bookings_kept"] == counts["registrations_kept"] == 1
    assert counts["screenings"] == counts["messages"] == counts["events"] == 1
    assert counts["pushes"] >= 2 and counts["call_notes_deleted"] == 1


def test_deleting_twice_or_for_someone_unknown_does_no_harm(sessions, two):
    delete_her(sessions)
    again = delete_her(sessions)
    assert all(value == 0 for value in again.values())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "data_deleted")) == 2
        left = reminders.claim_due(session, now=NOW + timedelta(days=400))
        assert left and {row.user_id for row in left} == {OTHER}


def test_a_pregnancy_that_ended_keeps_its_status_for_the_figures_but_not_its_date(sessions, two):
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, two[HER]["mother"]), actor="staff:1", now=NOW)
    delete_her(sessions)
    with sessions() as session:
        mother = session.get(Mother, two[HER]["mother"])
        assert (mother.status, mother.ended_on, mother.registered_on) == ("ended", None, "2026-12-01")
