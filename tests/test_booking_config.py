"""The booking file (providers, classes, policy): every mistake named as FILE:LINE: path: message;
and the calendar read from it: opening days with Japanese public holidays, class dates, quiet hours."""
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scheduling.city.booking_config import BookingConfigError, Policy, load_booking_config, parse_booking_config
from scheduling.city.city_file import load_city
from scheduling.dates.calendar import JST, after_quiet_hours, class_dates, holiday_name, in_quiet_hours, provider_open

CONFIG = Path(__file__).resolve().parents[1] / "config"

GOOD = '''[policy]
reminder_time = "17:00"
quiet_hours = { from = "21:00", until = "08:00" }

[policy.lead_days]
short_stay = 3

[[providers]]
id = "sakura"
name = "さくら産婦人科医院"
phone = "0123-45-1111"
types = ["short_stay", "day_care"]
beds = 2
day_places = 3
closed = [2026-12-29]

[[providers]]
id = "mori"
name = "もり助産院"
phone = "0123-45-3333"
types = ["home_visit"]
visit_times = ["14:00", "10:00"]

[[classes]]
id = "papamama"
title = "パパママ教室"
place = "児童館"
capacity = 20
pregnancy_weeks = { min = 16, max = 37 }
schedule = { weekday = "sat", nth = 2, months = [1, 3] }

[[classes]]
id = "baby"
title = "0歳児の親子教室"
place = "児童館"
capacity = 16
baby_months = { min = 0, max = 12 }
dates = [2026-07-11]
'''


def problems(text: str) -> list[str]:
    with pytest.raises(BookingConfigError) as caught:
        parse_booking_config(text, name="booking.toml")
    return caught.value.problems


def test_the_good_file_loads():
    config = parse_booking_config(GOOD)
    assert [p.key for p in config.providers] == ["sakura", "mori"]
    assert config.provider("mori").visit_times == ("10:00", "14:00")
    assert config.provider("sakura").closed == (date(2026, 12, 29),)
    assert [p.key for p in config.providers_for("short_stay")] == ["sakura"]
    assert config.parent_class("papamama").schedule.months == (1, 3)
    assert config.parent_class("baby").dates == (date(2026, 7, 11),)
    assert config.policy.lead_days["short_stay"] == 3 and config.policy.lead_days["home_visit"] == 0


def test_the_example_files_load():
    config = load_booking_config(CONFIG / "booking.toml")
    assert {p.key for p in config.providers} == {"sakura", "hinata", "midwife-mori"}
    assert {c.key for c in config.classes} == {"papamama", "baby"}
    city = load_city(CONFIG / "city.toml")
    assert city.booking == config


def test_unknown_setting():
    assert problems(GOOD.replace("day_places = 3", "day_place = 3")) == [
        "booking.toml:8: providers[0].day_places: is required for day_care（day_care には必要です）",
        "booking.toml:14: providers[0].day_place: unknown setting（不明な項目）; allowed: id, name, phone, types, "
        "beds, day_places, visit_times, check_in, day_hours, open_days, holidays, closed, open, cancel, "
            "check_out, address, what_to_bring, rules"]
    [problem] = problems(GOOD.replace('reminder_time = "17:00"', 'remind_time = "17:00"'))
    assert problem.startswith("booking.toml:2: policy.remind_time: unknown setting")


def test_missing_beds_for_a_short_stay_provider():
    assert problems(GOOD.replace("beds = 2\n", "")) == [
        "booking.toml:8: providers[0].beds: is required for short_stay（short_stay には必要です）"]
    assert problems(GOOD.replace("beds = 2\n", "beds = 0\n")) == [
        "booking.toml:13: providers[0].beds: is required for short_stay（short_stay には必要です）"]


