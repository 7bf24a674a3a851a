"""Broken rules files: every mistake is named with its line and dotted field path."""
import pytest

from scheduling.rules import RulesError, load_rules, parse_rules

GOOD = '''[city]
name = "テスト市"

[[versions]]
effective_from = 2025-04-01
label = "令和7年度"
offered = ["day_care"]

[versions.caps]
total = 7

[versions.types.day_care]
age = { max = 4, unit = "months" }

[[versions.types.day_care.fees]]
from_use = 1
welfare = 0
tax_exempt = 0
taxed = 1500

[[versions]]
effective_from = 2026-04-01
label = "令和8年度"
offered = ["day_care"]

[versions.types.day_care]
age = { max = 4, unit = "months" }

[[versions.types.day_care.fees]]
from_use = 1
welfare = 0
tax_exempt = 0
taxed = 1500
'''


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, name="city.toml")
    return caught.value.problems


def test_the_good_file_loads():
    rules = parse_rules(GOOD)
    assert [v.label for v in rules.versions] == ["令和7年度", "令和8年度"]


def test_typo_key():
    assert problems(GOOD.replace("total = 7", "totl = 7")) == [
        "city.toml:10: versions[0].caps.totl: unknown setting（不明な項目）; allowed: total, total_multiples, "
        "use_number, per"]
    [problem] = problems("cty = 1\n" + GOOD)
    assert problem.startswith("city.toml:1: cty: unknown setting")


def test_typo_in_the_second_version_names_its_index_and_line():
    text = GOOD.replace('age = { max = 4, unit = "months" }\n\n[[versions.types.day_care.fees]]\nfrom_use = 1\n'
                        'welfare = 0\ntax_exempt = 0\ntaxed = 1500\n', 'age = { max = 4, unit = "month" }\n'
                        '\n[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\n'
                        'taxed = 1500\n')
    assert text.count('unit = "month"') == 2
    lines = problems(text)
    assert lines == ["city.toml:13: versions[0].types.day_care.age.unit: must be one of（次のどれか）: months, days",
                     "city.toml:27: versions[1].types.day_care.age.unit: must be one of（次のどれか）: months, days"]


@pytest.mark.parametrize("old, new, expected", [
    ("max = 4, unit", "max = -1, unit", "city.toml:13: versions[0].types.day_care.age.max: must be a whole number ≥ 1"),
    ("max = 4, unit", 'max = "4", unit', "city.toml:13: versions[0].types.day_care.age.max: must be a whole number"),
    ("total = 7", "total = 7.5", "city.toml:10: versions[0].caps.total: must be a whole number ≥ 1"),
    ("taxed = 1500", "taxed = true", "city.toml:19: versions[0].types.day_care.fees[0].taxed: must be a whole number"),
    ('offered = ["day_care"]', 'offered = ["daycare"]', "city.toml:7: versions[0].offered[0]: must be one of"),
    ('offered = ["day_care"]', 'offered = "day_care"', "city.toml:7: versions[0].offered: must be a list"),
])
def test_wrong_type(old, new, expected):
    assert problems(GOOD.replace(old, new, 1))[0].startswith(expected)


@pytest.mark.parametrize("value", ['"2025-04-01"', "2025-04-01T09:00:00"])
def test_bad_date(value):
    [problem] = problems(GOOD.replace("effective_from = 2025-04-01", f"effective_from = {value}"))
    assert problem.startswith("city.toml:5: versions[0].effective_from: must be a date like 2025-04-01")


def test_impossible_date_is_a_toml_error_with_its_line():
    [problem] = problems(GOOD.replace("2026-04-01", "2026-02-30"))
    assert problem.startswith("city.toml:22: TOML syntax error")


def test_overlapping_effective_dates():
    [problem] = problems(GOOD.replace("2026-04-01", "2025-04-01"))
    assert problem.startswith("city.toml:22: versions[1].effective_from: overlaps versions[0]")
    text = GOOD.replace('label = "令和7年度"', 'label = "令和7年度"\neffective_until = 2026-04-01')
    [problem] = problems(text)
    assert problem.startswith("city.toml:7: versions[0].effective_until: overlaps versions[1]")
    assert parse_rules(text.replace("effective_until = 2026-04-01", "effective_until = 2026-03-31"))


def test_effective_until_ends_a_version():
    text = GOOD.replace('label = "令和7年度"', 'label = "令和7年度"\neffective_until = 2025-09-30')
    from datetime import date
    rules = parse_rules(text)
    assert rules.in_force(date(2025, 9, 30)).label == "令和7年度"
    assert rules.in_force(date(2025, 10, 1)) is None
    assert rules.in_force(date(2026, 4, 1)).label == "令和8年度"


def test_missing_fee_for_an_offered_type():
    [problem] = problems(GOOD.replace("tax_exempt = 0\ntaxed = 1500\n\n[[versions]]", "taxed = 1500\n\n[[versions]]"))
    assert problem.startswith("city.toml:15: versions[0].types.day_care.fees[0].tax_exempt: is required")
    text = GOOD.replace('\n[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\n'
                        'taxed = 1500\n\n[[versions]]', '\n[[versions]]')
    [problem] = problems(text)
    assert problem.startswith("city.toml:12: versions[0].types.day_care.fees: is required")


def test_offered_type_without_its_table():
    [problem] = problems(GOOD.replace('offered = ["day_care"]', 'offered = ["day_care", "home_visit"]', 1))
    assert problem.startswith("city.toml:7: versions[0].offered: home_visit is offered but there is no")


def test_toml_syntax_error_names_its_line():
    [problem] = problems(GOOD.replace("total = 7", "total = = 7"))
    assert problem.startswith("city.toml:10: TOML syntax error")


def test_several_mistakes_are_reported_together_in_line_order():
    text = GOOD.replace("total = 7", "total = 0").replace("welfare = 0", "welfar = 0", 1)
    found = problems(text.replace('name = "テスト市"', 'name = ""'))
    assert [p.split(":")[1] for p in found] == ["2", "10", "15", "17"]


@pytest.mark.parametrize("old, new, expected", [
    ("total = 7", "total = 7\ntotal_multiples = 14\nuse_number = \"all\"", "versions[0].caps.use_number: must be"),
    ("[versions.caps]", '[versions.eligibility]\nmode = "needs"\n\n[versions.caps]',
     "versions[0].eligibility.needs: must list"),
    ("[versions.caps]", '[versions.exclusions]\nitems = ["infection"]\ndoctor_clearance = ["hospital"]\n\n[versions.caps]',
     "versions[0].exclusions.doctor_clearance[0]: hospital is not in items"),
    ("from_use = 1", "from_use = 2", "versions[0].types.day_care.fees[0].from_use: the first tier must start at use 1"),
    ("max = 4, unit", "min = 4, max = 4, unit", "versions[0].types.day_care.age.max: must be greater than min"),
    ("[versions.caps]", "[versions.application]\nfrom_pregnancy_week = 50\n\n[versions.caps]",
     "versions[0].application.from_pregnancy_week: must be a pregnancy week"),
    ('age = { max = 4, unit = "months" }', 'age = { max = 4 }\ncount = "day"', "versions[0].types.day_care.count: unknown"),
])
def test_other_mistakes(old, new, expected):
    assert expected in problems(GOOD.replace(old, new, 1))[0]


def test_missing_file(tmp_path):
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path / "nothing.toml")
    assert "nothing.toml" in caught.value.problems[0]
