"""The safety file: every mistake named as FILE:LINE: path: message; matching with except phrases that
only cover the word they hold; priority; the centre's hours (JST, public holidays, closed days); answers
with the contacts filled in; the city carries the net; `hagukumi safety check|try`."""
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main as hagukumi
from scheduling.city.city_file import CityConfigError, load_city
from scheduling.dates.calendar import JST
from scheduling.safety import Match, SafetyConfigError, load_safety, parse_safety

CONFIG = Path(__file__).resolve().parents[1] / "config"

GOOD = '''[hours]
weekdays = ["mon", "tue", "wed", "thu", "fri"]
open = "08:30"
close = "17:15"
closed_every_year = ["12-29", "01-03"]
closed_dates = [2027-05-06]

[contacts.centre]
name = { ja = "センター", en = "the centre" }
number = "0123-45-6789"
hours = { ja = "平日", en = "weekdays" }

[contacts.line]
name = { ja = "相談電話" }
number = "#8000"

[[categories]]
key = "crisis"
label = "命の危険"
urgent = true
offer_consult = true
words = ["死にたい", "しにたい", "消えたい"]
except = ["消えたいいね"]

[categories.in_hours]
ja = "{centre}へどうぞ。"
en = "Call {centre.name} on {centre.number}."

[categories.out_of_hours]
ja = "{line}へどうぞ。"

[[categories]]
key = "ill"
label = "体調"
urgent = false
offer_consult = false
words = ["熱"]
patterns = ["3[89]度"]
except = ["熱心"]

[categories.in_hours]
ja = "受診してください。{centre.hours}"

[categories.out_of_hours]
ja = "{line.name} {line.number}"
'''


def problems(text: str) -> list[str]:
    with pytest.raises(SafetyConfigError) as caught:
        parse_safety(text, name="safety.toml")
    return caught.value.problems


def at(*args) -> datetime:
    return datetime(*args, tzinfo=JST)


# --- matching ---

def test_a_word_fires_its_category_with_the_word_as_written():
    net = parse_safety(GOOD)
    assert net.check("ｼﾆﾀｲ…") == Match(category="crisis", label="命の危険", urgent=True, offer_consult=True,
                                        matched="しにたい")
    assert net.check("死にたーい") == Match("crisis", "命の危険", True, True, "死にたい")
    assert net.check("39度あります").matched == "3[89]度"
    assert net.check("こんにちは") is None and net.check("") is None


def test_an_except_phrase_only_covers_the_word_inside_it():
    net = parse_safety(GOOD)
    assert net.check("熱心に通っています") is None
    assert net.check("熱心に通っていますが、熱が出ました").category == "ill"
    assert net.check("消えたいいね") is None
    assert net.check("消えたいいね、でも死にたい").matched == "死にたい"


def test_the_longest_hit_at_the_first_place_is_reported_and_a_stale_key_is_named():
    net = load_safety(CONFIG / "safety.toml")
    assert net.check("もう死にたい").matched == "死にた"      # not the bare 死 that also hits there
    assert net.check("必死で予約しました") is None
    with pytest.raises(KeyError, match="no safety category 'gone'"):
        net.answer(Match("gone", "", True, False, ""), "ja", at(2026, 12, 2, 10, 0))


def test_the_first_category_in_the_file_wins():
    net = parse_safety(GOOD)
    assert net.check("熱があって死にたい").category == "crisis"
    head, crisis, ill = GOOD.split("[[categories]]")
    reordered = parse_safety(head + "[[categories]]" + ill + "[[categories]]" + crisis)
    assert [c.key for c in reordered.categories] == ["ill", "crisis"]
    assert reordered.check("熱があって死にたい").category == "ill"
    assert reordered.check("死にたい").category == "crisis"


# --- the centre's hours ---

