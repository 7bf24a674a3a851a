"""`rules try` read strictly with expected results, and TOML mistakes explained in Japanese (issue 15's tools)."""
import json

import pytest

from scheduling.city.booking_config import parse_booking_config
from scheduling.city.rules_cli import main
from scheduling.rules import RulesError
from scheduling.rules.loader import parse_rules

RULES = "config/rules/hagukumi.toml"
TYPICAL = {"relationship": "birth", "residence": "resident", "birth_date": "2026-10-20", "exclusions": "none",
           "babies": 1}


def run(tmp_path, cases, capsys):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    code = main(["rules", "try", RULES, str(path)])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_cases_with_expected_results_pass_and_a_difference_fails_with_a_diff(tmp_path, capsys):
    good = {"name": "典型", "on_date": "2026-12-01", "answers": TYPICAL,
            "expect": {"short_stay": "eligible", "home_visit": {"status": "eligible", "remaining": 7}}}
    code, out, err = run(tmp_path, [good], capsys)
    assert code == 0 and "differences" not in out[0] and err == ""
    wrong = dict(good, expect={"day_care": {"status": "not_eligible"}})
    code, out, err = run(tmp_path, [good, wrong], capsys)
    assert code == 1
    assert out[1]["differences"] == ["day_care.status: 期待 'not_eligible' → 判定 'eligible'（expected → got）"]
    assert "期待と違う判定です" in err


@pytest.mark.parametrize("case, named", [
    ({"on_date": "2026-12-01", "night": 7}, "知らない項目 night"),
    ({"answers": TYPICAL}, "on_date（利用を始める日"),
    ({"on_date": "2026-12-01", "answers": {"relationshp": "birth"}}, "answers.relationshp は知らない質問"),
    ({"on_date": "2026-12-01", "answers": {"relationship": "mother"}},
     "answers.relationship = 'mother' は選べる答えではありません"),
    ({"on_date": "2026-12-01", "answers": {"birth_date": "10/20"}}, "answers.birth_date = '10/20' は日付ではありません"),
    ({"on_date": "2026-12-01", "existing_uses": [{"type": "short_stay", "day": "2026-11-01"}]}, "existing_uses[0]"),
    ({"on_date": "2026-12-01", "nights": 0}, "nights は1以上"),
    ({"on_date": "2026-12-01", "answers": {"staff_need:staff_recognised": True}}, "は \"yes\" か \"no\" です"),
    ({"on_date": "2026-12-01", "answers": {"staff_need:nurse": "yes"}}, "answers.staff_need:nurse は知らない質問"),
    ({"on_date": "2026-12-01", "asked_on": "May"}, "asked_on = 'May' は日付ではありません"),
    ({"on_date": "2026-12-01", "existing_uses": [{"type": "day_care", "start": "2026-11-01", "child": "first"}]},
     "existing_uses[0].child = 'first' は日付ではありません"),
    ({"on_date": "2026-12-01", "expect": {"day_care": {"provider": ["a"]}}}, "expect.day_care"),
])
def test_a_mistake_in_a_case_is_named_not_ignored(tmp_path, capsys, case, named):
    code, out, err = run(tmp_path, [case], capsys)
    assert code == 1 and named in out[0]["error"] and named in err


@pytest.mark.parametrize("text, hint", [
    ('city ＝ "はぐくみ市"', "全角のイコール"),
    ('city = ”はぐくみ市”', "全角の引用符"),
    ('city\u3000= "はぐくみ市"', "全角のスペース"),
    ('city = "はぐくみ市', "引用符「\"」が閉じていない"),
    ("city = はぐくみ市", "文字の値は"),
])
def test_a_toml_mistake_is_explained_in_japanese_with_a_hint(text, hint):
    with pytest.raises(RulesError) as rules_error:
        parse_rules(text)
    problem = rules_error.value.problems[0]
    assert problem.startswith("rules.toml:1: TOML syntax error（書き方の誤り）") and hint in problem
    with pytest.raises(RulesError) as booking_error:   # the city's other files say it the same way
        parse_booking_config(text, name="booking.toml")
    assert hint in booking_error.value.problems[0]


def test_rules_check_says_the_age_window_and_how_tiers_count_in_words_that_cannot_be_misread(capsys):
    assert main(["rules", "check", RULES]) == 0
    out = capsys.readouterr().out
    assert "生後4か月未満（4か月になる前日まで）" in out and "1歳未満（1歳になる前日まで）" in out
    assert "料金の「何回目」: 3つの型を合わせて数えます" in out
