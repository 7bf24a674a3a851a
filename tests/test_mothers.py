"""Pregnancies and births: the timed pushes planned from her dates (right moments, her audience only,
none in the past), re-planned when a date moves (moved, never doubled, a sent one never sent again),
the birth switching to the baby's pushes, a pregnancy ended stopping everything, and the call row.
Every test gives `now`; none depends on the real date."""
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, text

from dialogs import notices
from scheduling.city.pregnancy_config import parse_pregnancy_config
from scheduling.dates.calendar import JST
from scheduling.family import calls, mothers
from scheduling.messaging import reminders
from scheduling.store.db import transaction
from scheduling.store.models import AuditEntry, Call, Mother, Reminder

CONFIG = parse_pregnancy_config('''
[consent]
version = "v1"
[call]
push_week = 31
call_week = 32
push_time = "10:00"

[[timed_pushes]]
id = "week20_class"
pregnancy_week = 20
message = "timed.week20_class"
to = "first_baby"
button = "class"

[[timed_pushes]]
id = "week24_twins"
pregnancy_week = 24
message = "timed.week24_twins"
to = "multiples"

[[timed_pushes]]
id = "week28_care"
pregnancy_week = 28
message = "timed.week28_care"
button = "care"

[[timed_pushes]]
id = "birth_2weeks_care"
days_after_birth = 14
message = "timed.birth_2weeks_care"
button = "care"

[[timed_pushes]]
id = "birth_2months_class"
days_after_birth = 60
message = "timed.birth_2months_class"
''')

DUE = date(2026, 10, 1)                       # week 20+0: 14 May, 24+0: 11 June, 28+0: 9 July, 31+0: 30 July
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=JST)  # week 18+1
USER = "U" + "a" * 32