@pytest.mark.parametrize("moment, open_", [
    (at(2026, 12, 2, 10, 0), True),          # a Wednesday morning
    (at(2026, 12, 2, 8, 29), False),         # before opening
    (at(2026, 12, 2, 8, 30), True),
    (at(2026, 12, 2, 17, 15), False),        # closing time is closed
    (at(2026, 12, 2, 19, 0), False),         # evening
    (at(2026, 12, 5, 10, 0), False),         # Saturday
    (at(2026, 12, 6, 10, 0), False),         # Sunday
    (at(2026, 11, 23, 10, 0), False),        # 勤労感謝の日, a Monday
    (at(2026, 12, 29, 10, 0), False),        # closed every year (a Tuesday)
    (at(2027, 1, 3, 10, 0), False),
    (at(2027, 1, 4, 10, 0), True),           # back after the new year
    (at(2027, 5, 6, 10, 0), False),          # a closed date of that year only (a Thursday)
    (datetime(2026, 12, 2, 1, 0, tzinfo=UTC), True),   # 10:00 in Japan
])
def test_in_hours_reads_the_time_in_japan(moment, open_):
    assert parse_safety(GOOD).in_hours(moment) is open_


def test_the_example_centre_is_closed_on_new_years_eve_holidays_and_evenings():
    net = load_safety(CONFIG / "safety.toml")
    assert net.in_hours(at(2026, 12, 2, 10, 0))
    assert not net.in_hours(at(2026, 12, 31, 10, 0))     # a Thursday, closed
    assert not net.in_hours(at(2027, 1, 11, 10, 0))      # 成人の日
    assert not net.in_hours(at(2026, 12, 2, 18, 0))
    assert not net.in_hours(at(2026, 12, 5, 10, 0))


# --- answers ---

def test_answers_fill_contacts_per_language_and_hours():
    net = parse_safety(GOOD)
    crisis = net.check("死にたい")
    assert net.answer(crisis, "ja", at(2026, 12, 2, 10, 0)) == "センター 0123-45-6789（平日）へどうぞ。"
    assert net.answer(crisis, "en", at(2026, 12, 2, 10, 0)) == "Call the centre on 0123-45-6789."
    assert net.answer(crisis, "ja", at(2026, 12, 2, 22, 0)) == "相談電話 #8000へどうぞ。"
    # no English out of hours: the Japanese text, with the Japanese names
    assert net.answer(crisis, "en", at(2026, 12, 2, 22, 0)) == "相談電話 #8000へどうぞ。"
    ill = net.check("熱")
    assert net.answer(ill, "en", at(2026, 12, 2, 10, 0)) == "受診してください。平日"


def test_the_example_answers_name_the_right_numbers_and_never_thank():
    net = load_safety(CONFIG / "safety.toml")
    day, night = at(2026, 12, 2, 10, 0), at(2026, 12, 2, 22, 0)
    ill = net.check("赤ちゃんが熱を出しました")
    assert "#8000" in net.answer(ill, "ja", night) and "119" in net.answer(ill, "ja", night)
    assert "小児救急電話相談" in net.answer(ill, "ja", night)
    assert "0123-45-6789" in net.answer(ill, "ja", day) and "0123-45-6789" not in net.answer(ill, "ja", night)
    life = net.check("しにたい")
    for moment in (day, night):
        text = net.answer(life, "ja", moment)
        assert all(n in text for n in ("119", "110", "0120-279-338", "0570-064-556", "0123-45-6789"))
    violence = net.check("夫に殴られました")
    assert all(n in net.answer(violence, "ja", night) for n in ("189", "0120-279-889", "110"))
    assert net.answer(net.check("息をしていない"), "ja", night).startswith("いますぐ119番")
    for category in net.categories:
        assert {(w, lang) for w, lang, _ in category.answers} == {(w, lang) for w in ("in_hours", "out_of_hours")
                                                                  for lang in ("ja", "en")}
        for when in ("in_hours", "out_of_hours"):
            text, _ = category.answer_text(when, "ja")
            assert "ありがとう" not in text and "{" not in net.answer(Match(category.key, "", False, False, ""), "ja",
                                                                      day if when == "in_hours" else night)
    assert [c.key for c in net.categories] == ["emergency", "life", "violence", "baby_ill", "distress"]
    assert [c.key for c in net.categories if c.urgent] == ["emergency", "life", "violence"]


