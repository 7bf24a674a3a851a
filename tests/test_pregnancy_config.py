"""The pregnancy file (consent, link codes, the 32-week call, timed pushes): every mistake named as
FILE:LINE: path: message; the example file loads; gestational weeks counted from the due date."""
from datetime import date, timedelta
from pathlib import Path

import pytest

from scheduling.city.city_file import load_city
from scheduling.city.pregnancy_config import PregnancyConfigError, load_pregnancy_config, parse_pregnancy_config
from scheduling.rules.periods import pregnancy_week, pregnancy_week_start

CONFIG = Path(__file__).resolve().parents[1] / "config"

GOOD = '''[consent]
version = "2026-11"

[link_codes]
valid_days = 14
max_failures = 3
lock_minutes = 10

[call]
push_week = 30
call_week = 32
push_time = "09:30"

[[timed_pushes]]
id = "week28_care"
pregnancy_week = 28
message = "timed.week28_care"
button = "care"

[[timed_pushes]]
id = "twins"
pregnancy_week = 24
message = "timed.twins"
to = "multiples"

[[timed_pushes]]
id = "birth_2weeks_care"
days_after_birth = 14
message = "timed.birth_2weeks_care"
'''


def problems(text: str) -> list[str]:
    with pytest.raises(PregnancyConfigError) as caught:
        parse_pregnancy_config(text, name="pregnancy.toml")
    return caught.value.problems


def test_the_example_file_loads_and_the_city_carries_it():
    config = load_pregnancy_config(CONFIG / "pregnancy.toml")
    assert config.consent_version
    assert (config.call_push_week, config.call_week) == (31, 32)
    assert {p.key for p in config.timed_pushes} >= {"week28_care", "birth_2weeks_care"}
    assert all(p.stage in ("pregnancy", "baby") for p in config.timed_pushes)
    assert load_city(CONFIG / "city.toml").pregnancy == config


def test_a_good_file_is_read_with_its_settings_and_defaults():
    config = parse_pregnancy_config(GOOD)
    assert (config.code_valid_days, config.code_max_failures, config.code_lock_minutes) == (14, 3, 10)
    assert (config.call_push_week, config.call_week, config.push_time) == (30, 32, "09:30")
    care, twins, baby = config.timed_pushes
    assert (care.pregnancy_week, care.days_after_birth, care.to, care.button, care.stage) == (
        28, None, "everyone", "care", "pregnancy")
    assert (twins.to, twins.button) == ("multiples", "none")
    assert (baby.days_after_birth, baby.stage) == (14, "baby")
    defaults = parse_pregnancy_config('[consent]\nversion = "1"\n[call]\n')
    assert (defaults.code_valid_days, defaults.code_max_failures, defaults.code_lock_minutes) == (30, 5, 30)
    assert (defaults.call_push_week, defaults.call_week, defaults.push_time, defaults.timed_pushes) == (
        31, 32, "10:00", ())


def test_each_mistake_is_named_with_its_line_and_field():
    bad = GOOD.replace('push_week = 30', 'push_week = 33').replace('"09:30"', '"25:00"') \
              .replace('max_failures = 3', 'max_failures = 0\ncolour = "red"') \
              .replace('message = "timed.twins"', 'message = ""\ndays_after_birth = 3') \
              .replace('to = "multiples"', 'to = "twins"\nbutton = "phone"') \
              .replace('id = "birth_2weeks_care"', 'id = "Birth 2 weeks"')
    assert problems(bad) == [
        "pregnancy.toml:6: link_codes.max_failures: must be a whole number ≥ 1（1以上の整数）",
        "pregnancy.toml:7: link_codes.colour: unknown setting（不明な項目）; allowed: valid_days, max_failures, "
        "lock_minutes",
        "pregnancy.toml:12: call.call_week: must be from push_week to 41（push_week 以上 41 以下）",
        "pregnancy.toml:13: call.push_time: must be a time like \"10:00\"（時刻 \"10:00\"）",
        "pregnancy.toml:21: timed_pushes[1]: needs exactly one of pregnancy_week or days_after_birth（どちらか1つ）",
        "pregnancy.toml:24: timed_pushes[1].message: must be a catalog key（文言のキー）",
        "pregnancy.toml:26: timed_pushes[1].to: must be one of（次のどれか）: everyone, first_baby, multiples",
        "pregnancy.toml:27: timed_pushes[1].button: must be one of（次のどれか）: none, care, class, menu",
        "pregnancy.toml:30: timed_pushes[2].id: must be lower-case letters, digits and _（英小文字・数字・_）",
    ]


