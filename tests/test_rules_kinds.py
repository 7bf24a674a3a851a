"""The rule kinds of the format's second edition (issue 15): for each, the engine's decision, what she is
asked and told in the chat, and the validator's words for its mistakes."""
import shutil
from datetime import date, datetime

import pytest

from bot.render import render
from dialogs import router
from dialogs.core import JST, Cards, Context, Postback, Say
from scheduling.care import providers
from scheduling.chat.desk import Desk
from scheduling.rules import RulesError, Use, decide, next_question, parse_rules
from scheduling.store.db import make_engine, make_sessionmaker, transaction
from tests.test_booking_dialog import Chat as BookingChat  # noqa: F401
from tests.test_booking_dialog import World, booking_config, days_offered
from tests.test_screening_dialog import CITY

ON = date(2025, 11, 23)
NOW = datetime(2025, 11, 23, 21, 0, tzinfo=JST)
MOTHER = {"relationship": "birth", "residence": "resident", "birth_date": "2025-10-20", "babies": 1,
          "exclusions": "none"}
FEE = "[[versions.types.{t}.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = {amount}\n"


def rules(body: str):
    return parse_rules(f'[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = 2025-04-01\n{body}',
                       name="city.toml")


def problems(body: str) -> list[str]:
    with pytest.raises(RulesError) as caught:
        rules(body)
    return caught.value.problems


def types(*names, version="", **per_type) -> str:
    """A version offering `names` (each under 4 months, 1,000 yen), `version` lines first; per_type[name]:
    extra lines for that type's table (placed before its fees)."""
    body = f'offered = {list(names)!r}\n{version}\n'.replace("'", '"')
    for name in names:
        extra = per_type.get(name, "")
        age = "{ max = 12 }" if name == "home_visit" else "{ max = 4 }"
        body += f"\n[versions.types.{name}]\nage = {age}\n{extra}\n"
        if "fee_text" not in extra and "[[" not in extra:
            body += FEE.format(t=name, amount=1000)
    return body


def result(rule_set, answers, type_name="day_care", **kw):
    return decide(rule_set, answers, on_date=ON, **kw).results[type_name]


def keys_of(type_result):
    return [r.key.removeprefix("screening.reason.") for r in type_result.reasons]


class _Uses:
    """The booking desk as the screening sees it: her existing uses."""

    def __init__(self, uses):
        self._uses = [Use.of(u) for u in uses]

    def uses(self):
        return self._uses


class Chat:
    """One mother tapping through the screening under the given rules (and her existing uses)."""

    def __init__(self, rule_set, uses=()):
        self.rule_set, self.state, self.sent, self.desk = rule_set, None, [], _Uses(uses) if uses else None

    def send(self, data, **params):
        ctx = Context(now=NOW, city=CITY.contact, rules=self.rule_set, desk=self.desk)
        outcome = router.handle(self.state, Postback(data, params), ctx)
        self.state = outcome.state
        self.sent.append(outcome.says)
        for language in ("ja", "en"):
            render(outcome.says, language)
        return outcome.says

    @property
    def asking(self):
        return (self.state or {}).get("asking")

    def walk(self, answers: dict):
        """Start, then answer each question from `answers` until the result; returns the keys asked."""
        asked = []
        self.send("menu:care")
        while self.asking:
            key = self.asking
            asked.append(key)
            if key.endswith("_date"):
                self.send(f"scr|a|{key}", date=answers[key])
            else:
                self.send(f"scr|a|{key}|{answers[key]}")
        return asked

    def cards(self) -> dict:
        found = next(say for say in reversed(self.sent[-1]) if isinstance(say, Cards))
        return {card.title.key.rsplit(".", 1)[1]: card for card in found.cards}

    def lines(self, type_name) -> list[tuple[str, dict]]:
        return [(line.key, dict(line.params)) for line in self.cards()[type_name].lines]

    def text(self, language="ja") -> str:
        return str(render(self.sent[-1], language))


# --- 2. "Please ask us": corrected = "ask" --------------------------------------------------------

ASK = "修正月齢を考慮できる場合があります。ご相談ください"
ASKING = rules(
    'offered = ["day_care"]\n\n[versions.types.day_care]\n'
    f'age = {{ max = 4, corrected = "ask", ask_text = "{ASK}" }}\n' + FEE.format(t="day_care", amount=1000))


