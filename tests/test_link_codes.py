"""Link codes: staff make her record at the 母子健康手帳 interview and hand her a code; sending it links
her LINE account. A code works once, expires, a newer one voids it; typing it in any width, case or
with any hyphen works; too many wrong codes lock the account for a while, even for the right code."""
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from scheduling.city.pregnancy_config import parse_pregnancy_config
from scheduling.dates.calendar import JST
from scheduling.family import link_codes, mothers
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, CodeAttempt, LinkCode, Mother, Reminder
from scheduling.text.codes import looks_like_code

CONFIG = parse_pregnancy_config('''
[consent]
version = "v2"
[link_codes]
valid_days = 14
max_failures = 3
lock_minutes = 10
[call]
[[timed_pushes]]
id = "week28_care"
pregnancy_week = 28
message = "timed.week28_care"
''')
NOW = datetime(2026, 5, 1, 14, 0, tzinfo=JST)
USER = "U" + "b" * 32


def staff_record(sessions, *, due=date(2026, 10, 1), now=NOW) -> tuple[int, str]:
    """A record made by staff and its code, as handed to her."""
    with transaction(sessions) as session:
        mother = mothers.register_pregnancy(session, config=CONFIG, user_id=None, due_date=due, babies=1,
                                            first_baby=True, now=now, via="staff", staff_ref="R-0012")
        return mother.id, link_codes.issue(session, config=CONFIG, mother_id=mother.id, staff="staff:3", now=now)


def redeem(sessions, text: str, *, now: datetime, user_id: str = USER) -> link_codes.Redeemed:
    with transaction(sessions) as session:
        return link_codes.redeem(session, config=CONFIG, user_id=user_id, text=text, now=now)


def test_a_code_links_her_account_once_and_plans_her_pushes(sessions):
    mother_id, code = staff_record(sessions)
    assert len(code) == 9 and code[4] == "-" and looks_like_code(code)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reminder)) == 0   # nobody to push to yet
        stored = session.scalars(select(LinkCode)).one()
        assert code.replace("-", "") not in (stored.code_hash, stored.created_by)   # only a hash is kept
    linked = redeem(sessions, code, now=NOW + timedelta(days=2))
    assert (linked.status, linked.mother.id) == ("linked", mother_id)
    with sessions() as session:
        mother = session.get(Mother, mother_id)
        assert (mother.user_id, mother.consent_version, mother.registered_via) == (USER, "v2", "staff")
        assert mothers.current(session, user_id=USER).id == mother_id
        rows = session.scalars(select(Reminder).where(Reminder.user_id == USER, Reminder.kind != "richmenu")).all()
        assert sorted(row.kind for row in rows) == ["call_notice", "timed:week28_care"]
        assert [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
            "link_code_issued", "linked"]
    assert redeem(sessions, code, now=NOW + timedelta(days=2, minutes=1)).status == "used"
    assert redeem(sessions, code, now=NOW + timedelta(days=3), user_id="U-someone-else").status == "used"
    with sessions() as session:
        assert session.get(Mother, mother_id).user_id == USER


@pytest.mark.parametrize("typed", ["{a}{b}", "{a}-{b}", "{a} {b}", " {a}ー{b} ", "{a}－{b}", "{a}‐{b}",
                                   "lower", "fullwidth", "fullwidth lower"])
def test_a_code_is_read_whatever_the_width_case_or_hyphen(sessions, typed):
    _, code = staff_record(sessions)
    a, b = code.split("-")
    text = typed.format(a=a, b=b) if "{" in typed else code
    if "lower" in typed:
        text = text.lower()
    if "fullwidth" in typed:
        text = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() or c == "-" else c for c in text)
    assert looks_like_code(text), text
    assert redeem(sessions, text, now=NOW).status == "linked", text


def test_a_code_expires_after_the_configured_days(sessions):
    _, code = staff_record(sessions)
    assert redeem(sessions, code, now=NOW + timedelta(days=14)).status == "expired"
    _, code = staff_record(sessions)
    assert redeem(sessions, code, now=NOW + timedelta(days=14) - timedelta(seconds=1)).status == "linked"


def test_a_new_code_voids_the_one_given_before(sessions):
    mother_id, old = staff_record(sessions)
    with transaction(sessions) as session:
        new = link_codes.issue(session, config=CONFIG, mother_id=mother_id, staff="staff:3",
                               now=NOW + timedelta(hours=1))
    assert new != old
    assert redeem(sessions, old, now=NOW + timedelta(hours=2)).status == "expired"
    assert redeem(sessions, new, now=NOW + timedelta(hours=2)).status == "linked"


def test_a_wrong_code_is_refused_and_counted(sessions):
    staff_record(sessions)
    assert redeem(sessions, "ABCD-EFGH", now=NOW).status == "wrong"
    assert not looks_like_code("ABCD-EF1O")            # 1 and O are never in a code
    assert not looks_like_code("予約したいです")
    assert not looks_like_code("ABCD-EF234")
    with sessions() as session:
        assert session.scalars(select(CodeAttempt.user_id)).all() == [USER]


