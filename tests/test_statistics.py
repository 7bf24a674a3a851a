"""The year's figures on a fixture year with known answers (令和8年度: 2026-04-01 … 2027-03-31).

The rows are written as the services leave them (bookings with their final state, call tries,
registrations): the figures only read. Today is 10 April 2027, after the year has ended."""
from datetime import date, datetime
from pathlib import Path

import pytest

from scheduling.care import providers
from scheduling.city.booking_config import load_booking_config
from scheduling.dates.calendar import JST
from scheduling.reports import statistics
from scheduling.rules import load_rules
from scheduling.rules.engine import units
from scheduling.store.db import transaction
from scheduling.store.models import Call, CallOutcome, CareBooking, ClassBooking, ClassSession, Mother

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_booking_config(ROOT / "config" / "booking.toml")
RULES = load_rules(ROOT / "config" / "rules" / "hagukumi.toml")          # a stay counts per night
YOTSUKAIDO = load_rules(ROOT / "config" / "rules" / "yotsukaido.toml")   # per day: 1泊2日 = 2
OITA = load_rules(ROOT / "config" / "rules" / "oita.toml")               # per stay
TODAY = date(2027, 4, 10)

# (mother, type, first day, nights, status, babies)
CARE = [
    ("A", "short_stay", "2026-05-10", 2, "attended", 1),
    ("A", "day_care", "2026-06-03", 0, "attended", 1),     # A used two types: one mother in the total
    ("B", "short_stay", "2027-03-30", 3, "attended", 1),   # nights of 3/30, 3/31 in this year; 4/1 in the next
    ("C", "short_stay", "2026-03-31", 2, "attended", 1),   # night of 3/31 last year; 4/1 in this one
    ("D", "home_visit", "2026-04-20", 0, "attended", 1),
    ("D", "home_visit", "2026-07-01", 0, "attended", 1),
    ("D", "home_visit", "2026-08-01", 0, "cancelled", 1),
    ("D", "home_visit", "2026-09-01", 0, "no_show", 1),
    ("E", "day_care", "2026-06-10", 0, "attended", 2),     # twins: still one use
    ("F", "short_stay", "2027-01-10", 1, "confirmed", 1),  # date passed, never closed: 未確定
    ("F", "short_stay", "2027-04-20", 1, "confirmed", 1),  # next year, still to come
    ("G", "day_care", "2026-10-05", 0, "cancelled", 1),
    ("G", "day_care", "2026-10-06", 0, "declined", 1),     # declined: not a cancellation
    ("G", "day_care", "2026-11-06", 0, "requested", 1),    # never confirmed: nothing
    ("deleted:0a1b2c3d", "home_visit", "2026-05-01", 0, "attended", 1),   # deleted on request: still one mother
    ("deleted:0a1b2c3d", "home_visit", "2026-05-15", 0, "attended", 1),
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


@pytest.fixture
def year(sessions):
    return fill_year(sessions)


def fill_year(sessions):
    """Write the fixture year (the admin page tests use it too)."""
    with transaction(sessions) as session:
        providers.sync(session, config=CONFIG)
        provider_id = providers.ids(session)["sakura"]
        for i, (user, care_type, start, nights, status, babies) in enumerate(CARE):
            session.add(CareBooking(user_id=user, care_type=care_type, provider_id=provider_id, start_date=start,
                                    nights=nights, babies=babies, status=status, request_key=f"k{i}",
                                    units=units(RULES.in_force(date.fromisoformat(start)), care_type, nights)))
        classes(session)
        calls(session)
    return sessions


def classes(session):
    def held(key, day, status="scheduled"):
        row = ClassSession(class_key=key, day=day, start="10:00", end="12:00", title="x", place="p", capacity=20,
                           status=status)
        session.add(row)
        session.flush()
        return row.id

    recorded = held("papamama", "2026-07-11")
    unrecorded = held("papamama", "2026-09-12")
    cancelled = held("papamama", "2026-11-14", status="cancelled")
    baby = held("baby", "2027-03-13")
    next_year = held("baby", "2027-05-08")
    for i, (session_id, party, status) in enumerate([
            (recorded, 2, "attended"), (recorded, 1, "attended"), (recorded, 2, "no_show"), (recorded, 1, "cancelled"),
            (unrecorded, 2, "booked"), (unrecorded, 1, "booked"), (unrecorded, 2, "waiting"),
            (cancelled, 2, "cancelled"), (baby, 1, "attended"), (next_year, 2, "booked")]):
        session.add(ClassBooking(session_id=session_id, user_id=f"P{i}", party=party, status=status,
                                 request_key=f"c{i}"))


def calls(session):
    def mother(registered):
        row = Mother(status="pregnant", registered_on=registered, registered_via="chat")
        session.add(row)
        session.flush()
        return row.id

    def call(mother_id, due, tries, status="open"):
        row = Call(mother_id=mother_id, due_on=due, status=status)
        session.add(row)
        session.flush()
        for outcome, moment in tries:
            session.add(CallOutcome(call_id=row.id, outcome=outcome, staff="staff:1", at=at(moment)))

    call(mother("2026-04-05"), "2026-10-01", [("not_reached", "2026-10-02T10:00"), ("phone", "2026-10-05T14:00")])
    call(mother("2026-05-01"), "2026-11-01", [("in_person", "2026-11-20T11:00")])
    call(mother("2026-12-01"), "2027-03-20", [("not_reached", "2027-03-31T23:30"), ("phone", "2027-04-02T09:00")])
    mother("2027-03-31")
    call(mother("2026-03-31"), "2026-12-15", [("declined", "2027-01-05T00:30")])   # 15:30 UTC on 4 Jan
    call(mother("2025-10-01"), "2027-02-01", [])
    call(mother("2025-10-02"), "2027-02-08", [], status="cancelled")   # the pregnancy ended: taken off the list
    mother("2027-04-01")


def figures(sessions, year=2026, rules=RULES, today=TODAY) -> statistics.Figures:
    with transaction(sessions) as session:
        return statistics.year_figures(session, rules=rules, config=CONFIG, year=year, today=today)


def care(found: statistics.Figures) -> dict[str, statistics.CareFigures]:
    return {c.care_type: c for c in found.care}


def month(line: statistics.Line, number: int) -> int:
    return line.months[statistics.MONTHS.index(number)]


def test_the_year_is_labelled_and_bounded(year):
    found = figures(year)
    assert (found.label, found.first, found.last, found.complete) == ("令和8年度", date(2026, 4, 1),
                                                                       date(2027, 3, 31), True)
    assert [c.care_type for c in found.care] == ["short_stay", "day_care", "home_visit", "total"]
    assert not figures(year, today=date(2027, 3, 31)).complete


def test_a_mother_who_used_two_types_counts_once_in_the_total(year):
    by_type = care(figures(year))
    assert by_type["short_stay"].persons.year == 3          # A, B, C
    assert by_type["day_care"].persons.year == 2            # A, E
    assert by_type["home_visit"].persons.year == 2          # D, the deleted one
    assert by_type["total"].persons.year == 6               # A, B, C, D, E, deleted: A once
    assert month(by_type["total"].persons, 6) == 2 and month(by_type["total"].persons, 5) == 2
    assert by_type["home_visit"].persons.months == (1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    assert by_type["total"].persons.year < sum(by_type["total"].persons.months)  # not a sum of the months


def test_a_stay_across_march_31_is_split_by_the_night_it_happens_on(year):
    this_year, next_year, last_year = (care(figures(year, y)) for y in (2026, 2027, 2025))
    stays = this_year["short_stay"]
    assert stays.unit == "泊"
    assert stays.uses.months == (1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)   # C's 4/1, A's two, B's 3/30 and 3/31
    assert stays.uses.year == 5
    assert month(next_year["short_stay"].uses, 4) == 1                # B's night of 4/1
    assert month(last_year["short_stay"].uses, 3) == 1                # C's night of 3/31
    assert month(next_year["short_stay"].persons, 4) == 1 and month(last_year["short_stay"].persons, 3) == 1


def test_stays_count_by_day_or_by_stay_when_the_rules_say_so(year):
    by_day = [care(figures(year, y, rules=YOTSUKAIDO))["short_stay"] for y in (2026, 2027)]
    assert by_day[0].unit == "日" and care(figures(year, rules=YOTSUKAIDO))["total"].unit == "回・日"
    assert by_day[0].uses.months == (2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2)   # C 4/1-4/2, A 5/10-12, B 3/30-31
    assert month(by_day[1].uses, 4) == 2                                    # B's 4/1 and 4/2
    per_stay = [care(figures(year, y, rules=OITA))["short_stay"] for y in (2026, 2027)]
    assert per_stay[0].unit == "回" and care(figures(year, rules=OITA))["total"].unit == "回"
    assert per_stay[0].uses.months == (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)  # by the first day: A, B (C last year)
    assert per_stay[1].uses.year == 0


def test_service_days_agree_with_the_units_that_count_against_the_caps():
    for rules in (RULES, YOTSUKAIDO, OITA):
        for nights in (1, 2, 5):
            start = date(2026, 6, 1)
            assert len(statistics.service_days(rules, "short_stay", start, nights)) == \
                units(rules.in_force(start), "short_stay", nights)
    assert statistics.service_days(RULES, "home_visit", date(2026, 6, 1), 0) == [date(2026, 6, 1)]


def test_cancellations_and_no_shows_are_not_uses_and_are_shown_apart(year):
    by_type = care(figures(year))
    visits = by_type["home_visit"]
    assert visits.uses.year == 4 and month(visits.uses, 5) == 2       # D twice, the deleted one twice
    assert (month(visits.cancelled, 8), month(visits.no_show, 9)) == (1, 1)
    assert by_type["day_care"].cancelled.year == 1                      # G's; the declined one is not counted
    assert by_type["day_care"].uses.year == 2
    assert (by_type["total"].cancelled.year, by_type["total"].no_show.year) == (2, 1)


def test_confirmed_bookings_past_their_date_are_pending_not_uses(year):
    by_type = care(figures(year))
    assert month(by_type["short_stay"].pending, 1) == 1 and by_type["short_stay"].pending.year == 1
    assert by_type["total"].uses.year == 11                             # 5 nights + 2 days + 4 visits
    assert care(figures(year, 2027, today=date(2027, 4, 30)))["short_stay"].pending.year == 1   # F's 4/20
    assert care(figures(year, 2027, today=date(2027, 4, 20)))["short_stay"].pending.year == 0   # today: not yet


def test_twins_are_one_use(year):
    assert month(care(figures(year))["day_care"].uses, 6) == 2          # A and E (twins): two uses


def test_classes_count_sessions_held_and_persons(year):
    found = {c.class_key: c for c in figures(year).classes}
    assert [c.title for c in figures(year).classes] == ["パパママ教室", "0歳児の親子教室"]
    papamama = found["papamama"]
    assert papamama.sessions.year == 2                                  # the cancelled one is not held
    assert month(papamama.persons, 7) == 3                              # attended: a couple and one
    assert month(papamama.persons, 9) == 3                              # not recorded: as booked
    assert papamama.unrecorded == 1
    assert (found["baby"].sessions.year, found["baby"].persons.year) == (1, 1)
    assert figures(year, today=date(2026, 8, 1)).classes[0].sessions.year == 1   # September's still to come


def test_calls_by_outcome_beside_pregnancies_registered(year):
    calls = figures(year).calls
    assert calls.registered.year == 4 and month(calls.registered, 3) == 1
    assert {k: v.year for k, v in calls.outcomes.items()} == {"phone": 1, "in_person": 1, "not_reached": 1,
                                                              "declined": 1}
    assert month(calls.outcomes["phone"], 10) == 1
    assert month(calls.outcomes["not_reached"], 3) == 1                 # 23:30 on 31 March (JST): this year
    assert month(calls.outcomes["declined"], 1) == 1                    # 00:30 on 5 January JST, not 4 January
    assert {k: v.year for k, v in calls.tries.items()} == {"phone": 1, "in_person": 1, "not_reached": 2,
                                                           "declined": 1}
    assert (calls.due, calls.without_record, calls.cancelled) == (6, 1, 1)
    later = figures(year, 2027).calls
    assert later.outcomes["phone"].year == 1 and later.registered.year == 1


def test_rules_versions_in_force_in_the_year():
    assert [(label, count) for label, _, count in statistics.stay_rules(RULES, date(2026, 4, 1),
                                                                          date(2027, 3, 31))] == [("令和8年度", "night")]
    assert len(statistics.stay_rules(RULES, date(2025, 4, 1), date(2026, 3, 31))) == 1
    assert statistics.stay_rules(RULES, date(2020, 4, 1), date(2021, 3, 31))[0][0] == "令和7年度"


def test_every_counting_rule_is_written_in_the_docs():
    docs = (ROOT / "docs" / "figures.md").read_text(encoding="utf-8")
    for rule in statistics.RULES:
        assert rule in docs, rule


def test_an_empty_year_is_all_zeros(sessions):
    found = figures(sessions)
    assert all(line.year == 0 for c in found.care for line in (c.persons, c.uses, c.pending, c.cancelled, c.no_show))
    assert found.calls.registered.year == 0 and found.calls.due == 0
    with transaction(sessions) as session:
        assert statistics.first_year(session) is None