def test_bad_time():
    assert problems(GOOD.replace('"21:00"', '"25:00"')) == [
        'booking.toml:3: policy.quiet_hours.from: must be a time like "10:00"（時刻 "10:00"）']
    assert problems(GOOD.replace('["14:00", "10:00"]', '["14:00", "9:00"]')) == [
        'booking.toml:22: providers[1].visit_times: must be a list of times like ["10:00", "14:00"]']
    assert problems(GOOD.replace('visit_times = ["14:00", "10:00"]', "visit_times = []")) == [
        "booking.toml:22: providers[1].visit_times: is required for home_visit（home_visit には必要です）"]


def test_class_without_dates_or_schedule():
    broken = GOOD.replace("schedule = { weekday = \"sat\", nth = 2, months = [1, 3] }\n", "")
    assert problems(broken) == ["booking.toml:24: classes[0]: needs dates or a schedule（dates か schedule が必要です）"]
    assert problems(GOOD.replace("months = [1, 3]", "months = [1, 13]")) == [
        "booking.toml:30: classes[0].schedule.months: must be a list of months 1 to 12（1〜12の月）"]


def test_duplicate_ids():
    assert problems(GOOD.replace('id = "mori"', 'id = "sakura"').replace('id = "baby"', 'id = "papamama"')) == [
        "booking.toml:18: providers[1].id: is used twice（id が重複しています）",
        "booking.toml:33: classes[1].id: is used twice（id が重複しています）"]


def test_every_mistake_at_once_in_line_order():
    broken = (GOOD.replace("beds = 2\n", "").replace('"21:00"', '"9pm"')
              .replace('id = "baby"', 'id = "papamama"').replace("capacity = 16", "capacity = 0"))
    assert [p.split(": ")[0] for p in problems(broken)] == ["booking.toml:3", "booking.toml:8", "booking.toml:32",
                                                            "booking.toml:35"]


def test_toml_syntax_error_and_missing_file(tmp_path):
    [problem] = problems(GOOD.replace("beds = 2", "beds = "))
    assert problem.startswith("booking.toml:13: TOML syntax error")
    with pytest.raises(BookingConfigError) as caught:
        load_booking_config(tmp_path / "nothing.toml")
    assert caught.value.problems == ["nothing.toml: the file does not exist（ファイルがありません）"]


# --- calendar ------------------------------------------------------------------------------------------

EXAMPLE = load_booking_config(CONFIG / "booking.toml")


def test_a_public_holiday_closes_a_provider_a_substitute_holiday_too():
    sakura = EXAMPLE.provider("sakura")               # Mon to Fri, closed on holidays
    assert holiday_name(date(2026, 5, 6)) == "振替休日"  # Wednesday: 憲法記念日 fell on a Sunday
    assert holiday_name(date(2026, 9, 22)) == "国民の休日"
    assert holiday_name(date(2026, 5, 7)) is None
    assert not provider_open(sakura, date(2026, 5, 6))
    assert not provider_open(sakura, date(2026, 9, 22))
    assert not provider_open(sakura, date(2026, 7, 20))   # 海の日, a Monday
    assert provider_open(sakura, date(2026, 5, 7))
    assert provider_open(replace(sakura, open_on_holidays=True), date(2026, 5, 6))
    assert not provider_open(replace(sakura, open_on_holidays=True), date(2026, 5, 3))   # still a Sunday


def test_weekly_pattern():
    week = [date(2026, 6, 1 + n) for n in range(7)]      # Monday 1 June to Sunday 7 June
    assert [provider_open(EXAMPLE.provider("sakura"), d) for d in week] == [True] * 5 + [False] * 2
    assert [provider_open(EXAMPLE.provider("hinata"), d) for d in week] == [True] * 6 + [False]
    assert [provider_open(EXAMPLE.provider("midwife-mori"), d) for d in week] == [True, False, True, False, True,
                                                                                   False, False]