def test_ask_a_preterm_baby_past_the_window_is_a_check_in_the_citys_words():
    older = {**MOTHER, "birth_date": "2025-07-10"}        # 4 months and 13 days on ON
    assert result(ASKING, older).missing == ("preterm",)
    checked = result(ASKING, {**older, "preterm": "yes"})
    assert checked.status == "needs_check" and checked.missing == ()   # no due date needed: staff decide
    assert [(r.key, r.params) for r in checked.reasons] == [("screening.reason.city_text", {"text": ASK})]
    assert result(ASKING, {**older, "preterm": "no"}).status == "not_eligible"
    assert result(ASKING, MOTHER).status == "eligible"                 # within the window: nothing asked
    far = {**older, "birth_date": "2025-01-10", "preterm": "yes"}      # past any correction (18 weeks)
    assert result(ASKING, far).status == "not_eligible"


def test_ask_she_is_asked_if_early_and_told_the_citys_text():
    chat = Chat(ASKING)
    asked = chat.walk({**MOTHER, "birth_date": "2025-07-10", "preterm": "yes", "babies": "1"})
    assert "preterm" in asked and "due_date" not in asked
    assert chat.lines("day_care")[0][0] == "screening.status.needs_check"
    assert ("screening.reason.city_text", {"text": ASK}) in chat.lines("day_care")
    assert ASK in chat.text()
    assert chat.cards()["day_care"].buttons[0].data == "scr|staff"


@pytest.mark.parametrize("age, expected", [
    ('{ max = 4, corrected = "ask" }', "age.ask_text: is required when corrected = \"ask\""),
    ('{ max = 4, corrected = "maybe" }', "age.corrected: must be true, false or \"ask\""),
    ('{ max = 4, corrected = true, ask_text = "ご相談ください" }', "age.ask_text: is only used when corrected"),
    ('{ max = 4, corrected = "ask", ask_text = "" }', "age.ask_text: is empty"),
])
def test_ask_mistakes_are_named(age, expected):
    found = problems(f'offered = ["day_care"]\n\n[versions.types.day_care]\nage = {age}\n'
                     + FEE.format(t="day_care", amount=1000))
    assert any(expected in p for p in found), found
    assert found[0].startswith("city.toml:9: versions[0].types.day_care.age")


# --- 4. Needs the mother cannot answer herself ------------------------------------------------------

STAFF_NEEDS = rules(types("day_care", version='\n[versions.eligibility]\nmode = "needs"\n'
                                               'needs = ["family_help", "unwell"]\n'
                                               'staff_needs = ["doctor_recommended", "staff_recognised"]\n'))


def test_staff_needs_saying_no_to_her_own_needs_is_a_check_not_a_refusal():
    answers = {**MOTHER, "need:family_help": "no", "need:unwell": "no"}
    checked = result(STAFF_NEEDS, answers)
    assert checked.status == "needs_check"
    assert keys_of(checked) == ["staff_need.doctor_recommended", "staff_need.staff_recognised"]
    assert result(STAFF_NEEDS, {**answers, "need:unwell": "yes"}).status == "eligible"
    without = rules(types("day_care", version='\n[versions.eligibility]\nmode = "needs"\n'
                                              'needs = ["family_help", "unwell"]\n'))
    assert result(without, answers).status == "not_eligible"             # as before when none are listed


def test_staff_needs_alone_ask_her_nothing_about_needs():
    only = rules(types("day_care", version='\n[versions.eligibility]\nmode = "needs"\n'
                                           'staff_needs = ["doctor_recommended"]\n'))
    assert result(only, MOTHER).status == "needs_check"
    assert keys_of(result(only, MOTHER)) == ["staff_need.doctor_recommended"]
    assert next_question(only, MOTHER, ON) is None


def test_staff_needs_she_hears_who_else_the_city_takes():
    chat = Chat(STAFF_NEEDS)
    asked = chat.walk({**MOTHER, "need:family_help": "no", "need:unwell": "no", "babies": "1"})
    assert {"need:family_help", "need:unwell"} <= set(asked)
    assert not any(key.startswith("need:doctor") or key.startswith("need:staff") for key in asked)
    assert chat.lines("day_care")[0][0] == "screening.status.needs_check"
    text = chat.text()
    assert "医師から産後ケアを勧められた方も対象" in text and "保健師などが支援が必要と認めた方も対象" in text
    assert "センターで確認させてください" in text


