"""相談 cases and urgent safety items, on SQLite and PostgreSQL: opening, the thread, staff replies by push,
reading them, closing, the figures, and erasure with her data."""
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from dialogs import notices
from scheduling.chat.consult_desk import ConsultDesk
from scheduling.consult import alerts, consults
from scheduling.dates.calendar import JST
from scheduling.records import erasure
from scheduling.reports import statistics
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, ConsultCase, ConsultMessage, Reminder, SafetyAlert
from tests.admin_helpers import CITY

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=JST)
MOTHER, OTHER = "U" + "1" * 32, "U" + "2" * 32


def desk(session, user=MOTHER, now=NOW):
    return ConsultDesk(session, user, now=now)


def test_one_open_case_per_mother_and_her_messages_join_it(sessions):
    with transaction(sessions) as session:
        first = desk(session).start(topic="feelings", answer_by="line", source="menu")
        again = desk(session).start(topic="baby", answer_by="phone", source="text", time_band="morning",
                                    phone="090-1234-5678")
        assert again.id == first.id and again.answer_by == "phone" and again.phone == "090-1234-5678"
        added = desk(session).add(kind="text", body="夜に眠れません")
        assert added.tell is True
        assert desk(session).add(kind="image", body="ignored").tell is False
        assert desk(session, OTHER).add(kind="text", body="x") is None   # no case: nothing joins
    with transaction(sessions) as session:
        thread = consults.thread(session, case_id=first.id)
        assert [(m.author, m.kind, m.body) for m in thread] == [("mother", "text", "夜に眠れません"),
                                                               ("mother", "image", "")]


def test_a_staff_reply_is_a_neutral_push_and_she_reads_it_in_the_chat(sessions):
    with transaction(sessions) as session:
        case = desk(session).start(topic="baby", answer_by="line", source="menu")
        desk(session).add(kind="text", body="ミルクを飲みません")
        message = consults.reply(session, case_id=case.id, staff="staff:1", body="  量はどれくらいですか。 ",
                                 now=NOW + timedelta(hours=1))
    with transaction(sessions) as session:
        [push] = session.scalars(select(Reminder).where(Reminder.kind == "consult_reply")).all()
        assert json.loads(push.message) == {"facts": {"case": case.id}}
        [said] = notices.says(push.kind, {"case": case.id})
        assert [c.data for c in said.choices] == [f"cons|read|{case.id}"]
        assert "ミルク" not in push.message and "量は" not in push.message   # nothing of it on a lock screen
        assert push.user_id == MOTHER and push.plan_key == f"consult_reply:{message.id}"
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "consult_replied")).all()
        assert entry.subject == f"consult:{case.id}" and "量は" not in (entry.after or "")
        # after a reply her next message tells her again when the centre answers
        assert desk(session, now=NOW + timedelta(hours=2)).add(kind="text", body="50mlです").tell is True
    with transaction(sessions) as session:
        read = desk(session, now=NOW + timedelta(hours=3)).unread_replies()
        assert [r.body for r in read] == ["量はどれくらいですか。"]
        assert desk(session).unread_replies() == []


def test_replies_are_checked_and_closed_cases_take_none(sessions):
    with transaction(sessions) as session:
        case = desk(session).start(topic="other", answer_by="line", source="menu")
        for body in ("", "   ", "x" * (consults.MAX_REPLY + 1)):
            with pytest.raises(ValueError):
                consults.reply(session, case_id=case.id, staff="staff:1", body=body, now=NOW)
        with pytest.raises(ValueError):
            consults.close(session, case_id=case.id, staff="staff:1", category="nonsense", now=NOW)
        consults.close(session, case_id=case.id, staff="staff:1", category="procedures", now=NOW)
        with pytest.raises(LookupError):
            consults.reply(session, case_id=case.id, staff="staff:1", body="遅れて", now=NOW)
        with pytest.raises(LookupError):
            consults.close(session, case_id=case.id, staff="staff:1", category="other", now=NOW)
        # closed: a new 相談 is a new case
        assert desk(session).start(topic="body", answer_by="line", source="menu").id != case.id


