"""産後ケア bookings: the rules as of the care date, caps, lead time, horizon, closed days, どこでも,
history, reminders, confirm/decline, cancel deadlines, changing a date, closing after the day.

Each call runs in its own transaction, as the worker does. Today is Monday 1 June 2026 (令和8年度 rules)."""
import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scheduling.care import capacity, care_bookings, history, providers
from scheduling.care.care_bookings import Request
from scheduling.city.booking_config import load_booking_config
from scheduling.dates.calendar import JST
from scheduling.rules import load_rules
from scheduling.store.db import transaction
from scheduling.store.models import CareBooking, Reminder

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_booking_config(ROOT / "config" / "booking.toml")
RULES = load_rules(ROOT / "config" / "rules" / "hagukumi.toml")
YOTSUKAIDO = load_rules(ROOT / "config" / "rules" / "yotsukaido.toml")   # 1泊2日 counts as 2 days
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=JST)                               # Monday
STAFF = "staff:7"


def answers(born: str = "2026-04-15", **more) -> dict:
    return {"relationship": "birth", "residence": "resident", "birth_date": born, "exclusions": "none",
            "babies": 1, "preterm": "no", "need:family_help": "yes", **more}


@pytest.fixture
def db(sessions):
    with transaction(sessions) as session:
        providers.sync(session, config=CONFIG)
    return sessions


def ask(db, start: date, *, user="U1", care_type="short_stay", nights=None, provider="sakura", slot="", key=None,
        now=NOW, config=CONFIG, rules=RULES, born="2026-04-15") -> care_bookings.Outcome:
    if nights is None:
        nights = 1 if care_type == "short_stay" else 0
    request = Request(user, care_type, start, key or uuid.uuid4().hex, provider, nights, slot)
    with transaction(db) as session:
        return care_bookings.request(session, config=config, rules=rules, request=request, answers=answers(born),
                                     now=now)


def used(db, provider: str, day: str, care_type="short_stay", slot="") -> int:
    with transaction(db) as session:
        resource = providers.resource(care_type, providers.ids(session)[provider])
        return capacity.used(session, resource=resource, first=day, last=day).get((day, slot), (0, 0))[0]


def changes(db, booking_id: int) -> list[tuple]:
    with transaction(db) as session:
        return [(c.from_status, c.to_status, c.actor, c.at, c.note)
                for c in history.of_booking(session, kind="care", booking_id=booking_id)]


def reminders_of(db, booking_id: int) -> list[Reminder]:
    with transaction(db) as session:
        return list(session.scalars(select(Reminder).where(Reminder.care_booking_id == booking_id)
                                    .order_by(Reminder.id)))


def status(db, booking_id: int) -> str:
    with transaction(db) as session:
        return session.get(CareBooking, booking_id).status


def staff(db, action, booking_id: int, now=NOW, **kw):
    with transaction(db) as session:
        return action(session, config=CONFIG, booking_id=booking_id, now=now, actor=STAFF, **kw)


def mother_cancels(db, booking_id: int, now=NOW, user="U1"):
    with transaction(db) as session:
        return care_bookings.cancel(session, config=CONFIG, booking_id=booking_id, now=now, user_id=user)


# --- a request ---------------------------------------------------------------------------------------

def test_a_request_takes_a_bed_each_night_writes_history_and_the_day_before_reminder(db):
    outcome = ask(db, date(2026, 6, 10), nights=2)
    assert outcome.ok and not outcome.repeated
    booking = outcome.booking
    assert (booking.status, booking.start_date, booking.nights, booking.units) == ("requested", "2026-06-10", 2, 2)
    assert [used(db, "sakura", d) for d in ("2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12")] == [0, 1, 1, 0]
    assert changes(db, booking.id) == [(None, "requested", "mother", NOW, None)]
    [reminder] = reminders_of(db, booking.id)
    assert (reminder.kind, reminder.status, reminder.user_id) == ("care_day_before", "pending", "U1")
    assert reminder.due_at == datetime(2026, 6, 9, 17, 0, tzinfo=JST)
    facts = json.loads(reminder.message)["facts"]
    assert {k: facts[k] for k in ("date", "type", "provider", "provider_phone")} == {
        "date": "2026-06-10", "type": "short_stay", "provider": "さくら産婦人科医院", "provider_phone": "0123-45-1111"}