def jst(day: str, clock: str = "10:00") -> datetime:
    """A moment in Japan: jst("2026-07-09", "10:00:30")."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=JST)


def register(sessions, *, user_id=USER, due=DUE, babies=1, first_baby=True, now=NOW, via="chat") -> int:
    with transaction(sessions) as session:
        return mothers.register_pregnancy(session, config=CONFIG, user_id=user_id if via == "chat" else None,
                                          due_date=due, babies=babies, first_baby=first_baby, now=now, via=via).id


def planned(sessions, mother_id: int) -> dict[str, Reminder]:
    """Her planned rows by push id (the last part of plan_key)."""
    with sessions() as session:
        rows = session.scalars(select(Reminder).where(Reminder.plan_key.like(f"timed:{mother_id}:%")))
        return {row.plan_key.rsplit(":", 1)[1]: row for row in rows}


def pushes(rows: list[Reminder]) -> list[Reminder]:
    """Claimed rows that are pushes (not her rich menu's switches)."""
    return [row for row in rows if row.kind != "richmenu"]


def pending(rows: dict[str, Reminder]) -> dict[str, datetime]:
    return {key: row.due_at for key, row in rows.items() if row.status == "pending"}


def count(sessions, model) -> int:
    """Rows of the model; of reminders, the pushes (not her rich menu's switches: tests/test_richmenu_links.py)."""
    with sessions() as session:
        statement = select(func.count()).select_from(model)
        if model is Reminder:
            statement = statement.where(Reminder.kind != "richmenu")
        return session.scalar(statement)


def test_registration_plans_her_pushes_at_the_right_moments_in_japan(sessions):
    mother_id = register(sessions)
    rows = planned(sessions, mother_id)
    assert pending(rows) == {"week20_class": jst("2026-05-14"), "week28_care": jst("2026-07-09"),
                             "call_notice": jst("2026-07-30")}
    assert rows["call_notice"].due_at == datetime(2026, 7, 30, 1, 0, tzinfo=UTC)   # stored as UTC
    for key, row in rows.items():
        assert (row.user_id, row.stage, row.plan_key) == (USER, "pregnancy", f"timed:{mother_id}:{key}")
    assert rows["call_notice"].kind == "call_notice"
    assert rows["week28_care"].kind == "timed:week28_care"
    care = json.loads(rows["week28_care"].message)
    assert care == {"facts": {"message": "timed.week28_care", "button": "care"}}
    assert json.loads(rows["call_notice"].message) == {"facts": {"mother": mother_id}}
    [notice] = notices.says("call_notice", {"mother": mother_id})
    assert [c.data for c in notice.choices] == [f"call|pref|{c}|{mother_id}" for c in calls.PREFERENCES]
    with sessions() as session:
        mother = session.get(Mother, mother_id)
        assert (mother.status, mother.consent_version, mother.registered_on) == ("pregnant", "v1", "2026-05-01")
        call = session.scalars(select(Call).where(Call.mother_id == mother_id)).one()
        assert (call.due_on, call.status, call.preference) == ("2026-08-06", "open", "none")   # week 32+0


def test_pushes_go_only_to_her_audience(sessions):
    second_baby = register(sessions, user_id="U-second", first_baby=False)
    unknown = register(sessions, user_id="U-unknown", first_baby=None)
    twins = register(sessions, user_id="U-twins", babies=2, first_baby=True)
    assert set(pending(planned(sessions, second_baby))) == {"week28_care", "call_notice"}
    assert set(pending(planned(sessions, unknown))) == {"week28_care", "call_notice"}
    assert set(pending(planned(sessions, twins))) == {"week20_class", "week24_twins", "week28_care", "call_notice"}


def test_pushes_already_past_are_not_planned_and_todays_still_are(sessions):
    late = register(sessions, user_id="U-late", now=datetime(2026, 7, 20, 9, 0, tzinfo=JST))     # week 29+4
    assert set(planned(sessions, late)) == {"call_notice"}
    # registered at 15:00 on the day of week 28+0: the 10:00 push of that day is planned (sent at once)
    today = register(sessions, user_id="U-today", now=jst("2026-07-09", "15:00"))
    assert pending(planned(sessions, today)) == {"week28_care": jst("2026-07-09"), "call_notice": jst("2026-07-30")}
    after_due = register(sessions, user_id="U-after", now=jst("2026-10-02", "09:00"))
    assert planned(sessions, after_due) == {}


def test_a_record_made_by_staff_plans_nothing_until_it_is_linked(sessions):
    mother_id = register(sessions, via="staff")
    assert planned(sessions, mother_id) == {}
    with sessions() as session:
        assert session.scalars(select(Call.due_on).where(Call.mother_id == mother_id)).one() == "2026-08-06"
        assert session.get(Mother, mother_id).consent_version is None


def test_a_moved_due_date_moves_the_rows_and_never_doubles_them(sessions):
    mother_id = register(sessions)
    before = planned(sessions, mother_id)
    for new_due, now in ((date(2026, 10, 15), NOW), (date(2026, 9, 24), NOW + timedelta(days=1)),
                         (date(2026, 9, 24), NOW + timedelta(days=2))):
        with transaction(sessions) as session:
            mother = session.get(Mother, mother_id)
            mothers.change_dates(session, config=CONFIG, mother=mother, due_date=new_due, now=now)
    after = planned(sessions, mother_id)
    assert {k: r.id for k, r in after.items()} == {k: r.id for k, r in before.items()}   # the same rows, moved
    assert pending(after) == {"week20_class": jst("2026-05-07"), "week28_care": jst("2026-07-02"),
                              "call_notice": jst("2026-07-23")}
    assert count(sessions, Reminder) == 3
    with sessions() as session:
        assert session.scalars(select(Call.due_on).where(Call.mother_id == mother_id)).one() == "2026-07-30"


def test_a_sent_push_is_never_sent_again_when_the_date_moves(sessions):
    mother_id = register(sessions)
    sent_at = jst("2026-05-14", "10:00:05")
    with transaction(sessions) as session:
        reminders.mark_sent(session, ids=[planned(sessions, mother_id)["week20_class"].id], now=sent_at)
    with transaction(sessions) as session:   # four weeks later: week 20 would be on 11 June
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id),
                             due_date=date(2026, 10, 29), now=jst("2026-05-20", "12:00"))
    rows = planned(sessions, mother_id)
    assert (rows["week20_class"].status, rows["week20_class"].due_at, rows["week20_class"].sent_at) == (
        "sent", jst("2026-05-14"), sent_at)
    assert pending(rows) == {"week28_care": jst("2026-08-06"), "call_notice": jst("2026-08-27")}
    assert count(sessions, Reminder) == 3


def test_a_push_moved_into_the_past_is_dropped_not_sent_late_and_comes_back_if_moved_back(sessions):
    mother_id = register(sessions)
    now = jst("2026-05-10", "12:00")
    with transaction(sessions) as session:   # two weeks earlier: week 20 would have been on 30 April
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id),
                             due_date=date(2026, 9, 17), now=now)
    rows = planned(sessions, mother_id)
    assert rows["week20_class"].status == "cancelled"
    with transaction(sessions) as session:
        assert pushes(reminders.claim_due(session, now=now)) == []
    with transaction(sessions) as session:   # a mistake: back to 1 October
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id), due_date=DUE,
                             now=now + timedelta(minutes=1))
    assert pending(planned(sessions, mother_id))["week20_class"] == jst("2026-05-14")
    assert count(sessions, Reminder) == 3


