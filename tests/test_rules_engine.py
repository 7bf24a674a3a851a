"""The rule engine and next_question: a table of personas over every setting (pure, fast)."""
import re
from datetime import date
from pathlib import Path

import pytest

from scheduling.rules import (
    QUESTION_TEXTS_EN,
    QUESTION_TEXTS_JA,
    decide,
    load_rules,
    next_question,
    parse_rules,
    question_for,
    render_reason,
)
from scheduling.rules.periods import add_months, pregnancy_week
from scheduling.rules.questions import ALL_KEYS

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "config" / "rules"
HAGUKUMI = load_rules(RULES / "hagukumi.toml")
OITA = load_rules(RULES / "oita.toml")
YOTSUKAIDO = load_rules(RULES / "yotsukaido.toml")

FY2025 = date(2025, 6, 1)
MOTHER = {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20", "babies": 1,
          "need:family_help": "yes", "exclusions": "none"}


def status(rule_set, answers, on, type_name="short_stay", **kw):
    return decide(rule_set, answers, on_date=on, **kw).results[type_name].status


def reasons(rule_set, answers, on, type_name="short_stay", **kw):
    return [r.key.removeprefix("screening.reason.")
            for r in decide(rule_set, answers, on_date=on, **kw).results[type_name].reasons]


def custom(version_body: str, *, city="テスト市") -> object:
    """A one-version rules file; `version_body` is TOML after [[versions]] (offered + tables)."""
    return parse_rules(f'[city]\nname = "{city}"\n\n[[versions]]\neffective_from = 2025-04-01\n{version_body}',
                       name="custom.toml")


FEES = "[[versions.types.{t}.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 1000\n"


def one_type(type_name="day_care", age='{ max = 4 }', extra="", type_extra=""):
    return custom(f'offered = ["{type_name}"]\n{extra}\n[versions.types.{type_name}]\nage = {age}\n{type_extra}\n'
                  + FEES.format(t=type_name))


# --- the example files and versions --------------------------------------------------------------

def test_example_files_load_cleanly():
    assert [v.label for v in HAGUKUMI.versions] == ["令和7年度", "令和8年度"]
    assert OITA.city == "大分市" and YOTSUKAIDO.city == "四街道市"
    assert YOTSUKAIDO.versions[0].types["short_stay"].count == "day"


@pytest.mark.parametrize("on, mode", [(date(2026, 3, 31), "needs"), (date(2026, 4, 1), "anyone"),
                                      (date(2026, 4, 2), "anyone")])
def test_rules_switch_on_their_effective_date(on, mode):
    assert HAGUKUMI.in_force(on).eligibility.mode == mode
    answers = {**MOTHER, "birth_date": "2026-02-01"}
    del answers["need:family_help"]
    expected = "needs_check" if mode == "needs" else "eligible"
    assert status(HAGUKUMI, answers, on, "day_care") == expected


def test_no_rules_in_force_before_the_first_version():
    decision = decide(HAGUKUMI, MOTHER, on_date=date(2025, 3, 31))
    assert decision.version is None and decision.results == {}
    assert decision.reasons[0].key == "screening.reason.no_rules"
    assert next_question(HAGUKUMI, {}, date(2025, 3, 31)) is None


# --- dates ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("start, months, expected", [
    (date(2025, 1, 15), 1, date(2025, 2, 15)), (date(2025, 1, 31), 1, date(2025, 3, 1)),
    (date(2024, 1, 29), 1, date(2024, 2, 29)), (date(2024, 1, 30), 1, date(2024, 3, 1)),
    (date(2025, 10, 31), 4, date(2026, 3, 1)), (date(2024, 2, 29), 12, date(2025, 3, 1)),
    (date(2025, 11, 30), 3, date(2026, 3, 1)), (date(2025, 12, 31), 2, date(2026, 3, 1)),
])
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_pregnancy_week():
    assert pregnancy_week(date(2025, 9, 1), date(2025, 9, 1)) == (40, 0)
    assert pregnancy_week(date(2025, 9, 1), date(2025, 6, 9)) == (28, 0)
    assert pregnancy_week(date(2025, 9, 1), date(2025, 6, 8)) == (27, 6)


