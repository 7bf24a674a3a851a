"""Booking end to end: signed webhooks from the stand-in, answers through LINE's API (checked by the
stand-in against LINE's limits), bookings in the database. A test city whose providers open every day
and whose class is ten days away, so the dates are always bookable."""
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import local
from dialogs import notices
from scheduling.dates.calendar import JST
from scheduling.store.models import CareBooking, ClassBooking, Reminder
from tests.city_files import test_city
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn, actions

CONFIG = Path(__file__).resolve().parents[1] / "config"
MOTHER, OTHER = "U" + "a" * 32, "U" + "b" * 32
BOOKING = """
[policy]
book_ahead_days = 21
offer_hold_minutes = 120
lead_days = {{ short_stay = 1, day_care = 1, home_visit = 1 }}
max_nights = {{ short_stay = 3 }}

[[providers]]
id = "clinic"
name = "さくら産婦人科医院"
phone = "0123-45-1111"
types = ["short_stay", "day_care"]
beds = 2
day_places = 2
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"
cancel = {{ days_before = 1, time = "10:00", late_fee = "full" }}

[[providers]]
id = "strict"
name = "ひなたクリニック"
phone = "0123-45-2222"
types = ["day_care"]
day_places = 2
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"
cancel = {{ days_before = 20, time = "17:00", late_fee = "full" }}

[[providers]]
id = "midwife"
name = "もり助産院"
phone = "0123-45-3333"
types = ["home_visit"]
visit_times = ["10:00", "14:00"]
open_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
holidays = "open"
cancel = {{ days_before = 1, time = "17:00", late_fee = "none" }}

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "児童館 多目的室"
start = "10:00"
end = "12:00"
capacity = 3
pregnancy_weeks = {{ min = 16, max = 37 }}
first_baby_only = true
dates = [{class_day}]
"""


def today():
    return datetime.now(JST).date()


@pytest.fixture
def live(database_url, tmp_path):
    city = test_city(tmp_path, booking=BOOKING.format(class_day=today() + timedelta(days=10)))
    with local.running(make_settings(database_url, HAGUKUMI_CITY_CONFIG=str(city))) as servers:
        yield servers


def tap_data(phone: Phone, prefix: str, nth: int = 0):
    matching = [a for m in phone.last for a in actions(m) if a.get("data", "").startswith(prefix)]
    assert len(matching) > nth, f"no button {prefix!r} in {phone.texts()}"
    return phone.tap_action(matching[nth])


def screened(phone: Phone) -> list[dict]:
    """Through the screening to the result cards (a baby five weeks old)."""
    phone.tap_action({"type": "postback", "data": "menu:care"})
    phone.tap("出産したお母さん")
    phone.tap("住んでいる")
    phone.tap("日付を選ぶ", date=(today() - timedelta(weeks=5)).isoformat())
    phone.tap("どれもあてはまらない")
    return phone.tap("1人")


def rows(live, model, **where):
    with live.app.state.sessions() as session:
        return session.scalars(select(model).filter_by(**where).order_by(model.id)).all()


