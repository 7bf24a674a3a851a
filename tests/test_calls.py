"""The 32-week call list for staff: due calls in order, filtered by her preferred time; her answer
(only to her own call); outcomes with a retry date, their history and the audit trail; the
'no family help after birth' flag offering her 産後ケア by push exactly once."""
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from scheduling.city.pregnancy_config import parse_pregnancy_config
from scheduling.dates.calendar import JST
from scheduling.family import calls, mothers
from scheduling.messaging import reminders
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, Call, Mother, Reminder

CONFIG = parse_pregnancy_config('[consent]\nversion = "v1"\n[call]\npush_week = 31\ncall_week = 32\n')
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=JST)
STAFF = "staff:5"


def register(sessions, user_id: str | None, due: date) -> tuple[int, int]:
    """(mother id, call id)"""
    with transaction(sessions) as session:
        mother = mothers.register_pregnancy(session, config=CONFIG, user_id=user_id, due_date=due, babies=1,
                                            first_baby=None, now=NOW, via="chat" if user_id else "staff")
        return mother.id, calls.of_mother(session, mother_id=mother.id).id


def due_list(sessions, until: date, **filters) -> list[tuple[str, str, str]]:
    """(her user id, the day it is due, preference) of each call due by `until`."""
    with sessions() as session:
        return [(d.mother.user_id, d.call.retry_on or d.call.due_on, d.call.preference)
                for d in calls.due(session, until=until, **filters)]


def answer(sessions, mother_id: int, user_id: str, preference: str, now=NOW) -> Call | None:
    with transaction(sessions) as session:
        return calls.answer(session, mother_id=mother_id, user_id=user_id, preference=preference, now=now)


def record(sessions, call_id: int, outcome: str, now=NOW, **kw) -> Call:
    with transaction(sessions) as session:
        return calls.record(session, call_id=call_id, outcome=outcome, staff=STAFF, now=now, **kw)


@pytest.fixture
def three(sessions):
    """Three pregnant women; their call weeks (32+0) start on 6, 13 and 20 August."""
    return {user: register(sessions, user, due) for user, due in
            (("U-b", date(2026, 10, 8)), ("U-a", date(2026, 10, 1)), ("U-c", date(2026, 10, 15)))}


def test_calls_are_listed_once_their_week_has_come_oldest_first(sessions, three):
    assert due_list(sessions, date(2026, 8, 5)) == []
    assert due_list(sessions, date(2026, 8, 6)) == [("U-a", "2026-08-06", "none")]
    assert due_list(sessions, date(2026, 8, 31)) == [("U-a", "2026-08-06", "none"), ("U-b", "2026-08-13", "none"),
                                                     ("U-c", "2026-08-20", "none")]


def test_her_answer_sets_the_preference_and_staff_filter_by_it(sessions, three):
    for user, preference in (("U-a", "evening"), ("U-b", "morning"), ("U-c", "evening")):
        call = answer(sessions, three[user][0], user, preference, now=NOW + timedelta(days=1))
        assert (call.preference, call.answered_at) == (preference, NOW + timedelta(days=1))
    assert answer(sessions, three["U-b"][0], "U-b", "in_person").preference == "in_person"   # a second answer wins
    until = date(2026, 8, 31)
    assert [u for u, _, _ in due_list(sessions, until, preference="evening")] == ["U-a", "U-c"]
    assert due_list(sessions, until, preference="in_person") == [("U-b", "2026-08-13", "in_person")]
    assert due_list(sessions, until, preference="afternoon") == []


def test_an_answer_to_someone_elses_call_or_an_unknown_choice_is_refused(sessions, three):
    mother_a = three["U-a"][0]
    assert answer(sessions, mother_a, "U-b", "morning") is None
    assert answer(sessions, mother_a, "U-a", "midnight") is None
    assert answer(sessions, 99_999, "U-a", "morning") is None
    staff_made, _ = register(sessions, None, date(2026, 10, 1))   # not linked to anyone yet
    assert answer(sessions, staff_made, "U-a", "morning") is None
    with sessions() as session:
        assert session.get(Call, three["U-a"][1]).preference == "none"