# --- age windows: the day before, of and after each boundary -----------------------------------------

@pytest.mark.parametrize("on, expected", [(date(2025, 8, 19), "eligible"), (date(2025, 8, 20), "not_eligible"),
                                          (date(2025, 8, 21), "not_eligible")])
def test_short_stay_under_4_months_at_start(on, expected):
    answers = {**MOTHER, "preterm": "no"}
    assert status(HAGUKUMI, answers, on) == expected


def test_age_over_names_the_rule():
    assert reasons(HAGUKUMI, {**MOTHER, "preterm": "no"}, date(2025, 8, 20)) == ["age_over_months"]
    text = render_reason(decide(HAGUKUMI, {**MOTHER, "preterm": "no"}, on_date=date(2025, 8, 20))
                         .results["short_stay"].reasons[0])
    assert "生後4か月" in text


@pytest.mark.parametrize("on, expected", [(date(2026, 4, 20), "eligible"), (date(2026, 4, 21), "not_eligible"),
                                          (date(2026, 4, 22), "not_eligible")])
def test_home_visit_under_12_months_no_correction(on, expected):
    answers = {**MOTHER, "birth_date": "2025-04-21"}
    assert status(HAGUKUMI, answers, on, "home_visit") == expected


@pytest.mark.parametrize("start, nights, expected", [
    (date(2026, 4, 8), 1, "eligible"),       # last day 04-09
    (date(2026, 4, 9), 1, "not_eligible"),   # last day 04-10 = 5 months
    (date(2026, 4, 8), 2, "not_eligible"),   # last day 04-10
    (date(2026, 4, 7), 2, "eligible"),       # last day 04-09
])
def test_short_stay_checked_at_the_last_day(start, nights, expected):
    answers = {**MOTHER, "birth_date": "2025-11-10", "preterm": "no"}
    assert status(HAGUKUMI, answers, start, nights=nights) == expected


@pytest.mark.parametrize("on, expected", [(date(2025, 5, 28), "not_eligible"), (date(2025, 5, 29), "eligible"),
                                          (date(2025, 5, 30), "eligible"), (date(2025, 8, 28), "eligible"),
                                          (date(2025, 8, 29), "not_eligible"), (date(2025, 8, 30), "not_eligible")])
def test_window_in_days_with_a_lower_bound(on, expected):
    rules = one_type(age='{ min = 28, max = 120, unit = "days" }')
    answers = {"relationship": "birth", "residence": "resident", "birth_date": "2025-05-01"}
    assert status(rules, answers, on, "day_care") == expected