@pytest.mark.parametrize("eligibility, expected", [
    ('mode = "needs"\nneeds = ["unwell"]\nstaff_needs = ["doctor"]', "eligibility.staff_needs[0]: must be one of"),
    ('mode = "anyone"\nstaff_needs = ["doctor_recommended"]', "eligibility.staff_needs: is only used when mode"),
    ('mode = "needs"', "eligibility.needs: must list the needs"),
])
def test_staff_needs_mistakes_are_named(eligibility, expected):
    found = problems(types("day_care", version=f"\n[versions.eligibility]\n{eligibility}\n"))
    assert any(expected in p for p in found), found


# --- 5. Exclusions per type ---------------------------------------------------------------------------

PER_TYPE = rules(types("short_stay", "day_care", "home_visit", version=(
    '\n[versions.exclusions]\nitems = ["infection", "siblings"]\n'
    'applies_to = { siblings = ["short_stay", "day_care"] }\n')))


def test_per_type_an_older_child_excludes_a_stay_never_a_visit():
    answers = {**MOTHER, "exclusions": "some", "exclusion:infection": "no", "exclusion:siblings": "yes"}
    decision = decide(PER_TYPE, answers, on_date=ON)
    assert decision.results["short_stay"].status == "not_eligible"
    assert decision.results["day_care"].status == "not_eligible"
    assert decision.results["home_visit"].status == "eligible"
    assert keys_of(decision.results["day_care"]) == ["exclusion.siblings"]


def test_per_type_the_question_is_not_asked_when_only_home_visits_remain():
    old = {**MOTHER, "birth_date": "2025-05-01", "exclusions": "some"}   # past 4 months: only a visit is open
    assert next_question(PER_TYPE, {**old, "exclusions": "some"}, ON).key == "exclusion:infection"
    assert next_question(PER_TYPE, {**old, "exclusion:infection": "no"}, ON) is None
    young = {**MOTHER, "exclusions": "some", "exclusion:infection": "no"}
    assert next_question(PER_TYPE, young, ON).key == "exclusion:siblings"
    only_siblings = rules(types("short_stay", "home_visit", version=(
        '\n[versions.exclusions]\nitems = ["siblings"]\napplies_to = { siblings = ["short_stay"] }\n')))
    older = {k: v for k, v in old.items() if k != "exclusions"}
    assert next_question(only_siblings, older, ON) is None                # no exclusions question at all


def test_per_type_the_list_under_the_question_names_only_what_applies():
    chat = Chat(rules(types("short_stay", "home_visit", version=(
        '\n[versions.exclusions]\nitems = ["infection", "siblings"]\n'
        'applies_to = { siblings = ["short_stay"] }\n'))))
    asked = chat.walk({**MOTHER, "birth_date": "2025-05-01", "babies": "1"})
    assert "exclusions" in asked
    question = next(s for says in chat.sent for s in says if isinstance(s, Say) and
                    s.key == "screening.question.exclusions")
    assert [line.key for line in question.lines] == ["screening.detail.exclusion.infection"]
    chat = Chat(PER_TYPE)
    asked = chat.walk({**MOTHER, "exclusions": "some", "exclusion:infection": "no", "exclusion:siblings": "yes",
                       "babies": "1"})
    assert chat.lines("home_visit")[0][0] == "screening.status.eligible"
    assert ("screening.reason.exclusion.siblings", {}) in chat.lines("short_stay")


@pytest.mark.parametrize("exclusions, expected", [
    ('items = ["infection"]\napplies_to = { siblings = ["short_stay"] }',
     "applies_to.siblings: siblings is not in items"),
    ('items = ["siblings"]\napplies_to = { siblings = ["short_stay"] }',
     "applies_to.siblings[0]: short_stay is not offered"),
    ('items = ["siblings"]\napplies_to = { siblings = ["stay"] }', "applies_to.siblings[0]: must be one of"),
    ('items = ["siblings"]\napplies_to = { sibling = ["day_care"] }', "applies_to.sibling: unknown setting"),
    ('items = ["siblings"]\napplies_to = { siblings = [] }', "applies_to.siblings: must name at least one type"),
])
def test_per_type_mistakes_are_named(exclusions, expected):
    found = problems(types("day_care", "home_visit", version=f"\n[versions.exclusions]\n{exclusions}\n"))
    assert any(expected in p for p in found), found
    assert found[0].startswith("city.toml:10: versions[0].exclusions.applies_to")