def test_more_babies_adds_the_multiples_push_and_fewer_removes_it(sessions):
    mother_id = register(sessions)
    for babies, expected in ((2, True), (1, False)):
        with transaction(sessions) as session:
            mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id), babies=babies,
                                 now=NOW)
        assert ("week24_twins" in pending(planned(sessions, mother_id))) is expected
    assert count(sessions, Reminder) == 4


def test_the_birth_stops_pregnancy_pushes_and_plans_the_babys(sessions):
    mother_id = register(sessions)
    with transaction(sessions) as session:
        reminders.mark_sent(session, ids=[planned(sessions, mother_id)["week20_class"].id], now=jst("2026-05-14"))
    with transaction(sessions) as session:   # born early, at week 27+6
        mother = mothers.register_birth(session, config=CONFIG, user_id=USER, birth_date=date(2026, 7, 8), babies=1,
                                        now=jst("2026-07-08", "18:00"))
        assert mother.id == mother_id
    rows = planned(sessions, mother_id)
    assert {k: r.status for k, r in rows.items()} == {
        "week20_class": "sent", "week28_care": "cancelled", "call_notice": "cancelled",
        "birth_2weeks_care": "pending", "birth_2months_class": "pending"}
    assert pending(rows) == {"birth_2weeks_care": jst("2026-07-22"), "birth_2months_class": jst("2026-09-06")}
    assert rows["birth_2weeks_care"].stage == "baby"
    with sessions() as session:
        mother = session.get(Mother, mother_id)
        assert (mother.status, mother.birth_date, mother.due_date) == ("mother", "2026-07-08", "2026-10-01")
        assert calls.due(session, until=date(2026, 12, 31)) == []   # no call after the birth
    with transaction(sessions) as session:   # the birth date corrected: the baby's pushes move
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id),
                             birth_date=date(2026, 7, 7), now=jst("2026-07-09"))
    assert pending(planned(sessions, mother_id)) == {"birth_2weeks_care": jst("2026-07-21"),
                                                     "birth_2months_class": jst("2026-09-05")}


def test_a_birth_registered_without_a_pregnancy_makes_a_mothers_record(sessions):
    with transaction(sessions) as session:
        mother = mothers.register_birth(session, config=CONFIG, user_id=USER, birth_date=date(2026, 4, 20), babies=2,
                                        due_date=date(2026, 5, 10), first_baby=True, now=NOW)
        mother_id = mother.id
    assert pending(planned(sessions, mother_id)) == {"birth_2weeks_care": jst("2026-05-04"),
                                                     "birth_2months_class": jst("2026-06-19")}
    with sessions() as session:
        mother = session.get(Mother, mother_id)
        assert (mother.status, mother.babies, mother.due_date, mother.consent_version) == (
            "mother", 2, "2026-05-10", "v1")
        assert mothers.current(session, user_id=USER).id == mother_id


def test_registering_the_same_pregnancy_again_updates_it_instead_of_doubling_the_pushes(sessions):
    first = register(sessions)
    second = register(sessions, due=date(2026, 10, 8), now=NOW + timedelta(hours=1))
    assert second == first
    assert pending(planned(sessions, first))["call_notice"] == jst("2026-08-06")
    assert count(sessions, Reminder) == 3
    assert count(sessions, Call) == 1