def test_the_inbox_puts_the_longest_waiting_first(sessions):
    with transaction(sessions) as session:
        early = desk(session, OTHER, NOW - timedelta(hours=5)).start(topic="body", answer_by="line", source="menu")
        late = desk(session, MOTHER, NOW - timedelta(hours=1)).start(topic="baby", answer_by="line", source="menu")
        assert [c.id for c in consults.inbox(session)] == [early.id, late.id]
        consults.reply(session, case_id=early.id, staff="staff:1", body="はい", now=NOW)
        row = consults.get(session, case_id=early.id)
        assert consults.waiting_since(row) is None                # answered: not waiting
        desk(session, OTHER, NOW + timedelta(minutes=5)).add(kind="text", body="ありがとう")
        assert [c.id for c in consults.inbox(session)] == [late.id, early.id]


def test_figures_count_persons_and_contacts_by_topic(sessions):
    with transaction(sessions) as session:
        for user, topic, when in ((MOTHER, "feelings", datetime(2026, 5, 10, 9, tzinfo=JST)),
                                  (MOTHER, "baby", datetime(2026, 6, 1, 9, tzinfo=JST)),
                                  (OTHER, "feelings", datetime(2026, 6, 2, 9, tzinfo=JST)),
                                  (OTHER, "feelings", datetime(2027, 4, 1, 0, 30, tzinfo=JST))):  # the next 年度
            case = consults.open_case(session, user_id=user, topic=topic, answer_by="line", now=when).case
            consults.close(session, case_id=case.id, staff="staff:1", category="other", now=when)
        found = statistics.year_figures(session, rules=CITY.rules, config=None, year=2026,
                                        today=date(2027, 4, 2))
    by = {c.topic: c for c in found.consults}
    assert by["feelings"].persons.year == 2 and by["feelings"].contacts.year == 2
    assert by["baby"].persons.year == 1 and by["total"].contacts.year == 3
    assert by["total"].persons.year == 2                       # a mother with two topics is one person
    assert by["total"].persons.months[1:3] == (1, 2)           # May, June


def test_urgent_items_are_handled_with_a_note_and_audited(sessions):
    with transaction(sessions) as session:
        alert = alerts.raise_alert(session, user_id=MOTHER, category="life", label="本人の命の危険", body="死にたい",
                                   matched="死にたい", now=NOW)
        assert [a.id for a in alerts.open_alerts(session)] == [alert.id]
        with pytest.raises(ValueError):
            alerts.mark_handled(session, alert_id=alert.id, staff="staff:1", note="  ", now=NOW)
        alerts.mark_handled(session, alert_id=alert.id, staff="staff:1", note="10:05 電話で話した", now=NOW)
        with pytest.raises(LookupError):
            alerts.mark_handled(session, alert_id=alert.id, staff="staff:2", note="二重", now=NOW)
        assert alerts.open_alerts(session) == []
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert_handled")).all()
        assert entry.subject == f"alert:{alert.id}" and entry.actor == "staff:1"


def test_erasure_takes_her_messages_phone_and_alerts_and_keeps_anonymous_counts(sessions):
    with transaction(sessions) as session:
        case = desk(session).start(topic="feelings", answer_by="phone", source="menu", time_band="morning",
                                   phone="090-1234-5678")
        desk(session).add(kind="text", body="つらいです")
        consults.reply(session, case_id=case.id, staff="staff:1", body="お電話します", now=NOW)
        alerts.raise_alert(session, user_id=MOTHER, category="life", label="本人の命の危険", body="消えたい",
                           matched="消えたい", now=NOW)
        other = desk(session, OTHER).start(topic="baby", answer_by="line", source="menu")
        desk(session, OTHER).add(kind="text", body="残る")
        counts = erasure.delete_user_data(session, config=CITY.booking, user_id=MOTHER, now=NOW)
    assert counts["consult_cases_kept"] == 1 and counts["consult_messages"] == 2 and counts["safety_alerts"] == 1
    with transaction(sessions) as session:
        row = session.get(ConsultCase, case.id)
        assert row.user_id.startswith("deleted:") and row.phone is None and row.status == "closed"
        assert consults.thread(session, case_id=case.id) == []
        assert session.scalars(select(SafetyAlert)).all() == []
        assert [m.body for m in session.scalars(select(ConsultMessage))] == ["残る"]   # hers only
        assert consults.get(session, case_id=other.id).user_id == OTHER
        with pytest.raises(LookupError):   # nobody to answer any more
            consults.reply(session, case_id=case.id, staff="staff:1", body="?", now=NOW)