def test_lower_bound_in_months_tells_the_date():
    rules = one_type(age='{ min = 2, max = 5 }')
    decision = decide(rules, {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20"},
                      on_date=date(2025, 6, 19))
    assert decision.results["day_care"].reasons[0].params["date"] == "2025-06-20"
    assert status(rules, {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20"},
                  date(2025, 6, 20), "day_care") == "eligible"


# --- corrected age ---------------------------------------------------------------------------------

PRETERM = {**MOTHER, "birth_date": "2025-03-01"}


def test_corrected_age_is_asked_only_when_it_matters():
    decision = decide(HAGUKUMI, PRETERM, on_date=date(2025, 7, 5))
    assert decision.results["short_stay"].missing == ("preterm",)
    assert decision.results["home_visit"].status == "eligible"
    assert next_question(HAGUKUMI, PRETERM, date(2025, 7, 5)).key == "preterm"
    assert next_question(HAGUKUMI, {**PRETERM, "preterm": "yes"}, date(2025, 7, 5)).key == "due_date"
    assert next_question(HAGUKUMI, MOTHER, FY2025) is None    # a young baby: not asked


@pytest.mark.parametrize("on, expected", [(date(2025, 8, 14), "eligible"), (date(2025, 8, 15), "not_eligible"),
                                          (date(2025, 8, 16), "not_eligible")])
def test_corrected_age_boundary(on, expected):
    answers = {**PRETERM, "preterm": "yes", "due_date": "2025-04-15"}
    assert status(HAGUKUMI, answers, on) == expected


def test_corrected_age_reasons():
    answers = {**PRETERM, "preterm": "yes", "due_date": "2025-04-15"}
    assert "corrected_age" in reasons(HAGUKUMI, answers, date(2025, 7, 5))
    assert reasons(HAGUKUMI, answers, date(2025, 8, 15)) == ["age_over_corrected_months"]
    assert reasons(HAGUKUMI, {**PRETERM, "preterm": "no"}, date(2025, 7, 5)) == ["age_over_months"]
    # far beyond any correction (a due date is at most 18 weeks after a live birth): not asked
    old = decide(HAGUKUMI, {**MOTHER, "birth_date": "2024-12-01"}, on_date=date(2025, 8, 6))
    assert old.results["short_stay"].status == "not_eligible" and not old.results["short_stay"].missing
    assert decide(HAGUKUMI, {**MOTHER, "birth_date": "2024-12-01"},
                  on_date=date(2025, 8, 5)).results["short_stay"].missing == ("preterm",)
    assert status(OITA, {**PRETERM, "preterm": "yes", "due_date": "2025-04-15"}, date(2025, 7, 5)) == "not_eligible"


# --- who counts ------------------------------------------------------------------------------------

@pytest.mark.parametrize("relationship, rules, expected", [
    ("adoptive", HAGUKUMI, "eligible"), ("foster", HAGUKUMI, "eligible"), ("other", HAGUKUMI, "needs_check"),
    ("foster", one_type(extra='[versions.eligibility]\nmothers = ["birth", "adoptive"]'), "not_eligible"),
])
def test_relationship(relationship, rules, expected):
    answers = {**MOTHER, "relationship": relationship}
    assert status(rules, answers, FY2025, rules.versions[0].offered[0]) == expected


def test_after_loss_within_the_window():
    answers = {**MOTHER, "relationship": "after_loss", "loss_date": "2025-05-10"}
    del answers["birth_date"]
    assert status(HAGUKUMI, answers, date(2026, 3, 31)) == "eligible"
    lost = {**answers, "loss_date": "2025-04-20"}
    assert status(HAGUKUMI, lost, date(2026, 4, 19), "day_care") == "eligible"
    assert status(HAGUKUMI, lost, date(2026, 4, 20), "day_care") == "not_eligible"
    assert reasons(HAGUKUMI, lost, date(2026, 4, 20), "day_care") == ["after_loss_over"]
    # a short stay is checked on its last day (令和8年度): 1泊2日 from 04-19 ends on 04-20
    assert status(HAGUKUMI, lost, date(2026, 4, 18)) == "eligible"
    assert status(HAGUKUMI, lost, date(2026, 4, 19)) == "not_eligible"
    no_loss = one_type(extra="[versions.eligibility]\nafter_loss = false")
    assert status(no_loss, answers, FY2025, "day_care") == "not_eligible"
    assert next_question(no_loss, {"relationship": "after_loss"}, FY2025) is None


@pytest.mark.parametrize("residence, rules, expected", [
    ("resident", HAGUKUMI, "eligible"), ("satogaeri", HAGUKUMI, "eligible"), ("satogaeri", OITA, "not_eligible"),
    ("other", HAGUKUMI, "not_eligible"), ("moving_in", HAGUKUMI, "needs_check"),
])
def test_residence(residence, rules, expected):
    assert status(rules, {**MOTHER, "residence": residence}, FY2025, "day_care") == expected


def test_non_residents_accepted_skips_the_question():
    rules = one_type(extra="[versions.eligibility]\nnon_residents = true")
    assert next_question(rules, {"relationship": "birth"}, FY2025).key == "birth_date"
    assert status(rules, {"relationship": "birth", "birth_date": "2025-04-20", "residence": "other"},
                  FY2025, "day_care") == "eligible"


# --- needs ------------------------------------------------------------------------------------------

NO_NEEDS = {k: v for k, v in MOTHER.items() if not k.startswith("need:")}


@pytest.mark.parametrize("needs, expected", [
    ({"need:family_help": "yes"}, "eligible"),
    ({"need:family_help": "no", "need:unwell": "no", "need:anxiety": "yes"}, "eligible"),
    ({"need:family_help": "no", "need:unwell": "no", "need:anxiety": "no"}, "not_eligible"),
    ({"need:family_help": "no", "need:unwell": "unsure", "need:anxiety": "no"}, "needs_check"),
    ({"need:family_help": "no"}, "needs_check"),
])
def test_needs_any_of(needs, expected):
    assert status(HAGUKUMI, {**NO_NEEDS, **needs}, FY2025, "day_care") == expected


def test_needs_all_of():
    rules = one_type(extra='[versions.eligibility]\nmode = "needs"\nneeds = ["family_help", "anxiety"]\n'
                           'needs_match = "all"')
    base = {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20"}
    assert status(rules, {**base, "need:family_help": "yes", "need:anxiety": "yes"}, FY2025, "day_care") == "eligible"
    assert status(rules, {**base, "need:family_help": "no"}, FY2025, "day_care") == "not_eligible"
    assert next_question(rules, {**base, "need:family_help": "no"}, FY2025) is None        # stops at once
    assert next_question(rules, {**base, "need:family_help": "yes"}, FY2025).key == "need:anxiety"


def test_needs_not_asked_when_anyone_in_need():
    answers = {k: v for k, v in NO_NEEDS.items() if k != "exclusions"}
    assert next_question(HAGUKUMI, {**answers, "birth_date": "2026-05-01"}, date(2026, 6, 1)).key == "exclusions"


# --- exclusions and the doctor's clearance ---------------------------------------------------------------

SOME = {**MOTHER, "exclusions": "some"}


@pytest.mark.parametrize("answers, expected, reason", [
    ({"exclusion:infection": "yes"}, "not_eligible", "exclusion.infection"),
    ({"exclusion:hospital": "yes"}, "not_eligible", "exclusion.hospital"),
    ({"exclusion:infection": "no", "exclusion:hospital": "no", "exclusion:medical_care": "yes",
      "doctor_clearance": "yes"}, "eligible", "doctor_cleared"),
    ({"exclusion:infection": "no", "exclusion:hospital": "no", "exclusion:medical_care": "yes",
      "doctor_clearance": "no"}, "not_eligible", "exclusion.medical_care"),
    ({"exclusion:infection": "no", "exclusion:hospital": "no", "exclusion:medical_care": "yes",
      "doctor_clearance": "not_yet"}, "needs_check", "doctor_not_yet"),
    ({"exclusion:infection": "unsure", "exclusion:hospital": "no", "exclusion:medical_care": "no"},
     "needs_check", "exclusion_unsure.infection"),
    ({"exclusion:infection": "no", "exclusion:hospital": "no", "exclusion:medical_care": "no"},
     "needs_check", "exclusions_unclear"),
])
def test_exclusions(answers, expected, reason):
    assert status(HAGUKUMI, {**SOME, **answers}, FY2025, "day_care") == expected
    assert reason in reasons(HAGUKUMI, {**SOME, **answers}, FY2025, "day_care")


def test_exclusions_unsure_needs_a_staff_check():
    assert status(HAGUKUMI, {**MOTHER, "exclusions": "unsure"}, FY2025) == "needs_check"


def test_exclusion_without_override_stops_at_once():
    assert next_question(HAGUKUMI, SOME, FY2025).key == "exclusion:infection"
    assert next_question(HAGUKUMI, {**SOME, "exclusion:infection": "yes"}, FY2025) is None
    medical = {**SOME, "exclusion:infection": "no", "exclusion:hospital": "no", "exclusion:medical_care": "yes"}
    assert next_question(HAGUKUMI, medical, FY2025).key == "doctor_clearance"


@pytest.mark.parametrize("item", ["siblings", "household_fever"])
def test_optional_exclusions_with_and_without_clearance(item):
    strict = one_type(extra=f'[versions.exclusions]\nitems = ["{item}"]')
    lenient = one_type(extra=f'[versions.exclusions]\nitems = ["{item}"]\ndoctor_clearance = ["{item}"]')
    answers = {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20",
               "exclusions": "some", f"exclusion:{item}": "yes"}
    assert status(strict, answers, FY2025, "day_care") == "not_eligible"
    assert status(lenient, {**answers, "doctor_clearance": "yes"}, FY2025, "day_care") == "eligible"
    assert status(lenient, {**answers, "doctor_clearance": "no"}, FY2025, "day_care") == "not_eligible"


def test_pregnant_women_are_not_asked_about_health():
    answers = {"relationship": "pregnant", "residence": "resident", "due_date": "2025-09-01",
               "need:family_help": "yes", "babies": 1}
    assert next_question(HAGUKUMI, answers, FY2025) is None
    assert "health_checked_later" in reasons(HAGUKUMI, answers, date(2025, 6, 9))


# --- application window (pregnancy) ---------------------------------------------------------------------

PREGNANT = {"relationship": "pregnant", "residence": "resident", "due_date": "2025-09-01",
            "need:family_help": "yes", "babies": 1}


@pytest.mark.parametrize("on, expected", [(date(2025, 6, 8), "not_eligible"), (date(2025, 6, 9), "eligible"),
                                          (date(2025, 6, 10), "eligible")])
def test_application_from_week_28(on, expected):
    assert status(HAGUKUMI, PREGNANT, on) == expected


def test_application_window_reasons():
    assert reasons(HAGUKUMI, PREGNANT, date(2025, 6, 8))[0] == "apply_from"
    assert reasons(HAGUKUMI, PREGNANT, date(2025, 6, 9), "home_visit") == ["apply_after_birth"]
    assert reasons(OITA, PREGNANT, date(2025, 8, 1), "short_stay") == ["apply_after_birth"]
    assert "use_after_birth_months" in reasons(HAGUKUMI, PREGNANT, date(2025, 6, 9))


# --- caps ----------------------------------------------------------------------------------------------

def visits(n, start="2025-05-01"):
    return [{"type": "home_visit", "start": start} for _ in range(n)]


def test_remaining_uses_and_caps_reached_exactly():
    six = decide(HAGUKUMI, MOTHER, on_date=FY2025, existing_uses=visits(6))
    assert six.remaining_total == 1 and six.results["day_care"].status == "eligible"
    assert six.results["day_care"].remaining == 1
    seven = decide(HAGUKUMI, MOTHER, on_date=FY2025, existing_uses=visits(7))
    assert seven.remaining_total == 0
    assert {r.status for r in seven.results.values()} == {"not_eligible"}
    assert reasons(HAGUKUMI, MOTHER, FY2025, existing_uses=visits(7)) == ["cap_reached"]


def test_type_cap():
    stays = [{"type": "short_stay", "start": "2025-05-01", "nights": 6}]
    decision = decide(HAGUKUMI, MOTHER, on_date=FY2025, existing_uses=stays)
    assert decision.results["short_stay"].status == "not_eligible"
    assert decision.results["day_care"].status == "eligible" and decision.results["day_care"].remaining == 1
    five = decide(HAGUKUMI, MOTHER, on_date=FY2025, existing_uses=[{**stays[0], "nights": 5}])
    assert five.results["short_stay"].remaining == 1 and five.results["short_stay"].status == "eligible"
    assert status(HAGUKUMI, MOTHER, FY2025, existing_uses=[{**stays[0], "nights": 5}], nights=2) == "not_eligible"


def test_multiples_cap():
    twins = {**MOTHER, "babies": 2}
    decision = decide(HAGUKUMI, twins, on_date=FY2025, existing_uses=visits(7))
    assert decision.remaining_total == 7 and decision.results["day_care"].status == "eligible"
    assert decide(HAGUKUMI, twins, on_date=FY2025, existing_uses=visits(14)).results["day_care"].status == \
        "not_eligible"
    unknown = {k: v for k, v in MOTHER.items() if k != "babies"}
    assert decide(HAGUKUMI, unknown, on_date=FY2025, existing_uses=visits(7)).results["day_care"].missing == \
        ("babies",)
    assert next_question(HAGUKUMI, unknown, FY2025, existing_uses=visits(7)).key == "babies"
    # a city without a multiples cap never asks the number of babies
    assert next_question(OITA, {k: v for k, v in unknown.items()}, FY2025) is None


@pytest.mark.parametrize("count, nights, expected", [("night", 2, 2), ("day", 2, 3), ("stay", 2, 1)])
def test_how_a_stay_counts(count, nights, expected):
    rules = one_type("short_stay", type_extra=f'count = "{count}"', extra="[versions.caps]\ntotal = 7")
    decision = decide(rules, {**MOTHER}, on_date=FY2025,
                      existing_uses=[{"type": "short_stay", "start": "2025-05-01", "nights": nights}])
    assert decision.remaining_total == 7 - expected


def test_yotsukaido_1_night_2_days():
    stays = [{"type": "short_stay", "start": "2025-05-01", "nights": 2},
             {"type": "short_stay", "start": "2025-05-10", "nights": 1}]         # 3 + 2 = 5 days
    decision = decide(YOTSUKAIDO, MOTHER, on_date=FY2025, existing_uses=stays)
    assert decision.remaining_total == 2
    assert decision.results["short_stay"].status == "eligible"                  # 1泊2日 = 2 days: fits
    assert status(YOTSUKAIDO, MOTHER, FY2025, existing_uses=stays, nights=2) == "not_eligible"
    assert reasons(YOTSUKAIDO, MOTHER, FY2025, existing_uses=stays, nights=2) == ["cap_short"]
    more = stays + visits(1)
    assert reasons(YOTSUKAIDO, MOTHER, FY2025, existing_uses=more) == ["cap_short"]
    assert status(YOTSUKAIDO, MOTHER, FY2025, "day_care", existing_uses=more) == "eligible"


# --- fees ------------------------------------------------------------------------------------------------

def fee(rule_set, answers, type_name="short_stay", **kw):
    f = decide(rule_set, answers, on_date=FY2025, **kw).results[type_name].fee_per_use
    return (f.low, f.high)


@pytest.mark.parametrize("household, expected", [("taxed", (2500, 2500)), ("tax_exempt", (0, 0)),
                                                 ("welfare", (0, 0)), ("unknown", (0, 2500)), (None, (0, 2500))])
def test_fee_by_household_class(household, expected):
    assert fee(HAGUKUMI, {**MOTHER, "household": household}) == expected


def test_fee_by_use_number_and_extra_baby():
    taxed = {**MOTHER, "household": "taxed"}
    assert fee(HAGUKUMI, taxed, existing_uses=visits(4)) == (2500, 2500)      # use 5
    assert fee(HAGUKUMI, taxed, existing_uses=visits(5)) == (5000, 5000)      # use 6
    assert fee(HAGUKUMI, {**taxed, "babies": 2}) == (3500, 3500)
    assert fee(HAGUKUMI, {**taxed, "babies": 3}, existing_uses=visits(5)) == (7000, 7000)
    assert fee(HAGUKUMI, {**MOTHER, "household": "tax_exempt"}, "home_visit") == (500, 500)
    assert fee(YOTSUKAIDO, {**MOTHER, "household": "tax_exempt"}, "home_visit") == (660, 660)
    assert fee(OITA, {**MOTHER, "household": "unknown"}, "short_stay") == (0, 3500)


def test_fee_use_number_per_type():
    rules = custom('offered = ["day_care", "home_visit"]\n[versions.caps]\nuse_number = "type"\n'
                   '[versions.types.day_care]\nage = { max = 4 }\n' + FEES.format(t="day_care") +
                   '[[versions.types.day_care.fees]]\nfrom_use = 2\nwelfare = 0\ntax_exempt = 0\ntaxed = 9000\n'
                   '[versions.types.home_visit]\nage = { max = 12 }\n' + FEES.format(t="home_visit"))
    taxed = {**MOTHER, "household": "taxed"}
    assert fee(rules, taxed, "day_care", existing_uses=visits(3)) == (1000, 1000)
    assert fee(rules, taxed, "day_care", existing_uses=[{"type": "day_care", "start": "2025-05-01"}]) == (9000, 9000)


# --- next_question ---------------------------------------------------------------------------------------

def walk(rule_set, on, persona, *, fees=False, uses=()):
    """Answer next_question until it returns None; the keys asked, in order."""
    answers, asked = {}, []
    while (question := next_question(rule_set, answers, on, fees=fees, existing_uses=uses)) is not None:
        assert question.key not in asked, f"asked {question.key} twice"
        asked.append(question.key)
        answers[question.key] = persona[question.key]
    return asked, answers


TYPICAL = {"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20", "preterm": "no",
           "need:family_help": "yes", "need:unwell": "no", "need:anxiety": "no", "exclusions": "none",
           "babies": 1, "household": "taxed", "due_date": "2025-09-01"}


def test_typical_mother_order_and_at_most_6_questions():
    asked, answers = walk(HAGUKUMI, FY2025, TYPICAL)
    assert asked == ["relationship", "residence", "birth_date", "need:family_help", "exclusions", "babies"]
    assert {r.status for r in decide(HAGUKUMI, answers, on_date=FY2025).results.values()} == {"eligible"}
    asked, _ = walk(HAGUKUMI, date(2026, 6, 1), {**TYPICAL, "birth_date": "2026-05-01"})
    assert asked == ["relationship", "residence", "birth_date", "exclusions", "babies"]
    for rules in (OITA, YOTSUKAIDO):
        asked, _ = walk(rules, FY2025, TYPICAL)
        assert len(asked) <= 6 and asked[2] == "birth_date"


def test_typical_pregnant_woman():
    asked, _ = walk(HAGUKUMI, date(2025, 7, 1), {**TYPICAL, "relationship": "pregnant"})
    assert asked == ["relationship", "residence", "due_date", "need:family_help", "babies"]


def test_household_is_asked_only_for_a_fee_estimate():
    asked, answers = walk(HAGUKUMI, FY2025, TYPICAL, fees=True)
    assert asked[-1] == "household" and len(asked) == 7
    assert "household" not in walk(HAGUKUMI, FY2025, TYPICAL)[0]
    all_free = custom('offered = ["day_care"]\n[versions.types.day_care]\nage = { max = 4 }\n'
                      '[[versions.types.day_care.fees]]\nwelfare = 0\ntax_exempt = 0\ntaxed = 0\n')
    assert "household" not in walk(all_free, FY2025, TYPICAL, fees=True)[0]


@pytest.mark.parametrize("persona, expected", [
    ({"relationship": "birth", "residence": "other"}, ["relationship", "residence"]),
    ({"relationship": "birth", "residence": "resident", "birth_date": "2024-01-01", "preterm": "no"},
     ["relationship", "residence", "birth_date"]),
    ({"relationship": "birth", "residence": "resident", "birth_date": "2025-04-20", "need:family_help": "no",
      "need:unwell": "no", "need:anxiety": "no"},
     ["relationship", "residence", "birth_date", "need:family_help", "need:unwell", "need:anxiety"]),
    ({**TYPICAL, "exclusions": "some", "exclusion:infection": "yes"},
     ["relationship", "residence", "birth_date", "need:family_help", "exclusions", "exclusion:infection"]),
    ({**TYPICAL, "relationship": "pregnant", "due_date": "2025-12-01"},
     ["relationship", "residence", "due_date"]),
])
def test_early_stopping(persona, expected):
    assert walk(HAGUKUMI, FY2025, persona)[0] == expected


def test_preterm_baby_asks_due_date_after_preterm():
    persona = {**TYPICAL, "birth_date": "2025-03-01", "preterm": "yes", "due_date": "2025-04-15"}
    asked, answers = walk(HAGUKUMI, date(2025, 7, 5), persona)
    assert asked[:5] == ["relationship", "residence", "birth_date", "preterm", "due_date"]
    assert decide(HAGUKUMI, answers, on_date=date(2025, 7, 5)).results["short_stay"].status == "eligible"


# --- questions and texts ---------------------------------------------------------------------------------

def all_questions():
    version = HAGUKUMI.versions[0]
    return [question_for(key, version, FY2025) for key in ALL_KEYS]


def test_every_question_option_and_reason_has_texts_in_both_languages():
    keys = set()
    for q in all_questions():
        keys.add(q.text_key)
        keys.update(label for _, label in q.options)
        keys.update(q.details)
    source = (ROOT / "scheduling" / "rules" / "engine.py").read_text(encoding="utf-8")
    for name in re.findall(r'_reason\(f?"([^"]+)"', source):
        if "{" in name:
            prefix = name.split("{")[0]
            assert any(k.startswith(f"screening.reason.{prefix}") for k in QUESTION_TEXTS_JA), name
        else:
            keys.add(f"screening.reason.{name}")
    for item in ("infection", "hospital", "medical_care", "siblings", "household_fever"):
        keys.update({f"screening.reason.exclusion.{item}", f"screening.reason.exclusion_unsure.{item}"})
    for unit in ("months", "days"):
        keys.update(f"screening.reason.{k}_{unit}" for k in ("age_under", "age_over", "age_over_corrected",
                                                             "use_after_birth"))
    missing_ja = sorted(k for k in keys if k not in QUESTION_TEXTS_JA)
    missing_en = sorted(k for k in keys if k not in QUESTION_TEXTS_EN)
    assert not missing_ja and not missing_en
    assert set(QUESTION_TEXTS_JA) == set(QUESTION_TEXTS_EN)


def test_choice_labels_fit_line():
    for q in all_questions():
        if q.kind == "choice":
            assert 2 <= len(q.options) <= 13
            for _, label in q.options:
                assert len(QUESTION_TEXTS_JA[label]) <= 20 and len(QUESTION_TEXTS_EN[label]) <= 20, label
        else:
            assert q.kind == "date" and q.min_date < q.max_date


def test_sensitive_questions_are_choices_or_dates():
    sensitive = {q.key for q in all_questions() if q.sensitive}
    assert {"relationship", "preterm", "exclusions", "doctor_clearance", "household"} <= sensitive
    assert all(q.kind in ("choice", "date") for q in all_questions())


def test_reason_texts_render_with_dates():
    decision = decide(HAGUKUMI, PREGNANT, on_date=date(2025, 6, 8))
    text = render_reason(decision.results["short_stay"].reasons[0])
    assert text == "妊娠28週（2025年6月9日(月)）からお申し込みいただけます。"  # the chat's one date style
    assert "9 June 2025" in render_reason(decision.results["short_stay"].reasons[0], "en")


def test_a_total_across_a_tier_is_the_sum_of_each_units_fee():
    from scheduling.rules import total_fee
    stay = HAGUKUMI.in_force(date(2026, 12, 1)).types["short_stay"]   # taxed: 2,500, from the 6th use 5,000
    assert total_fee(stay, 4, 3, "taxed").low == 2500 + 2500 + 5000
    assert total_fee(stay, 1, 2, "taxed").low == 5000
    assert total_fee(stay, 6, 1, "taxed").low == 5000
    unknown = total_fee(stay, 5, 2, None)
    assert (unknown.low, unknown.high) == (0, 7500)