def test_the_same_request_twice_is_one_booking(db):
    first = ask(db, date(2026, 6, 10), key="tap-1")
    again = ask(db, date(2026, 6, 10), key="tap-1")
    assert first.ok and not first.repeated
    assert again.ok and again.repeated and again.booking.id == first.booking.id
    assert used(db, "sakura", "2026-06-10") == 1
    assert len(reminders_of(db, first.booking.id)) == 1
    with transaction(db) as session:
        assert session.scalar(select(func.count()).select_from(CareBooking)) == 1


def test_the_booking_and_its_reminder_are_written_in_the_callers_transaction(db):
    request = Request("U1", "short_stay", date(2026, 6, 10), "rolled-back", "sakura", 1)
    with pytest.raises(RuntimeError), transaction(db) as session:
        assert care_bookings.request(session, config=CONFIG, rules=RULES, request=request, answers=answers(),
                                     now=NOW).ok
        raise RuntimeError("the worker failed after booking")
    with transaction(db) as session:
        assert session.scalar(select(func.count()).select_from(CareBooking)) == 0
        assert session.scalar(select(func.count()).select_from(Reminder)) == 0
    assert used(db, "sakura", "2026-06-10") == 0


def test_the_day_before_reminder_is_at_the_citys_hour_and_none_when_that_has_passed(db):
    evening = replace(CONFIG, policy=replace(CONFIG.policy, reminder_time="19:30", lead_days={}))
    booking = ask(db, date(2026, 6, 10), config=evening).booking
    [reminder] = reminders_of(db, booking.id)
    assert reminder.due_at == datetime(2026, 6, 9, 10, 30, tzinfo=UTC)   # 19:30 in Japan
    late = ask(db, date(2026, 6, 2), config=evening, user="U2", now=datetime(2026, 6, 1, 19, 30, tzinfo=JST))
    assert late.ok and reminders_of(db, late.booking.id) == []


# --- the rules as of the care date -------------------------------------------------------------------

def test_age_is_checked_on_the_last_day_of_a_stay_under_the_令和8年度_rules(db):
    born = "2026-01-10"          # 5 months on 10 June: a stay must end by 9 June
    ok = ask(db, date(2026, 6, 8), born=born)                 # 1泊2日: 8 to 9 June
    assert ok.ok
    last_day_too_old = ask(db, date(2026, 6, 9), born=born, user="U2")
    assert (last_day_too_old.ok, last_day_too_old.problem) == (False, "not_eligible")
    assert [r.key for r in last_day_too_old.reasons] == ["screening.reason.stay_last_day"]   # names 10 June
    assert last_day_too_old.reasons[0].params["date"] == "2026-06-10"
    two_nights = ask(db, date(2026, 6, 8), nights=2, born=born, user="U3")
    assert two_nights.problem == "not_eligible"
    [reason] = two_nights.reasons                        # the longest stay that fits: 1泊2日
    assert (reason.key, reason.params["nights"]) == ("screening.reason.stay_too_long", 1)


def test_age_is_checked_on_the_first_day_under_the_令和7年度_rules(db):
    march = datetime(2026, 3, 1, 9, 0, tzinfo=JST)
    born = "2025-11-10"          # 4 months on 10 March 2026; 令和7年度 checks the first day
    assert ask(db, date(2026, 3, 9), born=born, now=march).ok             # 1泊2日 9 to 10 March
    too_old = ask(db, date(2026, 3, 10), born=born, now=march, user="U2")
    assert too_old.problem == "not_eligible"


def test_day_care_age_is_checked_on_the_care_date(db):
    born = "2026-02-04"          # 4 months on 4 June
    assert ask(db, date(2026, 6, 3), care_type="day_care", born=born).ok
    refused = ask(db, date(2026, 6, 4), care_type="day_care", born=born, user="U2")
    assert refused.problem == "not_eligible"
    assert [r.key for r in refused.reasons] == ["screening.reason.age_over_months"]


def test_caps_count_requested_and_confirmed_bookings_and_a_cancelled_one_frees_its_uses(db):
    six = ask(db, date(2026, 6, 8), nights=6)                  # 6 nights: the short stay cap
    assert six.ok and six.booking.units == 6
    staff(db, care_bookings.confirm, six.booking.id)
    seventh_night = ask(db, date(2026, 6, 22), provider="hinata")
    assert seventh_night.problem == "not_eligible"
    assert [r.key for r in seventh_night.reasons] == ["screening.reason.cap_reached"]
    seventh_use = ask(db, date(2026, 6, 24), care_type="day_care")   # 7 in total across the types
    assert seventh_use.ok and seventh_use.booking.status == "requested"
    eighth = ask(db, date(2026, 6, 25), care_type="day_care")
    assert eighth.problem == "not_eligible"
    assert [r.key for r in eighth.reasons] == ["screening.reason.cap_reached"]
    staff(db, care_bookings.cancel, six.booking.id)
    assert ask(db, date(2026, 6, 22), provider="hinata").ok