# --- 8. Fees unknown or varying ------------------------------------------------------------------------

VARIES = "施設により異なります"
UNKNOWN_FEES = rules(types("short_stay", "day_care", version="\n[versions.caps]\ntotal = 7\n",
                           short_stay=f'fee_text = "{VARIES}"\n',
                           day_care=FEE.format(t="day_care", amount=1000) +
                           '\n[[versions.types.day_care.fees]]\nfrom_use = 3\ntext = "お問い合わせください"\n'))


def test_fee_text_is_never_a_number_nor_free():
    stay = result(UNKNOWN_FEES, {**MOTHER, "household": "welfare"}, "short_stay")
    assert stay.fee_per_use.text == VARIES and stay.fee_per_use.low is None and stay.fee_per_use.high is None
    day = result(UNKNOWN_FEES, {**MOTHER, "household": "taxed"}).fee_per_use
    assert (day.low, day.text) == (1000, "")
    third = result(UNKNOWN_FEES, {**MOTHER, "household": "taxed"},
                   existing_uses=[{"type": "day_care", "start": "2025-11-01"}] * 2).fee_per_use
    assert third.text == "お問い合わせください" and third.low is None


def test_fee_text_she_is_told_the_citys_words_not_free():
    chat = Chat(UNKNOWN_FEES)
    chat.walk({**MOTHER, "babies": "1"})
    chat.send("scr|fee")
    while chat.asking:
        chat.send(f"scr|a|{chat.asking}|welfare")
    stay = chat.lines("short_stay")
    assert ("screening.fee.text", {"text": VARIES}) in stay
    assert not any(key in ("screening.fee.free", "screening.fee.exact", "screening.fee.range") for key, _ in stay)
    assert ("screening.fee.free", {}) in chat.lines("day_care")    # the numbered tier still says its amount


def test_fee_text_the_booking_summary_names_no_amount_either():
    from dialogs.booking import _fee
    from scheduling.chat.desk import Quote
    from scheduling.rules import total_fee
    day = UNKNOWN_FEES.versions[0].types["day_care"]
    fees = tuple(total_fee(day, n, 1, "taxed") for n in (2, 3))
    quote = Quote(fees[0], 2, 5, None, None, fees, total_fee(day, 2, 2, "taxed"), 2)
    lines = [(line.key, dict(line.params)) for line in _fee(quote, units=False)]
    assert lines == [("screening.fee.text", {"text": "お問い合わせください"})]   # not 1,000 for the pair


@pytest.mark.parametrize("extra, expected", [
    ('fee_text = "お問い合わせください"\n' + FEE.format(t="day_care", amount=1),
     "day_care.fee_text: write fees or fee_text"),
    ('fee_text = ""\n', "day_care.fee_text: is empty"),
    ('fee_text = 1000\n', "day_care.fee_text: must be text"),
    ('[[versions.types.day_care.fees]]\nfrom_use = 1\ntext = "お問い合わせください"\ntaxed = 1\n',
     "day_care.fees[0].text: write the amounts or text"),
])
def test_fee_text_mistakes_are_named(extra, expected):
    found = problems(types("day_care", day_care=extra))
    assert any(expected in p for p in found), found


# --- 9. Beyond the cap at full cost -------------------------------------------------------------------

FULL = rules(types("short_stay", "day_care", version="\n[versions.caps]\ntotal = 2\n",
                   short_stay="full_price = 30000\n"))
USED = [{"type": "day_care", "start": "2025-11-01"}, {"type": "day_care", "start": "2025-11-08"}]


