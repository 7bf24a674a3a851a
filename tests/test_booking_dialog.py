"""The booking conversations (care, classes, her bookings) fed inputs one by one, with the real desk on
SQLite: each step, stale taps, typed text, やめる, double taps, a day that filled meanwhile, the rules."""
import json
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.render import render
from dialogs import catalog, notices, router
from dialogs.core import JST, Cards, Context, DateChoice, Line, Postback, Say, Text
from dialogs.screening import SaveScreening
from scheduling.care import providers
from scheduling.chat.desk import Desk
from scheduling.city.booking_config import parse_booking_config
from scheduling.city.city_file import load_city
from scheduling.classes import classes
from scheduling.family import screenings
from scheduling.store.db import make_engine, make_sessionmaker, transaction, upgrade_schema
from scheduling.store.models import CareBooking, ClassBooking, Reminder

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
RULES = CITY.rules
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)   # a Tuesday, 令和8年度
CLASS_DAY = date(2026, 12, 19)
BOOKING = """
[policy]
one_open_booking = {one_open}
book_ahead_days = 30
offer_hold_minutes = 120
lead_days = {{ short_stay = 2, day_care = 1, home_visit = 3 }}
max_nights = {{ short_stay = 3 }}

[[providers]]
id = "sakura"
name = "さくら産婦人科医院"
phone = "0123-45-1111"
types = ["short_stay", "day_care"]
beds = 1
day_places = 1
day_hours = "10:00〜16:00"
open_days = ["mon", "tue", "wed", "thu", "fri"]
cancel = {{ days_before = 1, time = "10:00", late_fee = "full" }}

[[providers]]
id = "hinata"
name = "ひなたクリニック"
phone = "0123-45-2222"
types = ["short_stay"]
beds = 1
open_days = ["mon", "tue", "wed", "thu", "fri", "sat"]
cancel = {{ days_before = 2, time = "17:00", late_fee = "full" }}

[[providers]]
id = "mori"
name = "もり助産院"
phone = "0123-45-3333"
types = ["home_visit"]
visit_times = ["10:00", "14:00"]
open_days = ["mon", "wed", "fri"]
cancel = {{ days_before = 1, time = "17:00", late_fee = "none" }}

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "児童館 多目的室"
start = "10:00"
end = "12:00"
capacity = 3
opens_days_before = 30
pregnancy_weeks = {{ min = 16, max = 37 }}
first_baby_only = true
dates = [{day}]

[[classes]]
id = "baby"
title = "0歳児の親子教室"
place = "児童館 遊戯室"
start = "13:30"
end = "15:00"
capacity = 2
opens_days_before = 30
baby_months = {{ min = 0, max = 12 }}
dates = [{day}]
"""
BORN = "2026-10-20"   # six weeks old on NOW


def booking_config(one_open: bool = False):
    return parse_booking_config(BOOKING.format(one_open=str(one_open).lower(), day=CLASS_DAY.isoformat()))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    engine.dispose()
    return path