def test_a_pregnancy_ended_stops_everything_pending_at_once(sessions):
    """Today's push due at 10:00 and not yet sent, one a dispatcher has claimed but not sent, every
    later one, and any other push to her (a class reminder) are cancelled. A row already in a
    dispatcher's hands is cancelled in the database: marking it sent afterwards does not succeed, and
    no dispatcher claims it again. (The push that dispatcher is making at that very moment cannot be
    called back: the domain can only stop what has not yet left.)"""
    mother_id = register(sessions)
    with transaction(sessions) as session:
        reminders.mark_sent(session, ids=[planned(sessions, mother_id)["week20_class"].id], now=jst("2026-05-14"))
    with transaction(sessions) as session:   # a class reminder (no stage) and another woman's push
        reminders.add(session, user_id=USER, kind="class_day_before", facts={}, due_at=jst("2026-07-10", "17:00"),
                      now=NOW)
        other = reminders.add(session, user_id="U-other", kind="class_day_before", facts={},
                              due_at=jst("2026-07-09", "09:00"), now=NOW).id
    leased_at = jst("2026-07-09", "10:00:01")
    with transaction(sessions) as session:   # a dispatcher claims today's 10:00 push (week 28+0)...
        claimed = pushes(reminders.claim_due(session, now=leased_at))
        assert [r.user_id for r in claimed] == ["U-other", USER]
        leased = claimed[1].id
    with transaction(sessions) as session:   # ...and at 10:00:30, before it is marked sent, staff record the end
        stopped = mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor="staff:7",
                                        now=jst("2026-07-09", "10:00:30"))
    assert stopped == 3
    with transaction(sessions) as session:   # the dispatcher's late outcome changes nothing
        reminders.mark_sent(session, ids=[leased, other], now=jst("2026-07-09", "10:00:40"))
    with sessions() as session:
        rows = {row.kind: (row.status, row.lease_until) for row in session.scalars(
            select(Reminder).where(Reminder.user_id == USER, Reminder.kind != "richmenu"))}
        assert rows == {"timed:week28_care": ("cancelled", None), "call_notice": ("cancelled", None),
                        "class_day_before": ("cancelled", None), "timed:week20_class": ("sent", None)}
        assert session.get(Reminder, other).status == "sent"
        mother = session.get(Mother, mother_id)
        assert (mother.status, mother.ended_on) == ("ended", "2026-07-09")
        assert session.scalars(select(Call.status).where(Call.mother_id == mother_id)).one() == "cancelled"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "pregnancy_ended")).one()
        assert (entry.actor, entry.subject) == ("staff:7", f"mother:{mother_id}")
        assert json.loads(entry.before) == {"status": "pregnant"}
        assert json.loads(entry.after) == {"status": "ended", "pushes_stopped": 3}
        assert mothers.current(session, user_id=USER) is None
    with transaction(sessions) as session:   # nothing of hers is ever claimed again, even after the lease
        assert pushes(reminders.claim_due(session, now=jst("2026-12-31"))) == []
    with transaction(sessions) as session:   # and no later change of dates brings any back
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id), due_date=date(2026, 11, 1),
                             now=jst("2026-07-10"))
    assert pending(planned(sessions, mother_id)) == {}


def test_a_pregnancy_ended_before_anything_was_due_stops_today_s_push_due_earlier(sessions):
    mother_id = register(sessions)
    with transaction(sessions) as session:   # 10:00 has passed, no dispatcher has run yet (e.g. quiet restart)
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor="mother",
                              now=jst("2026-05-14", "11:00"))
    with transaction(sessions) as session:
        assert pushes(reminders.claim_due(session, now=jst("2026-05-14", "11:01"))) == []
    assert pending(planned(sessions, mother_id)) == {}


# --- scale ----------------------------------------------------------------------------------------

def test_registering_writes_a_bounded_number_of_rows_whoever_else_is_registered(sessions, engine):
    statements = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    register(sessions, user_id="U-0")
    first = list(statements)
    for n in range(1, 40):
        register(sessions, user_id=f"U-{n}")
    statements.clear()
    register(sessions, user_id="U-last")
    event.remove(engine, "before_cursor_execute", _count)
    writes = [s for s in statements if s in ("INSERT", "UPDATE", "DELETE")]
    assert len(statements) == len(first) and writes == [s for s in first if s in ("INSERT", "UPDATE", "DELETE")]
    assert len(writes) <= 2 + len(CONFIG.timed_pushes) + 1   # her row, the call, one row per push at most
    assert count(sessions, Reminder) == 41 * 3 and count(sessions, Mother) == 41 and count(sessions, Call) == 41