def test_a_city_that_counts_1泊2日_as_two_days(db):
    for n, start in enumerate((date(2026, 6, 8), date(2026, 6, 10), date(2026, 6, 12))):
        outcome = ask(db, start, rules=YOTSUKAIDO)
        assert outcome.ok and outcome.booking.units == 2, n
    short = ask(db, date(2026, 6, 16), rules=YOTSUKAIDO)      # 6 of 7 days used: 1泊2日 needs 2
    assert short.problem == "not_eligible"
    assert [(r.key, r.params) for r in short.reasons] == [("screening.reason.cap_short",
                                                           {"remaining": 1, "needed": 2})]
    assert ask(db, date(2026, 6, 17), care_type="day_care", rules=YOTSUKAIDO).ok   # the 7th day


def test_attended_counts_against_the_caps_and_no_show_does_not(db):
    six = ask(db, date(2026, 6, 8), nights=6).booking
    staff(db, care_bookings.confirm, six.id)
    with transaction(db) as session:
        assert care_bookings.close(session, booking_id=six.id, status="no_show", actor=STAFF, now=NOW).ok
    assert ask(db, date(2026, 6, 22), provider="hinata").ok
    with transaction(db) as session:
        uses = care_bookings.uses_of(session, user_id="U1")
    assert [(u.type, u.start) for u in uses] == [("short_stay", date(2026, 6, 22))]


# --- the city's policy -------------------------------------------------------------------------------

def test_lead_time_counts_from_today_in_japan(db):
    too_soon = ask(db, date(2026, 6, 3))                       # short stays: 3 days ahead
    assert (too_soon.ok, too_soon.problem, too_soon.params) == (False, "too_soon", {"days": 3})
    assert ask(db, date(2026, 6, 4)).ok
    utc_evening = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)   # already 1 June in Japan
    assert ask(db, date(2026, 6, 3), now=utc_evening, user="U2").problem == "too_soon"
    visit = ask(db, date(2026, 6, 5), care_type="home_visit", provider="midwife-mori", slot="10:00")
    assert (visit.problem, visit.params) == ("too_soon", {"days": 7})
    assert ask(db, date(2026, 6, 8), care_type="home_visit", provider="midwife-mori", slot="10:00").ok


def test_booking_horizon(db):
    assert ask(db, date(2026, 7, 31), care_type="day_care").ok          # 60 days ahead
    too_far = ask(db, date(2026, 8, 3), care_type="day_care")
    assert (too_far.problem, too_far.params) == ("too_far", {"days": 60})


def test_too_many_nights(db):
    assert ask(db, date(2026, 6, 8), nights=7).problem == "nights"
    assert ask(db, date(2026, 6, 8), nights=0).problem == "nights"


def test_one_open_booking_when_the_city_says_so(db):
    strict = replace(CONFIG, policy=replace(CONFIG.policy, one_open_booking=True))
    first = ask(db, date(2026, 6, 10), config=strict)
    assert first.ok
    assert ask(db, date(2026, 6, 17), config=strict).problem == "one_open"
    assert ask(db, date(2026, 6, 17), config=strict, user="U2").ok      # another mother
    with transaction(db) as session:                                  # changing the one she has is fine
        moved = care_bookings.change(session, config=strict, rules=RULES, booking_id=first.booking.id, user_id="U1",
                                     new=Request("U1", "short_stay", date(2026, 6, 18), "move", "sakura", 1),
                                     answers=answers(), now=NOW)
    assert moved.ok
    assert mother_cancels(db, moved.booking.id).ok
    assert ask(db, date(2026, 6, 17), config=strict).ok


def test_closed_days_and_public_holidays(db):
    saturday = ask(db, date(2026, 6, 13))                     # さくら: Monday to Friday
    assert (saturday.ok, saturday.problem) == (False, "closed")
    assert ask(db, date(2026, 7, 20)).problem == "closed"     # 海の日
    assert ask(db, date(2026, 7, 20), provider=None).problem == "closed"   # every provider is closed
    assert ask(db, date(2026, 6, 13), provider="hinata").ok   # ひなた opens on Saturdays
    shut = replace(CONFIG, providers=tuple(replace(p, closed=(date(2026, 6, 10),)) if p.key == "sakura" else p
                                           for p in CONFIG.providers))
    assert ask(db, date(2026, 6, 10), config=shut).problem == "closed"
    assert ask(db, date(2026, 6, 10), config=shut, provider=None).booking.provider_id == _id(db, "hinata")