def test_too_many_wrong_codes_lock_the_account_for_the_configured_minutes_even_for_the_right_code(sessions):
    _, code = staff_record(sessions)
    start = NOW + timedelta(hours=1)
    for n in range(3):   # three wrong codes over 8 minutes: locked for 10 minutes after the third
        assert redeem(sessions, "ABCD-EFGH", now=start + timedelta(minutes=4 * n)).status == "wrong"
    last = start + timedelta(minutes=8)
    locked = redeem(sessions, code, now=last + timedelta(minutes=1))
    assert (locked.status, locked.minutes) == ("locked", 9)
    assert redeem(sessions, code, now=last + timedelta(minutes=9, seconds=59)).status == "locked"
    assert redeem(sessions, "ABCD-EFGH", now=last + timedelta(minutes=5)).minutes == 5   # no count while locked
    assert redeem(sessions, code, now=last + timedelta(minutes=10)).status == "linked"
    with sessions() as session:   # linked: her wrong tries are forgotten
        assert session.scalar(select(func.count()).select_from(CodeAttempt)) == 0


def test_after_a_lock_three_new_wrong_codes_are_needed_to_lock_again(sessions):
    _, code = staff_record(sessions)
    for n in range(3):
        redeem(sessions, "ABCD-EFGH", now=NOW + timedelta(seconds=n))
    after = NOW + timedelta(minutes=11)
    assert redeem(sessions, "ABCD-EFGH", now=after).status == "wrong"
    assert redeem(sessions, "ABCD-EFGH", now=after + timedelta(minutes=1)).status == "wrong"
    assert redeem(sessions, code, now=after + timedelta(minutes=2)).status == "linked"


def test_wrong_codes_spread_out_do_not_lock_and_another_account_is_not_locked(sessions):
    _, code = staff_record(sessions)
    for n in range(6):   # one every 6 minutes: never three within 10 minutes
        assert redeem(sessions, "ABCD-EFGH", now=NOW + timedelta(minutes=6 * n)).status == "wrong"
    for n in range(3):
        redeem(sessions, "ABCD-EFGH", now=NOW + timedelta(seconds=n), user_id="U-guesser")
    assert redeem(sessions, code, now=NOW + timedelta(minutes=1), user_id="U-guesser").status == "locked"
    assert redeem(sessions, code, now=NOW + timedelta(minutes=31)).status == "linked"


def test_linking_a_record_whose_dates_have_passed_plans_only_what_is_still_ahead(sessions):
    mother_id, code = staff_record(sessions, now=datetime(2026, 7, 15, 9, 0, tzinfo=JST))   # a late interview
    assert redeem(sessions, code, now=datetime(2026, 7, 20, 9, 0, tzinfo=JST)).status == "linked"
    with sessions() as session:
        rows = session.scalars(select(Reminder).where(Reminder.user_id == USER, Reminder.kind != "richmenu")).all()
        assert [row.kind for row in rows] == ["call_notice"]
        assert json.loads(rows[0].message)["facts"]["mother"] == mother_id


def test_linking_a_staff_record_replaces_her_own_chat_registration_of_the_same_pregnancy(sessions):
    """She registered herself in the chat, then sends the code from her interview: one record, one call,
    no push twice, counted once."""
    from pathlib import Path

    from scheduling.reports import statistics
    from scheduling.rules import load_rules
    from scheduling.store.models import Call
    RULES = load_rules(Path(__file__).resolve().parents[1] / "config" / "rules" / "hagukumi.toml")
    due = NOW.date() + timedelta(days=120)
    with transaction(sessions) as session:
        own = mothers.register_pregnancy(session, config=CONFIG, user_id=USER, due_date=due, babies=1,
                                         first_baby=True, now=NOW)
        staff_record = mothers.register_pregnancy(session, config=CONFIG, user_id=None, via="staff", now=NOW,
                                                  due_date=due, babies=1, first_baby=True, staff_ref="A-1")
        code = link_codes.issue(session, config=CONFIG, mother_id=staff_record.id, staff="staff:1", now=NOW)
    with transaction(sessions) as session:
        assert link_codes.redeem(session, config=CONFIG, user_id=USER, text=code, now=NOW).status == "linked"
    with transaction(sessions) as session:
        assert session.get(Mother, own.id).status == "replaced"
        assert mothers.current(session, user_id=USER).id == staff_record.id
        pending = session.scalars(select(Reminder).where(Reminder.user_id == USER, Reminder.status == "pending",
                                                       Reminder.kind != "richmenu")).all()
        assert len(pending) == len({r.kind for r in pending}) > 0
        assert [c.mother_id for c in session.scalars(select(Call).where(Call.status == "open"))] == [staff_record.id]
        figures = statistics.year_figures(session, rules=RULES, config=None, year=2026, today=NOW.date())
        assert figures.calls.registered.year == 1  # one pregnancy, registered twice, counted once