# --- the validator ---

def test_each_mistake_is_named_with_its_line_and_field():
    bad = (GOOD.replace('close = "17:15"', 'close = "8:00"')
           .replace('"01-03"]', '"02-30"]')
           .replace('number = "#8000"', 'number = "08000"')
           .replace('urgent = true', 'urgent = "yes"')
           .replace('except = ["消えたいいね"]', 'except = ["こんにちは"]')
           .replace('"{centre}へどうぞ。"', '"{centre}か{centr.number}へ"')
           .replace('patterns = ["3[89]度"]', 'patterns = ["3[89度", "(a|)", "HELP", "x y"]\ncolour = "red"'))
    assert problems(bad) == [
        "safety.toml:4: hours.close: must be a time like \"08:30\"（時刻 \"08:30\"）",
        "safety.toml:5: hours.closed_every_year[1]: must be a month and day like \"12-29\"（月-日 \"12-29\"）",
        "safety.toml:15: contacts.line.number: must be a phone number like 0120-279-338, #8000 or 189"
        "（電話番号の形: 0120-279-338、#8000、189）",
        "safety.toml:20: categories[0].urgent: must be true or false（true か false）",
        "safety.toml:23: categories[0].except[0]: 「こんにちは」 holds none of this category's words or patterns, so it "
        "changes nothing（この区分の言葉を含まないので効きません）",
        "safety.toml:26: categories[0].in_hours.ja: {centr.number}: there is no [contacts.centr]（その連絡先がありません）",
        "safety.toml:38: categories[1].patterns[0]: is not a regular expression（正規表現の誤り）: "
        "unterminated character set at position 1",
        "safety.toml:38: categories[1].patterns[1]: matches an empty text, so it would fire on every message"
        "（空の文にも当たります）",
        "safety.toml:38: categories[1].patterns[2]: letters are lower-cased before matching: write it in lower case"
        "（英字は小文字で）",
        "safety.toml:38: categories[1].patterns[3]: spaces are removed before matching: write it without spaces"
        "（空白なしで）",
        "safety.toml:39: categories[1].colour: unknown setting（不明な項目）; allowed: key, label, urgent, "
        "offer_consult, words, patterns, except, in_hours, out_of_hours",
    ]


@pytest.mark.parametrize("number, good", [
    ("0120-279-338", True), ("0570-064-556", True), ("0120-279-889", True), ("#8000", True), ("189", True),
    ("119", True), ("110", True), ("0123-45-6789", True), ("090-1234-5678", True),
    ("0120279338", False), ("0120-279-33", False), ("#800", False), ("19", False), ("tel:189", False),
    ("０１２０-279-338", False), ("289", False),
])
def test_contact_numbers_must_have_a_phone_number_form(number, good):
    text = GOOD.replace('number = "#8000"', f'number = "{number}"')
    if good:
        assert parse_safety(text).contacts[1].number == number
    else:
        assert problems(text) == ["safety.toml:15: contacts.line.number: must be a phone number like 0120-279-338, "
                                  "#8000 or 189（電話番号の形: 0120-279-338、#8000、189）"]


def test_required_parts_repeats_and_missing_answers_are_named():
    text = (GOOD.replace('label = "体調"\n', '').replace('key = "ill"', 'key = "crisis"')
            .replace('words = ["熱"]', 'words = ["熱", "ネツ", "ねつ", ""]')
            .replace('[categories.out_of_hours]\nja = "{line.name} {line.number}"\n', '')
            .replace('name = { ja = "相談電話" }', 'name = { en = "line" }'))
    assert problems(text) == [
        "safety.toml:14: contacts.line.name.ja: is required（必須の項目です）",
        "safety.toml:32: categories[1].label: is required（必須の項目です）",
        "safety.toml:32: categories[1].out_of_hours: is required（必須の項目です）",
        "safety.toml:33: categories[1].key: is used twice（key が重複しています）",
        "safety.toml:36: categories[1].words[2]: reads the same as words[1] after normalising（重複しています）",
        "safety.toml:36: categories[1].words[3]: must be text with letters（文字で）",
    ]