def test_not_reached_keeps_the_call_open_and_moves_it_to_the_retry_date(sessions, three):
    call_id = three["U-a"][1]
    call = record(sessions, call_id, "not_reached", now=datetime(2026, 8, 6, 10, 0, tzinfo=JST),
                  retry_on=date(2026, 8, 17), note="留守電")
    assert (call.status, call.outcome, call.retry_on) == ("open", "not_reached", "2026-08-17")
    assert [u for u, _, _ in due_list(sessions, date(2026, 8, 16))] == ["U-b"]
    assert due_list(sessions, date(2026, 8, 31)) == [("U-b", "2026-08-13", "none"), ("U-a", "2026-08-17", "none"),
                                                     ("U-c", "2026-08-20", "none")]
    call = record(sessions, call_id, "phone", now=datetime(2026, 8, 17, 14, 0, tzinfo=JST), note="元気です")
    assert (call.status, call.outcome, call.retry_on) == ("done", "phone", None)
    assert [u for u, _, _ in due_list(sessions, date(2026, 8, 31))] == ["U-b", "U-c"]
    with sessions() as session:
        done = calls.due(session, until=date(2026, 8, 31), include_done=True)
        assert [(d.mother.user_id, d.call.status) for d in done] == [("U-a", "done"), ("U-b", "open"),
                                                                     ("U-c", "open")]
        history = calls.outcomes(session, call_id=call_id)
        assert [(o.outcome, o.note, o.retry_on, o.staff) for o in history] == [
            ("not_reached", "留守電", "2026-08-17", STAFF), ("phone", "元気です", None, STAFF)]


@pytest.mark.parametrize("outcome", ["in_person", "declined"])
def test_meeting_or_declining_closes_the_call(sessions, three, outcome):
    assert record(sessions, three["U-a"][1], outcome).status == "done"
    assert [u for u, _, _ in due_list(sessions, date(2026, 8, 31))] == ["U-b", "U-c"]


def test_an_unknown_outcome_is_refused(sessions, three):
    with pytest.raises(ValueError):
        record(sessions, three["U-a"][1], "spoke")


def test_every_outcome_leaves_an_audit_entry_with_before_and_after(sessions, three):
    call_id = three["U-a"][1]
    record(sessions, call_id, "not_reached", retry_on=date(2026, 8, 10), now=NOW)
    record(sessions, call_id, "phone", no_family_help=True, now=NOW + timedelta(days=1))
    with sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.subject == f"call:{call_id}")
                                  .order_by(AuditEntry.id)).all()
        assert [(e.actor, e.action, e.at) for e in entries] == [(STAFF, "call_recorded", NOW),
                                                               (STAFF, "call_recorded", NOW + timedelta(days=1))]
        assert [(json.loads(e.before), json.loads(e.after)) for e in entries] == [
            ({"status": "open", "outcome": None, "retry_on": None, "no_family_help": False},
             {"status": "open", "outcome": "not_reached", "retry_on": "2026-08-10", "no_family_help": False}),
            ({"status": "open", "outcome": "not_reached", "retry_on": "2026-08-10", "no_family_help": False},
             {"status": "done", "outcome": "phone", "retry_on": None, "no_family_help": True})]
        assert len(entries) == len(calls.outcomes(session, call_id=call_id))


def test_no_family_help_offers_her_care_by_exactly_one_push_even_when_recorded_twice(sessions, three):
    call_id = three["U-a"][1]
    moment = datetime(2026, 8, 6, 11, 0, tzinfo=JST)
    record(sessions, call_id, "not_reached", retry_on=date(2026, 8, 7), no_family_help=True, now=moment)
    record(sessions, call_id, "phone", no_family_help=True, now=moment + timedelta(days=1))
    record(sessions, call_id, "phone", no_family_help=None, now=moment + timedelta(days=2))
    with sessions() as session:
        offers = session.scalars(select(Reminder).where(Reminder.kind == "care_offer")).all()
        assert [(r.user_id, r.due_at, r.status, r.stage) for r in offers] == [("U-a", moment, "pending", "pregnancy")]
        assert json.loads(offers[0].message) == {"facts": {}}
        assert session.get(Call, call_id).no_family_help is True
    with transaction(sessions) as session:   # the dispatcher finds it due at once
        assert "care_offer" in [r.kind for r in reminders.claim_due(session, now=moment)]


def test_no_push_for_a_record_nobody_is_linked_to_and_none_after_the_pregnancy_ended(sessions, three):
    _, unlinked_call = register(sessions, None, date(2026, 10, 1))
    record(sessions, unlinked_call, "in_person", no_family_help=True)
    mother_id, call_id = three["U-a"]
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor=STAFF, now=NOW)
    assert [u for u, _, _ in due_list(sessions, date(2026, 12, 31))] == ["U-b", "U-c"]
    assert answer(sessions, mother_id, "U-a", "morning") is None
    record(sessions, call_id, "phone", no_family_help=True)   # staff record a call made before they knew
    with sessions() as session:
        assert session.scalars(select(Reminder).where(Reminder.kind == "care_offer")).all() == []
        assert session.get(Call, unlinked_call).no_family_help is True


def test_an_offer_not_yet_sent_stops_when_the_pregnancy_ends(sessions, three):
    mother_id, call_id = three["U-a"]
    evening = datetime(2026, 8, 6, 20, 55, tzinfo=JST)   # sent after the quiet hours, at 08:00
    record(sessions, call_id, "phone", no_family_help=True, now=evening)
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor=STAFF,
                              now=evening + timedelta(hours=2))
    with sessions() as session:
        assert session.scalars(select(Reminder.status).where(Reminder.kind == "care_offer")).all() == ["cancelled"]