def test_book_each_care_type(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    result = screened(phone)
    book = {a["data"]: a for m in result for a in actions(m) if a["data"].startswith("book|")}
    assert set(book) == {"book|short_stay", "book|day_care", "book|home_visit"}

    phone.tap_action(book["book|home_visit"])   # one midwife: straight to the days
    assert "ご希望の日を選んでください" in phone.texts()
    tap_data(phone, "bk|d|", 2)
    phone.tap("10:00〜")
    assert "訪問の時刻：10:00" in phone.texts() and "もり助産院" in phone.texts()
    phone.tap("予約する")
    assert "お申し込みを受け付けました" in phone.texts() and "まだ確定ではありません" in phone.texts()

    phone.tap_action(book["book|short_stay"])
    tap_data(phone, "bk|d|", 3)
    phone.tap("2泊3日")
    assert "期間：2泊3日" in phone.texts()
    summary = phone.last
    phone.tap("予約する")
    assert "お申し込みを受け付けました" in phone.texts()
    phone.last = summary
    phone.tap("予約する")   # a double tap
    assert "すでに受け付けています" in phone.texts()

    phone.tap_action(book["book|day_care"])
    assert "さくら産婦人科医院" in phone.texts() and "ひなたクリニック" in phone.texts()
    phone.tap("どこでもよい")
    tap_data(phone, "bk|d|", 4)
    assert "空きのあるところ" in phone.texts()
    phone.tap("予約する")
    assert "お申し込みを受け付けました" in phone.texts()

    made = rows(live, CareBooking, user_id=MOTHER)
    assert [(b.care_type, b.nights, b.slot, b.status) for b in made] == [
        ("home_visit", 0, "10:00", "requested"), ("short_stay", 2, "", "requested"),
        ("day_care", 0, "", "requested")]
    assert made[0].start_date == (today() + timedelta(days=3)).isoformat()


def pregnant_to_party(phone: Phone):
    phone.tap_action({"type": "postback", "data": "menu:class"})
    phone.tap("妊娠中")
    phone.tap("日付を選ぶ", date=(today() + timedelta(days=80)).isoformat())   # week 30 on the class day
    phone.tap("はい")
    assert "パパママ教室" in phone.texts() and "残り" in phone.texts()
    phone.tap("この回を選ぶ")
    return phone.tap("パートナーと2人で")


def test_a_couple_books_a_class_a_full_class_and_the_waiting_list(live):
    standin = StandIn(live.standin_url)
    first, second = Phone(standin, MOTHER), Phone(standin, OTHER)
    pregnant_to_party(first)
    first.tap("予約する")
    assert "ご予約が確定しました" in first.texts()

    pregnant_to_party(second)   # one place left, two wanted
    assert "キャンセル待ちになります" in second.texts()
    second.tap("キャンセル待ちに登録")
    assert "いま1番目です" in second.texts()

    first.tap_action({"type": "postback", "data": "menu:bookings"})
    assert "予約済み" in first.texts()
    first.tap("キャンセルする")
    assert "までお受けします" in first.texts()
    first.tap("キャンセルする")
    assert "キャンセルしました" in first.texts()

    [waiting] = rows(live, ClassBooking, user_id=OTHER)
    assert waiting.status == "offered"
    [offer] = rows(live, Reminder, user_id=OTHER, kind="class_offer")
    [offered] = notices.says(offer.kind, json.loads(offer.message)["facts"])
    accept = next(c.data for c in offered.choices if c.data.startswith("cls|accept|"))
    second.tap_action({"type": "postback", "data": accept})   # the button of the push
    assert "ご予約が確定しました" in second.texts()
    assert [b.status for b in rows(live, ClassBooking)] == ["cancelled", "booked"]
    assert rows(live, ClassBooking, user_id=OTHER)[0].party == 2


def test_cancel_before_and_after_the_deadline_and_change_a_date(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    result = screened(phone)
    phone.tap_action(next(a for m in result for a in actions(m) if a["data"] == "book|day_care"))
    phone.tap("ひなたクリニック")   # free cancellation ends 20 days before: already over
    tap_data(phone, "bk|d|")
    phone.tap("予約する")
    phone.tap_action(next(a for m in result for a in actions(m) if a["data"] == "book|home_visit"))
    tap_data(phone, "bk|d|", 2)
    phone.tap("14:00〜")
    phone.tap("予約する")
    strict, visit = rows(live, CareBooking, user_id=MOTHER)

    phone.tap_action({"type": "postback", "data": "menu:bookings"})
    assert phone.texts().count("受付中（センターの確認待ち）") == 2
    phone.tap_action({"type": "postback", "data": f"my|c|care|{strict.id}"})
    assert "過ぎているため" in phone.texts() and "0123-45-2222" in phone.texts()

    phone.tap_action({"type": "postback", "data": "menu:bookings"})
    phone.tap("日にちを変える", nth=1)
    assert "新しい日が決まるまで" in phone.texts()
    tap_data(phone, "bk|d|", 3)
    phone.tap("10:00〜")
    assert "いまのご予約" in phone.texts()
    phone.tap("変更する")
    assert "日にちの変更のお申し込みを受け付けました" in phone.texts()
    old, new = rows(live, CareBooking, care_type="home_visit")
    assert (old.status, new.status) == ("cancelled", "requested")
    assert new.start_date == (datetime.fromisoformat(old.start_date) + timedelta(days=1)).date().isoformat()

    phone.tap_action({"type": "postback", "data": "menu:bookings"})
    phone.tap("キャンセルする", nth=1)
    assert "までは無料です" in phone.texts() and "もり助産院へお電話でご連絡ください" in phone.texts()
    phone.tap("キャンセルする")
    assert "キャンセルしました" in phone.texts()
    assert [b.status for b in rows(live, CareBooking, user_id=MOTHER)] == ["requested", "cancelled", "cancelled"]