def test_a_file_without_categories_or_hours_is_refused():
    assert problems('[contacts]\n') == ["safety.toml:1: hours: is required（必須の項目です）",
                                        "safety.toml:1: categories: is required（必須の項目です）"]
    assert problems('categories = []\n[hours]\nweekdays = ["mon"]\nopen = "08:30"\nclose = "17:00"\n[contacts]\n') \
        == ["safety.toml:1: categories: must be one or more [[categories]] tables（[[categories]] が必要です）"]


def test_a_missing_file_and_a_toml_mistake_are_named(tmp_path):
    with pytest.raises(SafetyConfigError) as caught:
        load_safety(tmp_path / "nothing.toml")
    assert caught.value.problems == ["nothing.toml: the file does not exist（ファイルがありません）"]
    assert problems("[hours\n")[0].startswith("safety.toml:1: TOML syntax error")


# --- the city and the command line ---

def test_the_city_carries_the_net_and_refuses_a_broken_file(tmp_path):
    assert load_city(CONFIG / "city.toml").safety == load_safety(CONFIG / "safety.toml")
    folder = tmp_path / "config"
    import shutil
    shutil.copytree(CONFIG, folder)
    (folder / "safety.toml").write_text(GOOD.replace('number = "#8000"', 'number = "8000"'), encoding="utf-8")
    with pytest.raises(CityConfigError, match=r"the safety file has mistakes:\nsafety.toml:15: contacts.line.number"):
        load_city(folder / "city.toml")
    city = (folder / "city.toml").read_text(encoding="utf-8")
    (folder / "city.toml").write_text(city.replace('[safety]\nfile = "safety.toml"', ''), encoding="utf-8")
    with pytest.raises(CityConfigError, match=r"\[safety\] file = \"FILE\""):
        load_city(folder / "city.toml")


def test_safety_check_summarises_in_japanese(capsys):
    assert hagukumi(["safety", "check", str(CONFIG / "safety.toml")]) == 0
    out = capsys.readouterr().out
    assert "月火水木金 08:30〜17:15、祝日は休み、休み 12/29 12/30 12/31 1/1 1/2 1/3" in out
    assert "{yorisoi} よりそいホットライン 0120-279-338（24時間・無料）" in out
    assert "1. 緊急（いますぐ119番）（emergency）" in out and "職員に至急の知らせ" in out


def test_safety_check_lists_every_mistake(tmp_path, capsys):
    broken = tmp_path / "safety.toml"
    broken.write_text(GOOD.replace('number = "#8000"', 'number = "8000"'), encoding="utf-8")
    assert hagukumi(["safety", "check", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "1 件の誤りがあります" in err and "safety.toml:15: contacts.line.number" in err


def test_safety_try_shows_the_word_the_covered_near_miss_and_both_answers(capsys):
    assert hagukumi(["safety", "try", str(CONFIG / "safety.toml"), "熱心に通っていますが、赤ちゃんが熱を出しました"]) == 0
    out = capsys.readouterr().out
    assert "baby_ill: 「熱」 は除外「熱心」の中なので数えません" in out
    assert "答える区分: 赤ちゃんの体調（baby_ill）、言葉「熱」" in out
    assert "開所時間内の答え" in out and "時間外の答え" in out and "#8000" in out and "0123-45-6789" in out
    assert hagukumi(["safety", "try", str(CONFIG / "safety.toml"), "死ぬほど眠い"]) == 0
    assert "どの区分にも当たりません" in capsys.readouterr().out
    assert hagukumi(["safety", "try", str(CONFIG / "safety.toml"), "I want to die", "--en"]) == 0
    assert "You are not alone" in capsys.readouterr().out
    assert hagukumi(["safety", "try"]) == 2