def test_full_price_beyond_the_cap_she_can_still_use_it():
    stay = result(FULL, MOTHER, "short_stay", existing_uses=USED)
    assert stay.status == "needs_check"
    assert [(r.key, r.params["price"]) for r in stay.reasons] == [("screening.reason.beyond_cap.night", "30,000")]
    day = result(FULL, MOTHER, existing_uses=USED)
    assert day.status == "not_eligible" and keys_of(day) == ["cap_reached"]   # no full price named: as before
    assert result(FULL, MOTHER, "short_stay").status == "eligible"


def test_full_price_she_is_told_the_price_not_only_the_cap():
    chat = Chat(FULL)
    chat.walk({**MOTHER, "babies": "1"})
    assert "全額自己負担" not in chat.text()
    chat = Chat(FULL, uses=USED)
    chat.walk({**MOTHER, "babies": "1"})
    text = chat.text()
    assert "全額自己負担（1泊 30,000円）でご利用いただけます" in text
    assert "ご利用できる回数の上限に達しています" in text          # the day care, which names no price
    assert chat.cards()["short_stay"].buttons[0].data == "scr|staff"


def test_full_price_mistakes_are_named():
    found = problems(types("day_care", day_care="full_price = 0\n"))
    assert any("day_care.full_price: must be a whole number ≥ 1" in p for p in found), found
    found = problems(types("day_care", day_care='full_price = "3万円"\n'))
    assert any("day_care.full_price: must be a whole number" in p for p in found), found
    assert problems(types("day_care", day_care="full_price = 30000\n")) == [
        "city.toml:11: versions[0].types.day_care.full_price: needs a cap to go beyond（cap か caps.total が必要です）"]


# --- 10. Notes to the mother per city and per type -------------------------------------------------------

NOTES = rules(types("day_care", "home_visit", version='note = "申請は母子手帳をお持ちのうえ、センター窓口へ。"\n',
                    home_visit='note = "訪問の日時は助産師からお電話します。"\n'))


def test_notes_are_shown_with_the_result():
    chat = Chat(NOTES)
    chat.walk({**MOTHER, "babies": "1"})
    assert ("screening.reason.city_text", {"text": "訪問の日時は助産師からお電話します。"}) in chat.lines("home_visit")
    assert not any(key == "screening.reason.city_text" for key, _ in chat.lines("day_care"))
    city_note = [s for s in chat.sent[-1] if isinstance(s, Say) and s.key == "screening.reason.city_text"]
    assert [s.params["text"] for s in city_note] == ["申請は母子手帳をお持ちのうえ、センター窓口へ。"]
    assert "母子手帳をお持ちのうえ" in chat.text("en")   # the city's own words, in every language


def test_a_type_note_is_not_shown_where_she_cannot_use_the_type():
    chat = Chat(NOTES)
    chat.walk({**MOTHER, "birth_date": "2024-09-01", "babies": "1"})    # over 1 year: no visit either
    assert not any(key == "screening.reason.city_text" for key, _ in chat.lines("home_visit"))


@pytest.mark.parametrize("body, expected", [
    (types("day_care", version='note = ""\n'), "versions[0].note: is empty"),
    (types("day_care", version="note = 3\n"), "versions[0].note: must be text"),
    (types("day_care", day_care="notes = \"x\"\n"), "day_care.notes: unknown setting"),
])
def test_note_mistakes_are_named(body, expected):
    found = problems(body)
    assert any(expected in p for p in found), found


# --- 6. Household illness, not only fever -----------------------------------------------------------------

ILLNESS = rules(types("day_care", version='\n[versions.exclusions]\nitems = ["household_illness"]\n'))


def test_household_illness_excludes_and_is_asked_in_its_own_words():
    answers = {**MOTHER, "exclusions": "some", "exclusion:household_illness": "yes"}
    assert keys_of(result(ILLNESS, answers)) == ["exclusion.household_illness"]
    chat = Chat(ILLNESS)
    chat.walk({**answers, "babies": "1"})
    text = chat.text()
    assert "治ってから1週間は、ご利用いただけません" in text
    question = next(s for says in chat.sent for s in says if isinstance(s, Say) and
                    s.key == "screening.question.exclusions")
    assert [line.key for line in question.lines] == ["screening.detail.exclusion.household_illness"]