@pytest.mark.parametrize("push, expected", [
    ('id = "a"\nmessage = "m"', "pregnancy.toml:4: timed_pushes[0]: needs exactly one of pregnancy_week or "
                                "days_after_birth（どちらか1つ）"),
    ('id = "a"\nmessage = "m"\npregnancy_week = 42', "pregnancy.toml:7: timed_pushes[0].pregnancy_week: must be 41 "
                                                    "or less（41以下）"),
    ('id = "a"\nmessage = "m"\npregnancy_week = 3', "pregnancy.toml:7: timed_pushes[0].pregnancy_week: must be a "
                                                   "whole number ≥ 4（4以上の整数）"),
    ('id = "a"\nmessage = "m"\ndays_after_birth = -1', "pregnancy.toml:7: timed_pushes[0].days_after_birth: must be "
                                                      "a whole number ≥ 0（0以上の整数）"),
    ('id = "call_notice"\nmessage = "m"\npregnancy_week = 30', "pregnancy.toml:5: timed_pushes[0].id: is the 32-week "
                                                              "call's own push（32週の電話のお知らせの名前です）"),
    ('message = "m"\npregnancy_week = 30', "pregnancy.toml:4: timed_pushes[0].id: is required（必須の項目です）"),
])
def test_a_timed_push_needs_one_moment_an_id_and_a_message(push, expected):
    text = f'[consent]\nversion = "1"\n[call]\n[[timed_pushes]]\n{push}\n'
    assert problems(text) == [expected]


def test_the_same_id_twice_is_named_at_the_second():
    text = GOOD.replace('id = "twins"', 'id = "week28_care"')
    assert problems(text) == ["pregnancy.toml:21: timed_pushes[1].id: is used twice（id が重複しています）"]


def test_timed_pushes_must_be_tables_and_sections_are_required():
    assert problems('timed_pushes = 3\n[consent]\nversion = "1"\n[call]\n') == [
        "pregnancy.toml:1: timed_pushes: must be [[timed_pushes]] tables（[[timed_pushes]] の表にしてください）"]
    assert problems("[call]\n") == ["pregnancy.toml:1: consent: is required（必須の項目です）"]
    assert problems('[consent]\nversion = 2026\n[call]\n') == ["pregnancy.toml:2: consent.version: must be text（文字で）"]


def test_a_syntax_error_and_a_missing_file_are_reported(tmp_path):
    assert problems('[consent]\nversion = "1"\n[call\n')[0].startswith("pregnancy.toml:3: TOML syntax error")
    with pytest.raises(PregnancyConfigError) as caught:
        load_pregnancy_config(tmp_path / "nowhere.toml")
    assert caught.value.problems == ["nowhere.toml: the file does not exist（ファイルがありません）"]


# --- gestational weeks: week 40+0 is the due date -------------------------------------------------

DUE = date(2026, 10, 1)


def test_week_40_day_0_is_the_due_date_and_the_day_before_is_39_6():
    assert pregnancy_week(DUE, DUE) == (40, 0)
    assert pregnancy_week(DUE, DUE - timedelta(days=1)) == (39, 6)
    assert pregnancy_week(DUE, DUE + timedelta(days=7)) == (41, 0)
    assert pregnancy_week_start(DUE, 40) == DUE


def test_week_31_starts_nine_weeks_before_the_due_date():
    start = pregnancy_week_start(DUE, 31)
    assert start == date(2026, 7, 30) == DUE - timedelta(weeks=9)
    assert pregnancy_week(DUE, start) == (31, 0)
    assert pregnancy_week(DUE, start - timedelta(days=1)) == (30, 6)
    assert pregnancy_week(DUE, start + timedelta(days=6)) == (31, 6)
    assert pregnancy_week(DUE, pregnancy_week_start(DUE, 32)) == (32, 0)


def test_weeks_cross_month_and_year_ends():
    due = date(2027, 1, 3)   # week 40+0 on 3 January: week 39+4 is 31 December
    assert pregnancy_week(due, date(2026, 12, 31)) == (39, 4)
    assert pregnancy_week_start(due, 28) == date(2026, 10, 11)
    assert pregnancy_week(date(2028, 3, 1), date(2028, 2, 29)) == (39, 6)   # a leap day counts


def test_about_class_is_checked_here_and_against_the_booking_file(tmp_path, caplog):
    text = '[consent]\nversion = "1"\n[call]\n[[timed_pushes]]\nid = "a"\nmessage = "m"\npregnancy_week = 20\n'
    assert parse_pregnancy_config(text + 'about_class = "papamama"\n').timed_pushes[0].about_class == "papamama"
    assert problems(text + "about_class = 3\n") == [
        "pregnancy.toml:8: timed_pushes[0].about_class: must be a class id of the booking file（教室の id）"]
    for name in ("city.toml", "booking.toml", "safety.toml"):
        (tmp_path / name).write_text((CONFIG / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "hagukumi.toml").write_text((CONFIG / "rules" / "hagukumi.toml").read_text(encoding="utf-8"),
                                                      encoding="utf-8")
    wrong = (CONFIG / "pregnancy.toml").read_text(encoding="utf-8").replace('about_class = "baby"',
                                                                           'about_class = "babies"')
    (tmp_path / "pregnancy.toml").write_text(wrong, encoding="utf-8")
    with caplog.at_level("WARNING", logger="hagukumi.config"):
        load_city(tmp_path / "city.toml")
    assert "birth_2months_class: about_class names no class of the booking file" in caplog.text