def _id(db, key: str) -> int:
    with transaction(db) as session:
        return providers.ids(session)[key]


def test_anywhere_picks_a_provider_with_room(db):
    assert ask(db, date(2026, 6, 10), user="U2").ok             # さくら's two beds
    assert ask(db, date(2026, 6, 10), user="U3").ok
    assert ask(db, date(2026, 6, 10), provider="sakura").problem == "full"
    anywhere = ask(db, date(2026, 6, 10), provider=None)
    assert anywhere.ok and anywhere.booking.provider_id == _id(db, "hinata")
    assert ask(db, date(2026, 6, 10), provider=None, user="U4").problem == "full"
    # a stay needs a bed every night: さくら is full on the 10th, so a stay from the 9th goes to ひなた's
    # bed... which is taken on the 10th too
    assert ask(db, date(2026, 6, 9), nights=2, provider=None, user="U5").problem == "full"
    assert ask(db, date(2026, 6, 9), nights=1, provider=None, user="U5").booking.provider_id == _id(db, "sakura")


def test_home_visits_take_one_time_each(db):
    visit = dict(care_type="home_visit", provider="midwife-mori")
    assert ask(db, date(2026, 6, 10), slot="10:00", **visit).ok
    assert ask(db, date(2026, 6, 10), slot="10:00", user="U2", **visit).problem == "full"
    with transaction(db) as session:
        assert providers.free_times(session, config=CONFIG, provider_key="midwife-mori",
                                    day=date(2026, 6, 10)) == ["14:00"]
    assert ask(db, date(2026, 6, 10), slot="14:00", user="U2", **visit).ok
    assert ask(db, date(2026, 6, 10), slot="14:00", user="U3", provider=None, care_type="home_visit").problem == "full"
    assert ask(db, date(2026, 6, 9), slot="10:00", user="U3", **visit).problem == "closed"   # a Tuesday
    assert used(db, "midwife-mori", "2026-06-10", "home_visit", "10:00") == 1


def test_open_days_and_nights_free_show_the_room_left(db):
    assert ask(db, date(2026, 6, 10), provider="hinata").ok
    with transaction(db) as session:
        days = providers.open_days(session, config=CONFIG, care_type="short_stay", provider_key=None,
                                   first=date(2026, 6, 8), last=date(2026, 6, 14))
        assert [(d.day.day, d.providers) for d in days] == [
            (8, ("sakura", "hinata")), (9, ("sakura", "hinata")), (10, ("sakura",)), (11, ("sakura", "hinata")),
            (12, ("sakura", "hinata")), (13, ("hinata",))]
        assert providers.nights_free(session, config=CONFIG, provider_key="hinata", start=date(2026, 6, 8),
                                     most=6) == 2
        assert providers.nights_free(session, config=CONFIG, provider_key="sakura", start=date(2026, 6, 8),
                                     most=6) == 6


def test_a_slot_given_for_day_care_does_not_leak_a_place(db):
    booking = ask(db, date(2026, 6, 10), care_type="day_care", slot="10:00").booking
    assert used(db, "sakura", "2026-06-10", "day_care") == 1
    assert mother_cancels(db, booking.id).ok
    assert used(db, "sakura", "2026-06-10", "day_care") == 0


# --- staff confirm or decline ---------------------------------------------------------------------------

def test_confirm_writes_history_and_a_push(db):
    booking = ask(db, date(2026, 6, 10)).booking
    later = NOW + timedelta(hours=2)
    outcome = staff(db, care_bookings.confirm, booking.id, now=later)
    assert outcome.ok and status(db, booking.id) == "confirmed"
    assert changes(db, booking.id)[-1] == ("requested", "confirmed", STAFF, later, None)
    day_before, pushed = reminders_of(db, booking.id)
    assert (day_before.kind, day_before.status) == ("care_day_before", "pending")
    assert (pushed.kind, pushed.status, pushed.due_at) == ("care_confirmed", "pending", later)
    facts = json.loads(pushed.message)["facts"]
    assert facts["provider"] == "さくら産婦人科医院" and facts["booking"] == booking.id
    assert not staff(db, care_bookings.confirm, booking.id).ok          # twice: nothing more
    assert not staff(db, care_bookings.decline, booking.id, reason="x").ok
    assert len(reminders_of(db, booking.id)) == 2