CITY_WORDS = "同居家族に感冒・感染症の方がいる、または解熱・回復から1週間未満"
WORDED = rules(types("day_care", version=('\n[versions.exclusions]\nitems = ["infection", "household_illness"]\n'
                                          f'wording = {{ household_illness = "{CITY_WORDS}" }}\n')))


def test_household_illness_in_the_citys_own_words():
    answers = {**MOTHER, "exclusions": "some", "exclusion:infection": "no", "exclusion:household_illness": "yes"}
    refused = result(WORDED, answers)
    assert [(r.key, r.params) for r in refused.reasons] == [("screening.reason.exclusion_city", {"text": CITY_WORDS})]
    chat = Chat(WORDED)
    chat.walk({**answers, "babies": "1"})
    says = [s for said in chat.sent for s in said if isinstance(s, Say)]
    listing = next(s for s in says if s.key == "screening.question.exclusions")
    assert [(line.key, line.params) for line in listing.lines] == [
        ("screening.detail.exclusion.infection", {}), ("screening.detail.city", {"text": CITY_WORDS})]
    single = next(s for s in says if s.key == "screening.question.exclusion_city")
    assert single.params["text"] == CITY_WORDS
    assert f"次にあてはまる間は、ご利用いただけません: {CITY_WORDS}" in chat.text()


def test_household_illness_mistake_is_named():
    found = problems(types("day_care", version='\n[versions.exclusions]\nitems = ["household_ilness"]\n'))
    assert any("exclusions.items[0]: must be one of" in p and "household_illness" in p for p in found), found
    found = problems(types("day_care", version='\n[versions.exclusions]\nitems = ["infection"]\n'
                                               'wording = { household_illness = "家族が感染症" }\n'))
    assert found == ["city.toml:10: versions[0].exclusions.wording.household_illness: household_illness is not in "
                     "items（items にありません）"]
    found = problems(types("day_care", version='\n[versions.exclusions]\nitems = ["infection"]\n'
                                               'wording = { infection = "" }\n'))
    assert found == ["city.toml:10: versions[0].exclusions.wording.infection: "
                     "is empty（空です。書かないか、文を入れてください）"]


# --- 1. Days of the week and holidays ----------------------------------------------------------------------

DAYS = rules(types("short_stay", "day_care", short_stay='first_not_on = ["sat", "sun", "holiday"]\n',
                   day_care='not_on = ["wed"]\n'))
STAY_USED = [{"type": "short_stay", "start": "2025-11-04", "nights": 1}]


@pytest.mark.parametrize("day, stay, day_care", [
    (date(2025, 11, 22), "not_eligible", "eligible"),     # a Saturday: no first stay
    (date(2025, 11, 24), "not_eligible", "eligible"),     # 振替休日 (Monday)
    (date(2025, 11, 25), "eligible", "eligible"),         # a Tuesday
    (date(2025, 11, 26), "eligible", "not_eligible"),     # a Wednesday: no day care at all
])
def test_days_the_engine_holds_the_day_against_the_rules(day, stay, day_care):
    decision = decide(DAYS, MOTHER, on_date=day)
    assert decision.results["short_stay"].status == stay
    assert decision.results["day_care"].status == day_care


def test_days_a_later_stay_may_start_on_a_saturday():
    assert decide(DAYS, MOTHER, on_date=date(2025, 11, 22), existing_uses=STAY_USED).results[
        "short_stay"].status == "eligible"
    refused = decide(DAYS, MOTHER, on_date=date(2025, 11, 22)).results["short_stay"]
    assert [(r.key, r.params) for r in refused.reasons] == [
        ("screening.reason.days.first_closed", {"date": "2025-11-22", "days": ["sat", "sun", "holiday"]})]


def test_days_the_screening_tells_her_and_does_not_refuse_on_todays_weekday():
    chat = Chat(DAYS)            # NOW is a Sunday: the screening has no day of care yet
    chat.walk({**MOTHER, "babies": "1"})
    assert chat.lines("short_stay")[0][0] == "screening.status.eligible"
    text = chat.text()
    assert "土曜・日曜・祝日の初回利用はできません。" in text
    assert "水曜はご利用いただけません。" in text
    assert "Your first use cannot be on Saturdays, Sundays, public holidays." in chat.text("en")