def test_picking_due_pushes_uses_the_status_due_index_not_a_scan(sessions, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    now = jst("2026-07-09", "10:30")
    with transaction(sessions) as session:
        session.execute(Reminder.__table__.insert(), [
            {"user_id": f"U{n}", "kind": "timed:x", "message": "[]", "status": "sent" if n % 2 else "pending",
             "due_at": now + timedelta(minutes=(n + 1 if n % 2 == 0 else -n)), "attempts": 0, "created_at": now}
            for n in range(20_000)])
        session.execute(Reminder.__table__.insert(), [
            {"user_id": f"V{n}", "kind": "timed:x", "message": "[]", "status": "pending",
             "due_at": now - timedelta(minutes=n + 1), "attempts": 0, "created_at": now} for n in range(20)])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE reminders"))
        conn.commit()
    captured = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if "due_at" in statement and "reminders" in statement:
            captured.append((statement, parameters))

    with sessions() as session:   # claimed, then rolled back: the rows stay due
        assert len(reminders.claim_due(session, now=now)) == 20
        session.rollback()
    event.remove(engine, "before_cursor_execute", _capture)
    statement, parameters = captured[0]
    with engine.connect() as conn, conn.begin() as work:   # run it for real, then roll it back
        plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement,
                                                      parameters)]
        work.rollback()
    shown = "\n".join(plan)
    picking = _subplan(plan, "Limit")   # the part that chooses the due rows
    scans = [line for line in picking if "Scan" in line]
    assert len(scans) == 1 and "Index Scan using ix_reminders_status_due" in scans[0], shown
    condition = picking[picking.index(scans[0]) + 1]
    assert "Index Cond" in condition and "status" in condition and "due_at" in condition, shown
    assert "rows=20 " in scans[0], shown   # it read the 20 due entries, none of the 20,000 others


def test_registering_moving_a_date_the_birth_and_an_end_touch_her_rows_by_index_not_by_a_scan(sessions, engine):
    """Each is one small transaction whatever the size of the table: no statement reads all reminders,
    neither as planned with its values nor as PostgreSQL plans it once prepared (a generic plan)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with transaction(sessions) as session:
        session.execute(Reminder.__table__.insert(), [
            {"user_id": f"U{n}", "kind": "timed:x", "message": "[]", "status": "pending", "stage": "pregnancy",
             "plan_key": f"timed:{n + 1000}:x", "due_at": NOW + timedelta(minutes=n), "attempts": 0,
             "created_at": NOW} for n in range(20_000)])
    with engine.connect() as conn:
        conn.execute(text("ANALYZE reminders"))
        conn.commit()
    captured = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if "reminders" in statement and not statement.lstrip().upper().startswith("INSERT"):
            captured.append((statement, parameters[0] if executemany else parameters))

    mother_id = register(sessions)
    with transaction(sessions) as session:
        mothers.change_dates(session, config=CONFIG, mother=session.get(Mother, mother_id), due_date=date(2026, 10, 8),
                             now=NOW)
    with transaction(sessions) as session:
        mothers.register_birth(session, config=CONFIG, user_id=USER, birth_date=date(2026, 9, 30), babies=1, now=NOW)
    with transaction(sessions) as session:
        mothers.end_pregnancy(session, mother=session.get(Mother, mother_id), actor="staff:1", now=NOW)
    event.remove(engine, "before_cursor_execute", _capture)
    assert len(captured) >= 4
    with engine.connect() as conn:
        for statement, parameters in captured:
            for plan in (_plan(conn, statement, parameters), _generic_plan(conn, statement, parameters)):
                assert "Seq Scan on reminders" not in plan, f"{statement}\n{plan}"


def _plan(conn, statement: str, parameters: dict) -> str:
    return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))


def _generic_plan(conn, statement: str, parameters: dict) -> str:
    """The plan PostgreSQL caches for the statement once psycopg has prepared it (after 5 runs in a
    connection) and the planner settles on a plan made without the parameters' values."""
    numbers = {}
    for name in re.findall(r"%\((\w+)\)s", statement):
        numbers.setdefault(name, len(numbers) + 1)
    prepared = re.sub(r"%\((\w+)\)s", lambda m: f"${numbers[m.group(1)]}", statement)
    name = f"generic_{uuid.uuid4().hex[:8]}"
    conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(f"PREPARE {name} AS {prepared}")
    arguments = ", ".join(_literal(parameters[key]) for key in numbers)
    try:
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN EXECUTE {name}({arguments})"))
    finally:
        conn.exec_driver_sql(f"DEALLOCATE {name}")
        conn.exec_driver_sql("RESET plan_cache_mode")


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''").replace("%", "%%") + "'"


def _subplan(plan: list[str], node: str) -> list[str]:
    """The lines of the first `node` of an EXPLAIN and everything beneath it."""
    start = next(i for i, line in enumerate(plan) if line.strip().lstrip("-> ").startswith(node))
    depth = len(plan[start]) - len(plan[start].lstrip())
    below = [plan[start]]
    for line in plan[start + 1:]:
        if len(line) - len(line.lstrip()) <= depth:
            break
        below.append(line)
    return below