def test_decline_frees_the_bed_cancels_the_reminder_and_pushes_the_reason(db):
    booking = ask(db, date(2026, 6, 10), nights=2).booking
    outcome = staff(db, care_bookings.decline, booking.id, reason="助産師の都合がつきません")
    assert outcome.ok and status(db, booking.id) == "declined"
    assert [used(db, "sakura", d) for d in ("2026-06-10", "2026-06-11")] == [0, 0]
    assert changes(db, booking.id)[-1] == ("requested", "declined", STAFF, NOW, "助産師の都合がつきません")
    day_before, pushed = reminders_of(db, booking.id)
    assert (day_before.kind, day_before.status) == ("care_day_before", "cancelled")
    assert (pushed.kind, pushed.status) == ("care_declined", "pending")
    assert json.loads(pushed.message)["facts"]["reason"] == "助産師の都合がつきません"
    assert not staff(db, care_bookings.confirm, booking.id).ok


# --- cancel, change, close ------------------------------------------------------------------------------

def test_cancel_before_the_providers_deadline_and_not_after(db):
    # さくら: free until 10:00 the day before
    booking = ask(db, date(2026, 6, 10)).booking
    with transaction(db) as session:
        assert care_bookings.cancel_deadline(CONFIG, session, booking) == datetime(2026, 6, 9, 10, 0, tzinfo=JST)
    assert not mother_cancels(db, booking.id, user="U2").ok               # not hers
    outcome = mother_cancels(db, booking.id, now=datetime(2026, 6, 9, 9, 59, tzinfo=JST))
    assert outcome.ok and status(db, booking.id) == "cancelled" and used(db, "sakura", "2026-06-10") == 0
    assert changes(db, booking.id)[-1][:3] == ("requested", "cancelled", "mother")
    assert [r.status for r in reminders_of(db, booking.id)] == ["cancelled"]
    assert mother_cancels(db, booking.id).problem == "gone"

    late = ask(db, date(2026, 6, 10), user="U2").booking
    staff(db, care_bookings.confirm, late.id)
    refused = mother_cancels(db, late.id, user="U2", now=datetime(2026, 6, 9, 10, 0, tzinfo=JST))
    assert (refused.ok, refused.problem) == (False, "past_deadline")
    assert refused.params == {"provider": "さくら産婦人科医院", "provider_phone": "0123-45-1111"}
    assert status(db, late.id) == "confirmed"
    by_staff = staff(db, care_bookings.cancel, late.id, now=datetime(2026, 6, 9, 18, 0, tzinfo=JST),
                     reason="お電話で取消")
    assert by_staff.ok and status(db, late.id) == "cancelled"
    assert changes(db, late.id)[-1][:3] == ("confirmed", "cancelled", STAFF)


def test_each_provider_has_its_own_deadline(db):
    # ひなた: free until 17:00 two days before
    booking = ask(db, date(2026, 6, 10), provider="hinata").booking
    assert mother_cancels(db, booking.id, now=datetime(2026, 6, 8, 17, 0, tzinfo=JST)).problem == "past_deadline"
    assert mother_cancels(db, booking.id, now=datetime(2026, 6, 8, 16, 59, tzinfo=JST)).ok


def change(db, booking_id: int, start: date, *, key=None, nights=1, provider="hinata", now=NOW, user="U1"):
    with transaction(db) as session:
        return care_bookings.change(session, config=CONFIG, rules=RULES, booking_id=booking_id, user_id=user,
                                    new=Request(user, "short_stay", start, key or uuid.uuid4().hex, provider, nights),
                                    answers=answers(), now=now)


def test_change_of_date_keeps_the_old_booking_when_the_new_date_is_full(db):
    old = ask(db, date(2026, 6, 10), provider="hinata").booking      # ひなた has one bed
    assert ask(db, date(2026, 6, 12), provider="hinata", user="U2").ok
    outcome = change(db, old.id, date(2026, 6, 12))
    assert (outcome.ok, outcome.problem) == (False, "full")
    assert status(db, old.id) == "requested"
    assert [used(db, "hinata", d) for d in ("2026-06-10", "2026-06-12")] == [1, 1]
    assert [r.status for r in reminders_of(db, old.id)] == ["pending"]
    assert changes(db, old.id) == [(None, "requested", "mother", NOW, None)]