@pytest.mark.parametrize("extra, expected", [
    ('not_on = ["sunday"]\n',
     "day_care.not_on[0]: must be one of（次のどれか）: mon, tue, wed, thu, fri, sat, sun, holiday"),
    ('first_not_on = "sat"\n', "day_care.first_not_on: must be a list"),
    ('first_not_on = ["sat", "sat"]\n', "day_care.first_not_on[1]: is listed twice"),
])
def test_days_mistakes_are_named(extra, expected):
    found = problems(types("day_care", day_care=extra))
    assert any(expected in p for p in found), found


BOOK_NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)    # a Tuesday
BOOK_DAYS = parse_rules('[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = 2026-04-01\n'
                        + types("short_stay", "day_care", "home_visit",
                                short_stay='first_not_on = ["sat", "sun", "holiday"]\n', day_care='not_on = ["wed"]\n'),
                        name="city.toml")


class _BookingChat(BookingChat):
    """The booking tests' mother (a desk per event), under BOOK_DAYS."""

    def send(self, event, state=...):
        with transaction(self.world.sessions) as session:
            desk = Desk(session, self.user, config=self.world.config, rules=BOOK_DAYS, now=self.now)
            ctx = Context(now=self.now, city=CITY.contact, rules=BOOK_DAYS, desk=desk)
            outcome = router.handle(self.state if state is ... else state, event, ctx)
        self.state, self.last = outcome.state, outcome.says
        return outcome.says


def test_days_the_booking_offers_only_days_the_rules_allow(sqlite_template, tmp_path):
    path = tmp_path / "hagukumi.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    world = World(make_sessionmaker(engine), booking_config())
    with transaction(world.sessions) as session:
        providers.sync(session, config=world.config)
    try:
        chat = _BookingChat(world, "U" + "7" * 32, BOOK_NOW).screened()
        chat.tap("book|day_care")
        offered = days_offered(chat)
        assert offered and all(d.weekday() != 2 for d in offered)           # never a Wednesday
        assert any(d.weekday() == 3 for d in offered)
        chat.tap("bk|d|2026-12-09")                                         # a Wednesday, from an old button
        assert chat.keys()[0] == "booking.day_unavailable"
        stay = _BookingChat(world, "U" + "8" * 32, BOOK_NOW).screened()
        stay.tap("book|short_stay")
        stay.tap("bk|p|hinata")                                             # open on Saturdays
        offered = days_offered(stay)
        assert offered and all(d.weekday() < 5 for d in offered)            # but not for her first stay
    finally:
        engine.dispose()


def test_rules_check_words_every_new_setting(tmp_path, capsys):
    from scheduling.city.rules_cli import main
    path = tmp_path / "city.toml"
    path.write_text('[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = 2025-04-01\n' + types(
        "short_stay", "home_visit",
        version=('note = "申請は窓口へ。"\n\n[versions.eligibility]\nmode = "needs"\nneeds = ["unwell"]\n'
                 'staff_needs = ["doctor_recommended"]\n\n[versions.exclusions]\n'
                 'items = ["siblings", "household_illness"]\n'
                 'applies_to = { siblings = ["short_stay"] }\nwording = { household_illness = "家族が感染症" }\n'
                 '\n[versions.caps]\ntotal = 7\n'),
        short_stay=('fee_text = "施設により異なります"\nfull_price = 30000\nnote = "持ち物: 母子手帳"\n'
                    'first_not_on = ["sat", "sun", "holiday"]\n'),
        home_visit='not_on = ["wed"]\n').replace("age = { max = 4 }", 'age = { max = 4, corrected = "ask", '
                                                 'ask_text = "ご相談ください" }'), encoding="utf-8")
    assert main(["rules", "check", str(path)]) == 0
    out = capsys.readouterr().out
    for words in ("ほかに（本人には聞かず、センターで確認）: 医師が勧めた方", "案内（結果と一緒に）: 申請は窓口へ。",
                  "上の子の同伴（宿泊型のみ）", "（案内: 「家族が感染症」）", "早産児は相談（「ご相談ください」と案内）",
                  "上限を超えた分は全額自己負担 30,000円", "料金 「施設により異なります」と案内（金額なし）",
                  "案内: 持ち物: 母子手帳", "土曜・日曜・祝日の初回利用は不可", "水曜は利用不可"):
        assert words in out, words