@pytest.fixture
def world(template, tmp_path):
    """A migrated SQLite database of its own, with the test city's providers and class sessions."""
    path = tmp_path / "hagukumi.sqlite3"
    shutil.copy(template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    world = World(sessions, booking_config())
    with transaction(sessions) as session:
        providers.sync(session, config=world.config)
        classes.sync(session, config=world.config, today=NOW.date())
    yield world
    engine.dispose()


class World:
    def __init__(self, sessions, config):
        self.sessions, self.config = sessions, config

    def chat(self, user="U" + "1" * 32, now=NOW):
        return Chat(self, user, now)

    def care(self, **where):
        with self.sessions() as session:
            return session.scalars(select(CareBooking).filter_by(**where).order_by(CareBooking.id)).all()

    def class_bookings(self, **where):
        with self.sessions() as session:
            return session.scalars(select(ClassBooking).filter_by(**where).order_by(ClassBooking.id)).all()


class Chat:
    """One mother tapping, as the worker would run it: a desk per event, in its own transaction."""

    def __init__(self, world: World, user: str, now: datetime):
        self.world, self.user, self.now, self.state, self.last = world, user, now, None, ()

    def screened(self, **answers):
        answers = {"relationship": "birth", "residence": "resident", "birth_date": BORN, "exclusions": "none",
                   "babies": 1, **answers}
        with transaction(self.world.sessions) as session:
            screenings.record(session, user_id=self.user, answers=answers, decision={}, rules_version="test",
                              care_date=self.now.date().isoformat(), now=self.now)
        return self

    def send(self, event, state=...):
        with transaction(self.world.sessions) as session:
            desk = Desk(session, self.user, config=self.world.config, rules=RULES, now=self.now)
            ctx = Context(now=self.now, city=CITY.contact, rules=RULES, desk=desk)
            outcome = router.handle(self.state if state is ... else state, event, ctx)
            for command in outcome.commands:
                assert isinstance(command, SaveScreening)
        self.state, self.last = outcome.state, outcome.says
        check_line_limits(outcome.says)
        return outcome.says

    def tap(self, data, **params):
        return self.send(Postback(data, params))

    def choices(self):
        return [c for say in self.last for c in say.choices]

    def data(self, prefix):
        """The postback data of the buttons (quick replies and card buttons) that start with prefix."""
        buttons = [c.data for c in self.choices() if c.data.startswith(prefix)]
        buttons += [b.data for say in self.last if isinstance(say, Cards) for card in say.cards
                    for b in card.buttons if b.data.startswith(prefix)]
        return buttons

    def keys(self):
        return [say.key if isinstance(say, Say) else "cards" for say in self.last]

    def lines(self):
        return [line.key for say in self.last if isinstance(say, Say) for line in say.lines]

    @property
    def step(self):
        return (self.state or {}).get("step")


SHORT_DATE = re.compile(r"\b\d{1,2}/\d{1,2}\b")


def check_line_limits(says):
    for language in ("ja", "en"):
        messages = render(says, language)
        assert 1 <= len(messages) <= 5
        for message in messages:
            items = (message.get("quickReply") or {}).get("items", [])
            assert len(items) <= 13
            actions = [i["action"] for i in items] + [
                b["action"] for bubble in (message.get("contents") or {}).get("contents", [])
                for b in (bubble.get("footer") or {}).get("contents", [])]
            shown = [message.get("text", "")] + [action["label"] for action in actions]
            assert not any(SHORT_DATE.search(text) for text in shown), shown   # one style: 2026年12月2日(水)
            for action in actions:
                assert 0 < len(action["label"]) <= 20, action
                assert len(action.get("data", "")) <= 300
                assert "displayText" not in action


def days_offered(chat):
    return [date.fromisoformat(d.split("|")[2]) for d in chat.data("bk|d|")]


# --- care: each step -------------------------------------------------------------------------------------

def test_a_home_visit_step_by_step(world):
    c = world.chat().screened()
    c.tap("book|home_visit")   # one midwife: no provider question
    assert c.keys() == ["booking.start.home_visit", "booking.ask_date"]
    days = days_offered(c)
    assert days[0] >= NOW.date() + timedelta(days=3)
    assert {d.strftime("%a") for d in days} <= {"Mon", "Wed", "Fri"}
    label = c.choices()[0]
    assert label.label == "booking.day_label" and label.params == {"date": days[0]}
    weekday = "月火水木金土日"[days[0].weekday()]
    assert catalog.text("ja", label.label, **label.params) == f"2026年12月{days[0].day}日({weekday})"
    c.tap(f"bk|d|{days[0]}")
    assert c.step == "time" and c.data("bk|t|") == ["bk|t|10:00", "bk|t|14:00"]
    c.tap("bk|t|14:00")
    assert c.step == "confirm"
    assert c.lines() == ["booking.type.home_visit", "booking.summary.provider", "booking.summary.date",
                         "booking.summary.time", "booking.summary.fee_range", "booking.summary.units",
                         "booking.policy.free_until", "booking.policy.late.none", "booking.summary.request_note",
                         "booking.ask_confirm"]
    [go] = c.data("bk|go|")
    c.tap(go)
    assert c.keys() == ["booking.done", "menu.prompt"] and c.state is None
    [booking] = world.care()
    assert (booking.care_type, booking.start_date, booking.slot, booking.status) == (
        "home_visit", days[0].isoformat(), "14:00", "requested")


def test_a_short_stay_anywhere_for_two_nights(world):
    c = world.chat().screened(household="taxed")
    c.tap("book|short_stay")
    assert c.data("bk|p|") == ["bk|p|sakura", "bk|p|hinata", "bk|p|*"]
    c.tap("bk|p|*")
    day = days_offered(c)[0]
    assert day == NOW.date() + timedelta(days=2)
    c.tap(f"bk|d|{day}")
    assert c.step == "nights" and c.data("bk|n|") == ["bk|n|1", "bk|n|2", "bk|n|3"]   # max_nights = 3
    c.tap("bk|n|2")
    assert "booking.summary.anywhere" in c.lines() and "booking.policy.anywhere" in c.lines()
    summary = c.last[-1]
    fee = next(line for line in summary.lines if line.key == "booking.summary.fee_exact")
    assert fee.params == {"amount": "2,500", "per": "night"}
    units = next(line for line in summary.lines if line.key == "booking.summary.units")
    assert units.params == {"units": 2, "left": 4}   # short stays: 6 nights at most
    c.tap(c.data("bk|go|")[0])
    [booking] = world.care()
    assert (booking.care_type, booking.nights, booking.status) == ("short_stay", 2, "requested")
    # told which provider it went to, and its policy
    assert "booking.summary.provider" in c.lines() and "booking.policy.late.full" in c.lines()


def test_nights_are_what_the_beds_and_the_babys_age_allow(world):
    other = world.chat(user="U" + "2" * 32).screened()
    start = NOW.date() + timedelta(days=2)   # Thursday
    other.tap("book|short_stay")
    other.tap("bk|p|sakura")
    other.tap(f"bk|d|{start + timedelta(days=1)}")   # Friday night taken at sakura
    other.tap("bk|n|1")
    other.tap(other.data("bk|go|")[0])
    c = world.chat().screened()
    c.tap("book|short_stay")
    c.tap("bk|p|sakura")
    c.tap(f"bk|d|{start}")
    assert c.data("bk|n|") == ["bk|n|1"]
    # a baby five months old on Saturday 12/5 may stay one night, not two: the last day counts
    young = world.chat(user="U" + "3" * 32).screened(birth_date="2026-07-05", preterm="no")
    young.tap("book|short_stay")
    young.tap("bk|p|hinata")
    young.tap(f"bk|d|{start}")
    assert young.data("bk|n|") == ["bk|n|1"]


def test_day_care_pages_through_the_days_and_back(world):
    c = world.chat().screened()
    c.tap("book|day_care")   # one provider for day care
    first_page = days_offered(c)
    assert len(first_page) == 10 and len(c.choices()) == 12   # 10 days, ほかの日, やめる
    assert first_page[0] == NOW.date() + timedelta(days=1)
    c.tap("bk|more|1")
    second_page = days_offered(c)
    assert second_page[0] > first_page[-1]
    assert [ch.label for ch in c.choices()[-3:]] == ["booking.more_days", "booking.back", "booking.cancel"]
    c.tap("bk|back")
    assert days_offered(c) == first_page


def test_back_from_the_summary_and_the_steps(world):
    c = world.chat().screened()
    c.tap("book|short_stay")
    c.tap("bk|p|hinata")
    day = days_offered(c)[0]
    c.tap(f"bk|d|{day}")
    c.tap("bk|n|1")
    c.tap("bk|back")
    assert c.step == "nights"
    c.tap("bk|back")
    assert c.step == "date"
    c.tap("bk|back")
    assert c.step == "provider" and c.state["provider"] is None


# --- care: stale taps, typing, やめる, expiry -----------------------------------------------------------

def test_a_stale_tap_and_typed_text_re_ask_the_current_step(world):
    c = world.chat().screened()
    c.tap("book|short_stay")
    c.tap("bk|p|sakura")
    c.tap("bk|p|hinata")   # the provider question's button, tapped again
    assert c.keys() == ["booking.hint_stale", "booking.ask_date"] and c.state["provider"] == "sakura"
    c.send(Text("来週がいいです"))
    assert c.keys() == ["booking.hint_tap", "booking.ask_date"]
    c.tap("bk|d|2026-13-01")
    assert c.keys() == ["booking.hint_stale", "booking.ask_date"]
    c.send(Text("やめる"))
    assert c.keys() == ["booking.cancelled", "menu.prompt"] and c.state is None
    assert world.care() == []


def test_cancel_button_and_expiry(world):
    c = world.chat().screened()
    c.tap("book|day_care")
    c.tap("bk|cancel")
    assert c.keys() == ["booking.cancelled", "menu.prompt"] and c.state is None
    c.tap("book|day_care")
    c.now += timedelta(hours=13)
    c.tap(c.data("bk|d|")[0])
    assert c.keys() == ["reply.expired", "menu.prompt"] and c.state is None


# --- care: one booking, however often she taps --------------------------------------------------------

def test_a_double_tap_and_a_redelivered_event_make_one_booking(world):
    c = world.chat().screened()
    c.tap("book|day_care")
    c.tap(c.data("bk|d|")[0])
    [go] = c.data("bk|go|")
    before = c.state
    c.tap(go)
    c.tap(go)
    assert c.keys() == ["booking.already", "menu.prompt"]
    c.send(Postback(go), state=before)   # the same event again, from the state it first saw
    assert c.keys() == ["booking.already", "menu.prompt"]
    assert len(world.care()) == 1


def test_a_day_that_filled_meanwhile_is_offered_again_without_it(world):
    c = world.chat().screened()
    c.tap("book|day_care")
    day = days_offered(c)[0]
    c.tap(f"bk|d|{day}")
    other = world.chat(user="U" + "2" * 32).screened()
    other.tap("book|day_care")
    other.tap(f"bk|d|{day}")
    other.tap(other.data("bk|go|")[0])   # the one place that day is gone
    c.tap(c.data("bk|go|")[0])
    assert c.keys() == ["booking.day_gone", "booking.ask_date"]
    assert day not in days_offered(c)
    assert len(world.care()) == 1
    c.tap(f"bk|d|{day}")   # its old button
    assert c.keys() == ["booking.day_unavailable", "booking.ask_date"]


def test_only_days_she_may_use_are_offered_and_a_too_old_baby_is_told_why(world):
    # day care is for babies under 4 months: this baby turns 4 months on 12/10
    c = world.chat().screened(birth_date="2026-08-10")
    c.tap("book|day_care")
    assert max(days_offered(c)) < date(2026, 12, 10)
    c.tap("bk|d|2026-12-10")
    assert c.keys()[0] == "booking.day_unavailable"
    old = world.chat(user="U" + "2" * 32).screened(birth_date="2026-06-01", preterm="no")
    old.tap("book|day_care")
    assert old.keys() == ["booking.not_eligible"] and old.state is None
    assert "screening.reason.age_over_months" in old.lines()
    home = world.chat(user="U" + "4" * 32).screened(relationship="pregnant", due_date="2027-01-20")
    home.tap("book|home_visit")
    assert "screening.reason.apply_after_birth" in home.lines()


def test_without_a_screening_she_is_screened_first(world):
    c = world.chat()
    c.tap("book|day_care")
    assert c.keys()[:2] == ["booking.need_screening", "care.intro"]
    assert c.state["dialog"] == "screening"


def test_one_open_booking_where_the_city_says_so(template, tmp_path):
    shutil.copy(template, tmp_path / "db.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    world = World(make_sessionmaker(engine), booking_config(one_open=True))
    with transaction(world.sessions) as session:
        providers.sync(session, config=world.config)
    c = world.chat().screened()
    c.tap("book|day_care")
    c.tap(c.data("bk|d|")[0])
    c.tap(c.data("bk|go|")[0])
    c.tap("book|home_visit")
    assert c.keys() == ["booking.one_open"] and c.data("menu:") == ["menu:bookings", "menu:show"]
    engine.dispose()


# --- her bookings: cancel, deadline, change ---------------------------------------------------------------

def book_day_care(c, nth=1):   # 12/3: free cancellation until 12/2 10:00
    c.tap("book|day_care")
    day = days_offered(c)[nth]
    c.tap(f"bk|d|{day}")
    c.tap(c.data("bk|go|")[0])
    return day


def test_her_bookings_in_words_and_a_cancel_before_the_deadline(world):
    c = world.chat().screened()
    book_day_care(c)
    c.tap("menu:bookings")
    assert c.keys() == ["my.intro", "cards"]
    card = c.last[1].cards[0]
    assert card.lines[0].key == "my.status.care.requested"
    assert card.lines[1] == Line("my.number", {"number": world.care()[0].id})   # the 受付番号 she can quote
    [booking] = world.care()
    assert c.data("my|") == [f"my|d|{booking.id}", f"my|c|care|{booking.id}"]
    c.tap(f"my|c|care|{booking.id}")
    assert c.keys() == ["my.ask_cancel"]
    assert "booking.policy.free_until" in c.lines() and "booking.policy.late.full" in c.lines()
    c.send(Text("キャンセル"))   # typing is no answer: the question again
    assert c.keys() == ["my.hint_tap", "my.ask_cancel"] and world.care()[0].status == "requested"
    c.tap(f"my|cc|care|{booking.id}")
    assert c.keys() == ["my.cancelled", "menu.prompt"]
    assert world.care()[0].status == "cancelled"
    c.tap("menu:bookings")
    assert c.keys() == ["my.none"]
    assert c.data("") == ["book|short_stay", "book|day_care", "book|home_visit", "menu:show"]
    c.tap("book|home_visit")
    assert c.keys() == ["booking.start.home_visit", "booking.ask_date"]


def test_a_day_past_its_free_cancellation_deadline_says_so_before_booking(world):
    c = world.chat().screened()
    c.tap("book|day_care")
    c.tap(c.data("bk|d|")[0])   # 12/2: free cancellation ended 12/1 10:00, which is now
    assert "booking.policy.past" in c.lines() and "booking.policy.free_until" not in c.lines()


def test_after_the_deadline_she_is_told_whom_to_call(world):
    c = world.chat().screened()
    day = book_day_care(c)
    c.now = datetime.combine(day - timedelta(days=1), datetime.min.time(), JST).replace(hour=10, minute=1)
    [booking] = world.care()
    c.tap(f"my|c|care|{booking.id}")
    assert c.keys() == ["my.care_past_deadline", "menu.prompt"]
    assert c.last[0].params["phone"] == "0123-45-1111"
    c.tap(f"my|d|{booking.id}")
    assert c.keys() == ["booking.past_deadline", "menu.prompt"]
    assert world.care()[0].status == "requested"


def test_changing_the_date_keeps_the_old_booking_until_the_new_one_is_secured(world):
    c = world.chat().screened()
    old_day = book_day_care(c)
    [old] = world.care()
    c.tap(f"my|d|{old.id}")
    assert c.keys() == ["booking.change_intro", "booking.ask_date"]
    assert "booking.back" not in [ch.label for ch in c.choices()]
    new_day = days_offered(c)[2]
    c.tap(f"bk|d|{new_day}")
    assert "booking.summary.old_date" in c.lines() and c.data("bk|go|")
    assert [ch.label for ch in c.choices()][0] == "booking.go_change"
    assert world.care()[0].status == "requested"   # nothing moved yet
    go = c.data("bk|go|")[0]
    c.tap(go)
    assert c.keys() == ["booking.changed", "menu.prompt"]
    old, new = world.care()
    assert (old.start_date, old.status) == (old_day.isoformat(), "cancelled")
    assert (new.start_date, new.status) == (new_day.isoformat(), "requested")
    c.tap(go)
    assert c.keys() == ["booking.already", "menu.prompt"] and len(world.care()) == 2


# --- classes ---------------------------------------------------------------------------------------------

def pregnant_couple(c, party="2"):
    c.tap("menu:class")
    assert c.keys() == ["classes.intro", "classes.ask_stage"]
    c.tap("cls|stage|pregnant")
    picker = c.choices()[0]
    assert isinstance(picker, DateChoice) and picker.data == "cls|due" and picker.min == NOW.date().isoformat()
    c.tap("cls|due", date="2027-02-20")   # week 31 on the class day
    assert c.keys() == ["classes.ask_first"]
    c.tap("cls|first|yes")
    assert c.keys() == ["classes.ask_session", "cards"]
    [session_id] = [int(d.split("|")[2]) for d in c.data("cls|s|")]   # only パパママ教室 fits her
    c.tap(f"cls|s|{session_id}")
    assert c.keys() == ["classes.ask_party"]
    c.tap(f"cls|p|{party}")
    return session_id


def test_a_pregnant_mother_books_a_class_for_two(world):
    c = world.chat()
    session_id = pregnant_couple(c)
    assert c.keys() == ["classes.summary"] and "classes.party.2" in c.lines()
    [go] = c.data("cls|go|")
    c.tap(go)
    assert c.keys() == ["classes.booked", "menu.prompt"] and c.state is None
    [booking] = world.class_bookings()
    assert (booking.session_id, booking.party, booking.status) == (session_id, 2, "booked")
    c.tap(go)   # a double tap
    assert c.keys() == ["classes.already", "menu.prompt"] and len(world.class_bookings()) == 1
    c.tap("menu:class")  # the list again: her session is marked as hers and leads to her bookings
    c.tap("cls|stage|pregnant")
    c.tap("cls|due", date="2027-02-20")
    c.tap("cls|first|yes")
    cards = [card for say in c.last if hasattr(say, "cards") for card in say.cards]
    mine = [card for card in cards if "classes.card.mine" in [line.key for line in card.lines]]
    assert len(mine) == 1 and [b.data for b in mine[0].buttons] == ["menu:bookings"]


def test_her_screening_answers_spare_her_the_questions(world):
    c = world.chat().screened()   # a baby six weeks old
    c.tap("menu:class")
    assert c.keys() == ["classes.intro", "classes.ask_session", "cards"]
    [card] = c.last[2].cards
    assert card.title.params == {"title": "0歳児の親子教室"}
    assert [line.key for line in card.lines] == ["classes.card.date", "classes.card.time", "classes.card.place",
                                                 "classes.card.free"]


def test_a_full_class_offers_the_waiting_list_then_a_freed_place(world):
    first = world.chat()
    pregnant_couple(first)
    first.tap(first.data("cls|go|")[0])   # 2 of 3 places
    second = world.chat(user="U" + "2" * 32)
    session_id = pregnant_couple(second)
    assert second.keys() == ["classes.too_few"] and second.last[0].params == {"free": 1}
    second.tap(second.data("cls|wait|")[0])
    assert second.keys() == ["classes.waiting", "menu.prompt"] and second.last[0].params == {"position": 1}
    [_, waiting] = world.class_bookings()
    assert (waiting.status, waiting.party) == ("waiting", 2)
    second.tap("menu:bookings")
    assert second.last[1].cards[0].lines[0].key == "my.status.class.waiting"
    # the first couple cancels: the places are offered to the second, by push
    [booked, _] = world.class_bookings()
    first.tap(f"my|c|cls|{booked.id}")
    assert first.keys() == ["my.ask_cancel"] and "my.class_free_until" in first.lines()
    first.tap(f"my|cc|cls|{booked.id}")
    assert world.class_bookings()[1].status == "offered"
    with world.sessions() as session:
        offer = session.scalars(select(Reminder).where(Reminder.kind == "class_offer")).one()
    [offered] = notices.says(offer.kind, json.loads(offer.message)["facts"])
    assert f"cls|accept|{waiting.id}" in [choice.data for choice in offered.choices]
    second.tap(f"cls|accept|{waiting.id}")
    assert second.keys() == ["classes.booked", "menu.prompt"]
    assert world.class_bookings()[1].status == "booked"
    second.tap(f"cls|accept|{waiting.id}")
    assert second.keys() == ["classes.accepted_already", "menu.prompt"]
    assert session_id == waiting.session_id


def test_an_offer_answered_too_late(world):
    first = world.chat()
    pregnant_couple(first)
    first.tap(first.data("cls|go|")[0])
    second = world.chat(user="U" + "2" * 32)
    pregnant_couple(second)
    second.tap(second.data("cls|wait|")[0])
    [booked, waiting] = world.class_bookings()
    first.tap(f"my|c|cls|{booked.id}")
    first.tap(f"my|cc|cls|{booked.id}")
    second.now += timedelta(hours=3)   # the hold was two hours
    second.tap(f"cls|accept|{waiting.id}")
    assert second.keys() == ["classes.offer_expired"]
    assert second.data("menu:") == ["menu:class", "menu:show"]


def test_classes_stale_taps_typing_back_and_cancel(world):
    c = world.chat()
    c.tap("menu:class")
    c.tap("cls|first|yes")   # not the question asked
    assert c.keys() == ["classes.hint_stale", "classes.ask_stage"]
    c.send(Text("妊娠しています"))
    assert c.keys() == ["classes.hint_tap", "classes.ask_stage"]
    c.tap("cls|stage|pregnant")
    c.tap("cls|due", date="2028-01-01")   # beyond the picker's range
    assert c.keys() == ["classes.hint_date", "classes.ask_due"]
    c.tap("cls|back")
    assert c.keys() == ["classes.ask_stage"] and c.state["stage"] is None
    c.tap("cls|stage|born")
    c.tap("cls|born", date=BORN)
    assert c.keys() == ["classes.ask_session", "cards"]
    c.tap("cls|cancel")
    assert c.keys() == ["classes.cancelled", "menu.prompt"] and c.state is None


def test_no_session_for_her(world):
    c = world.chat()
    c.tap("menu:class")
    c.tap("cls|stage|pregnant")
    c.tap("cls|due", date="2027-06-30")   # week 11 on the class day: too early for パパママ教室
    assert c.keys() == ["classes.none_fit", "menu.prompt"] and c.state is None


# --- the menu and the router ------------------------------------------------------------------------------

def test_the_menu_no_longer_says_preparing(world):
    c = world.chat()
    for data in ("menu:class", "menu:bookings"):
        c.tap(data)
        assert "reply.preparing" not in c.keys()  # noqa: SIM118 (the chat's keys, not a dict's)
    c.send(Text("予約を確認したい"))
    assert c.keys() == ["my.none"]
    c.send(Text("教室に行きたい"))
    assert c.keys() == ["classes.intro", "classes.ask_stage"]


# --- fees across nights and tiers, check-out (issue 10 §4) -----------------------------------------

def _stay(c, nights, page_day=0):
    c.tap("book|short_stay")
    c.tap("bk|p|sakura")
    day = days_offered(c)[page_day]
    c.tap(f"bk|d|{day}")
    c.tap(f"bk|n|{nights}")
    return day


def test_a_stay_of_several_nights_shows_the_total_and_the_check_out(world):
    c = world.chat().screened(household="taxed")
    day = _stay(c, 3)
    lines = {line.key: line.params for line in c.last[-1].lines}
    assert lines["booking.summary.fee_exact"] == {"amount": "2,500", "per": "night"}
    assert lines["booking.summary.fee_total"] == {"amount": "7,500", "units": 3, "count": "night"}
    assert lines["booking.summary.check_out"] == {"date": day + timedelta(days=3), "time": "10:00"}
    text = render((c.last[-1],), "ja")[0]["text"]
    assert "合計 7,500円（3泊分）" in text and "1泊 2,500円" in text and "退所：" in text
    c.tap(c.data("bk|go|")[0])
    done = {line.key: line.params for line in c.last[0].lines}   # the chat's answer after booking
    assert done["booking.summary.fee_total"] == {"amount": "7,500", "units": 3, "count": "night"}


def test_a_stay_across_a_fee_tier_is_the_sum_of_the_nights_real_fees(world):
    c = world.chat().screened(household="taxed")
    _stay(c, 3)                                  # uses 1 to 3
    c.tap(c.data("bk|go|")[0])
    _stay(c, 3, page_day=5)                      # uses 4 to 6: the 6th is in the dearer tier (from_use = 6)
    lines = [(line.key, line.params) for line in c.last[-1].lines]
    assert ("booking.summary.fee_total", {"amount": "10,000", "units": 3, "count": "night"}) in lines   # 2,500 × 2
    assert ("booking.summary.fee_part", {"first": 4, "last": 5, "amount": "2,500", "per": "night"}) in lines   # + 5,000
    assert ("booking.summary.fee_part_one", {"first": 6, "last": 6, "amount": "5,000", "per": "night"}) in lines
    assert not any(key == "booking.summary.fee_exact" for key, _ in lines)   # no single price that is wrong
