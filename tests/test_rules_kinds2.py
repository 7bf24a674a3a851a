"""The rule kinds of the format's second edition, continued (issue 15): after a loss per type (7), rules that
differ by facility (3), counting by child and caps per 年度 or per birth (11), the household class that
changes in the year (12). For each: the engine's decision, what she is asked and told, the validator's words."""
import pytest

from dialogs.core import Say
from scheduling.rules import decide, next_question
from tests.test_rules_kinds import MOTHER, ON, Chat, keys_of, problems, result, rules, types

# --- 7. After a stillbirth or miscarriage, per type --------------------------------------------------

LOSS = rules(types("short_stay", "day_care", "home_visit",
                   version=('\n[versions.eligibility]\nafter_loss_months = 12\n'
                            '\n[versions.exclusions]\nitems = ["infection", "siblings"]\n'
                            '\n[versions.caps]\ntotal = 7\ntotal_multiples = 14\n'),
                   short_stay="after_loss_months = 4\n", day_care="after_loss = false\n"))
LOST = {"relationship": "after_loss", "residence": "resident", "loss_date": "2025-06-20", "exclusions": "none"}


def test_after_loss_each_type_has_its_own_window_from_the_end_of_the_pregnancy():
    decision = decide(LOSS, LOST, on_date=ON)          # 5 months after the loss
    assert decision.results["short_stay"].status == "not_eligible"
    assert [(r.key, r.params) for r in decision.results["short_stay"].reasons] == [
        ("screening.reason.after_loss_over", {"months": 4})]
    assert decision.results["home_visit"].status == "eligible"          # the version's 12 months
    assert keys_of(decision.results["day_care"]) == ["after_loss_type"]
    early = decide(LOSS, {**LOST, "loss_date": "2025-08-01"}, on_date=ON)   # under 4 months
    assert early.results["short_stay"].status == "eligible"
    assert decide(LOSS, {**LOST, "loss_date": "2025-07-23"}, on_date=ON).results["short_stay"].status == \
        "not_eligible"                                                  # 4 months to the day: 未満 ends


def test_after_loss_she_is_asked_nothing_about_a_baby():
    answers = {k: v for k, v in LOST.items() if k != "exclusions"}
    asked = []
    while (question := next_question(LOSS, {**answers, **dict.fromkeys(asked, "no")}, ON, fees=True)) is not None:
        assert question.key not in ("babies", "preterm", "birth_date"), question.key
        asked.append(question.key)
        if question.key == "exclusions":
            answers["exclusions"] = "some"
        if question.key == "household":
            answers["household"] = "unknown"
    assert "exclusion:infection" in asked
    assert decide(LOSS, {**LOST, "loss_date": "2025-08-01"}, on_date=ON).results["short_stay"].remaining == 7


def test_after_loss_the_chat_speaks_of_her_alone():
    chat = Chat(LOSS)
    asked = chat.walk({**LOST, "exclusions": "some", "exclusion:infection": "yes", "exclusion:siblings": "no"})
    assert "babies" not in asked
    says = [s for said in chat.sent for s in said if isinstance(s, Say)]
    listing = next(s for s in says if s.key == "screening.question.exclusions")
    assert [line.key for line in listing.lines] == ["screening.detail.exclusion_mother.infection",
                                                    "screening.detail.exclusion.siblings"]
    single = next(s for s in says if s.key.endswith("exclusion_mother.infection"))
    assert single.key == "screening.question.exclusion_mother.infection"
    from bot.render import render
    everything = "".join(str(render(said, language)) for said in chat.sent for language in ("ja", "en"))
    assert "・感染症にかかっている" in everything
    assert "お母さんかお子さん" not in everything and "you or your baby" not in everything.lower()
    assert "この型は、お子さんを亡くされた方のご利用の対象になっていません" in chat.text()


def test_after_loss_rules_check_names_each_types_window(tmp_path, capsys):
    from scheduling.rules.cli import summarise
    out = summarise(LOSS)
    assert "死産・流産のあとはお産から4か月未満（この型の期間）" in out
    assert "死産・流産のあとの方は対象外" in out


@pytest.mark.parametrize("body, expected", [
    (types("day_care", version="\n[versions.eligibility]\nafter_loss = false\n", day_care="after_loss_months = 4\n"),
     "day_care.after_loss_months: is only used when eligibility.after_loss = true"),
    (types("day_care", day_care="after_loss_months = 0\n"), "day_care.after_loss_months: must be a whole number ≥ 1"),
    (types("day_care", day_care='after_loss = "no"\n'), "day_care.after_loss: must be true or false"),
    (types("day_care", day_care="after_loss = false\nafter_loss_months = 4\n"),
     "day_care.after_loss_months: is not used when after_loss = false"),
])
def test_after_loss_mistakes_are_named(body, expected):
    found = problems(body)
    assert any(expected in p for p in found), found


def test_after_loss_a_fee_by_babies_is_not_asked():
    by_baby = rules(types("day_care", day_care=(
        "[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 1000\n"
        "extra_per_baby = { welfare = 0, tax_exempt = 0, taxed = 500 }\n")))
    lost = {**LOST, "household": "taxed"}
    assert next_question(by_baby, lost, ON, fees=True) is None
    assert result(by_baby, lost).fee_per_use.low == 1000
    mother = {k: v for k, v in MOTHER.items() if k != "babies"}
    assert next_question(by_baby, {**mother, "household": "taxed"}, ON, fees=True).key == "babies"