def test_closed_and_open_exception_dates():
    sakura = EXAMPLE.provider("sakura")
    assert not provider_open(sakura, date(2026, 12, 29))   # a Tuesday, closed for the new year
    special = replace(sakura, extra_open=(date(2026, 6, 7), date(2026, 5, 6), date(2026, 12, 29)))
    assert provider_open(special, date(2026, 6, 7))        # a Sunday opened
    assert provider_open(special, date(2026, 5, 6))        # a holiday opened
    assert not provider_open(special, date(2026, 12, 29))  # closed wins over open


def test_class_schedule_is_the_nth_weekday_of_the_listed_months():
    papamama = EXAMPLE.parent_class("papamama")            # 2nd Saturday of odd months
    assert class_dates(papamama, date(2026, 6, 1), date(2027, 3, 31)) == [
        date(2026, 7, 11), date(2026, 9, 12), date(2026, 11, 14), date(2027, 1, 9), date(2027, 3, 13)]
    assert class_dates(papamama, date(2026, 7, 11), date(2026, 7, 11)) == [date(2026, 7, 11)]
    assert class_dates(papamama, date(2026, 7, 12), date(2026, 9, 11)) == []
    fifth = replace(papamama, schedule=replace(papamama.schedule, nth=5, months=tuple(range(1, 13))),
                    dates=(date(2026, 6, 20), date(2026, 8, 29)))
    # months with a 5th Saturday only, plus the listed dates, once each
    assert class_dates(fifth, date(2026, 5, 1), date(2026, 10, 31)) == [
        date(2026, 5, 30), date(2026, 6, 20), date(2026, 8, 29), date(2026, 10, 31)]


def test_quiet_hours_across_midnight():
    policy = Policy(quiet_from="21:00", quiet_until="08:00")

    def jst(day, hour, minute=0):
        return datetime(2026, 6, day, hour, minute, tzinfo=JST)
    assert [in_quiet_hours(jst(1, h, m), policy) for h, m in ((20, 59), (21, 0), (23, 59), (0, 0), (3, 0), (7, 59),
                                                             (8, 0), (12, 0))] == [False, True, True, True, True,
                                                                                   True, False, False]
    assert after_quiet_hours(jst(1, 22, 30), policy) == jst(2, 8)
    assert after_quiet_hours(jst(2, 3), policy) == jst(2, 8)
    assert after_quiet_hours(jst(1, 12), policy) == jst(1, 12)
    utc = datetime(2026, 6, 1, 13, 30, tzinfo=UTC)   # 22:30 in Japan
    assert in_quiet_hours(utc, policy) and after_quiet_hours(utc, policy) == jst(2, 8)
    lunch = Policy(quiet_from="12:00", quiet_until="13:00")
    assert [in_quiet_hours(jst(1, h, m), lunch) for h, m in ((11, 59), (12, 0), (12, 59), (13, 0))] == [
        False, True, True, False]
    assert after_quiet_hours(jst(1, 12, 30), lunch) == jst(1, 13)


def test_address_what_to_bring_and_check_out_are_read_and_checked():
    good = GOOD.replace('closed = [2026-12-29]', 'closed = [2026-12-29]\ncheck_out = "11:00"\n'
                        'address = "はぐくみ市中央1-2-3"\nwhat_to_bring = "母子健康手帳、着替え"')
    sakura = parse_booking_config(good).provider("sakura")
    assert (sakura.check_out, sakura.address, sakura.what_to_bring) == (
        "11:00", "はぐくみ市中央1-2-3", "母子健康手帳、着替え")
    assert parse_booking_config(GOOD).provider("mori").address == ""   # optional: a home visit has none
    bad = GOOD.replace('closed = [2026-12-29]', 'closed = [2026-12-29]\ncheck_out = "11時"\naddress = ""\n'
                       f'what_to_bring = "{"あ" * 301}"')
    assert problems(bad) == [
        'booking.toml:16: providers[0].check_out: must be a time like "10:00"（時刻 "10:00"）',
        "booking.toml:17: providers[0].address: must be text, or left out（文字で書くか、項目ごと省きます）",
        "booking.toml:18: providers[0].what_to_bring: must be at most 300 characters（300文字以内）"]