def test_change_of_date_swaps_when_the_new_date_is_free(db):
    old = ask(db, date(2026, 6, 10), provider="hinata").booking
    staff(db, care_bookings.confirm, old.id)
    outcome = change(db, old.id, date(2026, 6, 15), key="change-1")
    assert outcome.ok and not outcome.repeated
    new = outcome.booking
    assert (new.status, new.start_date) == ("requested", "2026-06-15")
    assert status(db, old.id) == "cancelled"
    assert changes(db, old.id)[-1] == ("confirmed", "cancelled", "mother", NOW, f"changed to booking {new.id}")
    assert [used(db, "hinata", d) for d in ("2026-06-10", "2026-06-15")] == [0, 1]
    assert [r.kind for r in reminders_of(db, new.id)] == ["care_day_before"]
    assert all(r.status == "cancelled" for r in reminders_of(db, old.id) if r.kind == "care_day_before")
    again = change(db, old.id, date(2026, 6, 15), key="change-1")        # the same tap delivered twice
    assert again.ok and again.repeated and again.booking.id == new.id
    with transaction(db) as session:
        assert [b.id for b in care_bookings.of_user(session, user_id="U1", upcoming_from=date(2026, 6, 1))] == [new.id]


def test_change_is_refused_after_the_deadline_and_for_someone_elses_booking(db):
    old = ask(db, date(2026, 6, 10), provider="hinata").booking
    late = change(db, old.id, date(2026, 6, 15), now=datetime(2026, 6, 8, 17, 0, tzinfo=JST))
    assert (late.problem, late.params["provider_phone"]) == ("past_deadline", "0123-45-2222")
    assert change(db, old.id, date(2026, 6, 15), user="U2").problem == "gone"
    assert status(db, old.id) == "requested"


def test_close_as_attended_or_no_show_only_after_confirmed(db):
    first = ask(db, date(2026, 6, 10)).booking
    second = ask(db, date(2026, 6, 17)).booking
    after = datetime(2026, 6, 12, 9, 0, tzinfo=JST)

    def close(booking_id, to):
        with transaction(db) as session:
            return care_bookings.close(session, booking_id=booking_id, status=to, actor="provider:sakura", now=after)
    assert close(first.id, "attended").problem == "gone"          # still a request
    staff(db, care_bookings.confirm, first.id)
    staff(db, care_bookings.confirm, second.id)
    assert close(first.id, "done").problem == "gone"               # not a closing status
    assert close(first.id, "attended").ok
    assert close(first.id, "no_show").problem == "gone"            # closed already
    assert close(second.id, "no_show").ok
    assert [status(db, first.id), status(db, second.id)] == ["attended", "no_show"]
    assert changes(db, first.id)[-1] == ("confirmed", "attended", "provider:sakura", after, None)
    assert [c[:2] for c in changes(db, second.id)] == [(None, "requested"), ("requested", "confirmed"),
                                                       ("confirmed", "no_show")]


def test_the_confirmation_and_the_day_before_say_when_what_to_bring_and_where(db):
    from urllib.parse import quote

    from bot.dispatcher import words
    booking = ask(db, date(2026, 6, 10), nights=2).booking
    staff(db, care_bookings.confirm, booking.id)
    sakura = CONFIG.provider("sakura")
    for row in reminders_of(db, booking.id):   # the day before, and the confirmation
        [message] = words(row.kind, row.message, "ja")
        text = message["text"]
        assert f"入所：{sakura.check_in}" in text
        assert f"持ち物：{sakura.what_to_bring}" in text
        assert f"場所：{sakura.address}" in text and "https://www.google.com/maps/search/?api=1&query=" + quote(
            sakura.address) in text
        assert sakura.name not in "\n".join(text.split("\n")[:4])   # not on the lock screen
    [visit_row] = reminders_of(db, ask(db, date(2026, 6, 10), care_type="home_visit", provider="midwife-mori",
                                       slot="10:00").booking.id)
    visit = words(visit_row.kind, visit_row.message, "ja")[0]["text"]
    assert "訪問の時刻：10:00" in visit and "地図" not in visit   # a home visit comes to her


def test_the_confirmation_gives_her_the_booking_number_she_can_quote(db):
    from bot.dispatcher import words
    booking = ask(db, date(2026, 6, 10), nights=1).booking
    staff(db, care_bookings.confirm, booking.id)
    confirmation = next(r for r in reminders_of(db, booking.id) if r.kind == "care_confirmed")
    text = words(confirmation.kind, confirmation.message, "ja")[0]["text"]
    assert f"受付番号：{booking.id}" in text
