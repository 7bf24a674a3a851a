"""The rule kinds of the format's second edition, continued (issue 15): after a loss per type (7), rules that
differ by facility (3), counting by child and caps per 年度 or per birth (11), the household class that
changes in the year (12). For each: the engine's decision, what she is asked and told, the validator's words."""
from datetime import date
from functools import cache

import pytest

from dialogs.core import Say
from scheduling.rules import decide, next_question
from scheduling.rules.schema import AgeWindow
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
    from scheduling.city.rules_cli import summarise
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


# --- 3. Rules that differ by facility --------------------------------------------------------------------

def by_facility(start="2025-04-01"):
    from scheduling.rules import parse_rules
    from scheduling.rules.facilities import attach
    from tests.test_booking_dialog import booking_config
    body = types("short_stay", "day_care", version='\n[versions.exclusions]\nitems = ["infection", "siblings"]\n',
                 short_stay='by_provider = ["age", "exclusions"]\n')
    plain = parse_rules(f'[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = {start}\n{body}', name="city.toml")
    config = booking_config()
    own = {"sakura": {"exclusions": {"short_stay": ("infection",)}},
           "hinata": {"age": {"short_stay": AgeWindow(0, 6)}}}
    from dataclasses import replace
    config = replace(config, providers=tuple(replace(p, **own.get(p.key, {})) for p in config.providers))
    return attach(plain, config), config


@cache
def facility():
    return by_facility()[0]


OLDER = {**MOTHER, "birth_date": "2025-07-10"}      # 4 months and 13 days on ON
SIBLING = {"exclusions": "some", "exclusion:infection": "no", "exclusion:siblings": "yes"}


@pytest.mark.parametrize("answers, status, taking", [
    (MOTHER, "eligible", ("sakura", "hinata")),
    (OLDER, "eligible", ("hinata",)),                          # only hinata's own window (6 months) takes her
    ({**MOTHER, **SIBLING}, "eligible", ("sakura",)),          # only sakura takes an older child along
    ({**OLDER, **SIBLING}, "not_eligible", ()),
])
def test_by_facility_eligible_where_any_provider_takes_her_naming_those(answers, status, taking):
    stay = result(facility(), answers, "short_stay")
    assert (stay.status, stay.providers) == (status, taking)
    names = {"sakura": "さくら産婦人科医院", "hinata": "ひなたクリニック"}
    if taking:
        assert stay.reasons[0].key == "screening.reason.by_provider"
        assert stay.reasons[0].params == {"providers": "、".join(names[k] for k in taking)}
    else:
        assert keys_of(stay)[0] == "by_provider_none"
    day = result(facility(), answers, "day_care")               # not by facility: the city's rules, as before
    assert day.providers is None
    assert day.status == ("not_eligible" if answers.get("exclusion:siblings") == "yes" or answers is OLDER
                          else "eligible")


def test_by_facility_a_provider_asked_alone_and_without_the_booking_file():
    assert result(facility(), OLDER, "short_stay", provider="sakura").status == "not_eligible"
    assert result(facility(), OLDER, "short_stay", provider="hinata").providers == ("hinata",)
    plain = rules(types("short_stay", short_stay='by_provider = ["age"]\n'))
    assert result(plain, OLDER, "short_stay").status == "not_eligible"      # no providers known: the city's rule


def test_by_facility_she_is_asked_what_any_provider_needs_and_told_where_she_can_go():
    answers = {k: v for k, v in MOTHER.items() if k != "exclusions"}
    assert next_question(facility(), answers, ON).key == "exclusions"
    chat = Chat(facility())
    chat.walk({**OLDER, "babies": "1"})
    assert chat.lines("short_stay")[0][0] == "screening.status.eligible"
    assert "施設によって異なります。ご利用いただける施設: ひなたクリニック" in chat.text()
    assert "さくら産婦人科医院" not in chat.text()
    assert "It differs by facility. You can use: ひなたクリニック" in chat.text("en")


def test_by_facility_rules_check_names_each_providers_own_rules(tmp_path, capsys):
    from scheduling.city.rules_cli import summarise
    out = summarise(facility())
    assert "施設によって異なる: 月齢・利用できない場合（予約の設定の providers.rules）" in out
    assert "ひなたクリニック: 生後6か月未満（6か月になる前日まで）" in out
    assert "さくら産婦人科医院: 利用できない場合: 感染症" in out


BOOK_RULES = '''
[versions.types.short_stay]
age = { max = 4 }
by_provider = ["age"]
'''


@pytest.mark.parametrize("provider, expected", [
    ('[providers.rules.short_stay]\nage = { max = 6 }\n', "providers[0].rules.short_stay.age"),
    ('[providers.rules.home_visit]\nage = { max = 6 }\n', "providers[0].rules.home_visit: home_visit is not in"),
    ('[providers.rules.short_stay]\nage = { max = 6, units = "months" }\n',
     "providers[0].rules.short_stay.age.units: unknown setting"),
    ('[providers.rules.short_stay]\nexclusions = ["sibling"]\n',
     "providers[0].rules.short_stay.exclusions[0]: must be one of"),
    ('[providers.rules.short_stay]\nbeds = 2\n', "providers[0].rules.short_stay.beds: unknown setting"),
])
def test_by_facility_mistakes_in_the_booking_file_are_named(provider, expected):
    from scheduling.city.booking_config import BookingConfigError, parse_booking_config
    text = ('[policy]\n\n[[providers]]\nid = "a"\nname = "A"\nphone = "1"\ntypes = ["short_stay"]\nbeds = 1\n'
            + provider)
    if expected.endswith(".age"):       # a good one: no mistake, the age window is read
        config = parse_booking_config(text)
        assert config.providers[0].age["short_stay"].max == 6
        return
    with pytest.raises(BookingConfigError) as caught:
        parse_booking_config(text)
    assert any(expected in p for p in caught.value.problems), caught.value.problems
    line = 9 if "is not in" in expected else 10           # the table's header, or the key's own line
    assert caught.value.problems[0].startswith(f"booking.toml:{line}: {expected.split(':')[0]}")


def test_by_facility_the_two_files_must_agree():
    from scheduling.city.booking_config import parse_booking_config
    from scheduling.rules import RulesError
    from scheduling.rules.facilities import attach
    config = parse_booking_config('[policy]\n\n[[providers]]\nid = "a"\nname = "A"\nphone = "1"\n'
                                  'types = ["short_stay"]\nbeds = 1\n\n[providers.rules.short_stay]\n'
                                  'age = { max = 6 }\nexclusions = ["siblings"]\n')
    with pytest.raises(RulesError) as caught:
        attach(rules(types("short_stay", version='\n[versions.exclusions]\nitems = ["infection"]\n',
                           short_stay='by_provider = ["exclusions"]\n')), config)
    assert caught.value.problems == [
        "booking.toml: providers[0]（a）.rules.short_stay.age: the rules file does not let providers set this: write "
        "by_provider = [\"age\"] in its [versions.types.short_stay]"
        "（ルールのファイルに、宿泊型のageは施設ごとと書かれていません）",
        "booking.toml: providers[0]（a）.rules.short_stay.exclusions: siblings is not in the rules file's "
        "exclusions.items, so she is never asked it（ルールのファイルの exclusions.items にない項目です）"]


def test_by_facility_the_booking_offers_only_the_providers_that_take_her(sqlite_template, tmp_path):
    import shutil

    from dialogs import router
    from dialogs.core import Context
    from scheduling.care import providers
    from scheduling.chat.desk import Desk
    from scheduling.store.db import make_engine, make_sessionmaker, transaction
    from tests.test_booking_dialog import Chat as BookingChat
    from tests.test_booking_dialog import World, days_offered
    from tests.test_rules_kinds import BOOK_NOW
    from tests.test_screening_dialog import CITY
    rule_set, config = by_facility("2026-04-01")

    class Booking(BookingChat):
        def send(self, event, state=...):
            with transaction(self.world.sessions) as session:
                desk = Desk(session, self.user, config=self.world.config, rules=rule_set, now=self.now)
                ctx = Context(now=self.now, city=CITY.contact, rules=rule_set, desk=desk)
                outcome = router.handle(self.state if state is ... else state, event, ctx)
            self.state, self.last = outcome.state, outcome.says
            return outcome.says

    path = tmp_path / "hagukumi.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    world = World(make_sessionmaker(engine), config)
    with transaction(world.sessions) as session:
        providers.sync(session, config=world.config)
    try:
        older = Booking(world, "U" + "5" * 32, BOOK_NOW).screened(birth_date="2026-07-20")  # 4 months on 12/3
        older.tap("book|short_stay")
        assert older.data("bk|p|") == []                            # one provider takes her: not asked
        assert older.step == "date" and older.state["provider"] == "hinata"
        assert days_offered(older)
        young = Booking(world, "U" + "6" * 32, BOOK_NOW).screened(
            birth_date="2026-10-20", exclusions="some", **{"exclusion:infection": "no", "exclusion:siblings": "yes"})
        young.tap("book|short_stay")
        assert young.state["provider"] == "sakura"                  # hinata does not take an older child
        with transaction(world.sessions) as session:               # nor does a request for anywhere go there
            desk = Desk(session, young.user, config=config, rules=rule_set, now=BOOK_NOW)
            assert [p.key for p in desk.providers("short_stay")] == ["sakura"]
            saturday = date(2026, 12, 5)                            # only hinata is open on Saturdays
            assert saturday not in desk.care_days("short_stay").days
            done = desk.request_care(care_type="short_stay", provider_key=None, day=saturday, nights=1, token="t1")
            assert not done.ok and done.problem in ("closed", "not_eligible")
            done = desk.request_care(care_type="short_stay", provider_key=None, day=date(2026, 12, 7), nights=1,
                                     token="t2")
            assert done.ok and done.care.provider.key == "sakura"
    finally:
        engine.dispose()


# --- 11. Counting by child, caps per 年度 or per birth ---------------------------------------------------------

def capped(per: str | None = None):
    line = f'per = "{per}"\n' if per else ""
    return rules(types("day_care", version=f"\n[versions.caps]\ntotal = 3\n{line}"))


FIRST_CHILD = [{"type": "day_care", "start": "2025-05-10", "child": "2024-08-01"},     # her first child's
               {"type": "day_care", "start": "2025-06-10", "child": "2024-08-01"}]      # (the 年度 of ON)
THIS_CHILD = [{"type": "day_care", "start": "2025-11-01", "child": "2025-10-20"},
              {"type": "day_care", "start": "2025-03-20", "child": "2025-10-20"}]      # booked while pregnant, 前年度


@pytest.mark.parametrize("per, remaining", [
    (None, 1),                  # per birth (the default): only this child's two uses count
    ("birth", 1),
    ("fiscal_year", 0),         # this 年度: both children's uses since April (3 of them)
    ("birth_fiscal_year", 2),   # this child's, this 年度: one
])
def test_caps_count_per_birth_or_per_year_as_the_city_says(per, remaining):
    found = result(capped(per), MOTHER, existing_uses=FIRST_CHILD + THIS_CHILD)
    assert found.remaining == remaining
    assert found.status == ("eligible" if remaining else "not_eligible")


def test_caps_a_use_booked_before_the_birth_is_this_childs_and_an_unknown_one_always_counts():
    due_date_use = [{"type": "day_care", "start": "2025-10-01", "child": "2025-11-30"}]   # due date 6 weeks late
    assert result(capped(), MOTHER, existing_uses=due_date_use).remaining == 2
    unknown = [{"type": "day_care", "start": "2025-06-01"}]
    assert result(capped(), MOTHER, existing_uses=unknown).remaining == 2
    assert result(capped(), MOTHER, existing_uses=FIRST_CHILD).remaining == 3


def test_caps_the_fee_tiers_count_the_same_uses():
    tiers = rules(types("day_care", version="\n[versions.caps]\ntotal = 7\n", day_care=(
        "[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 1000\n"
        "[[versions.types.day_care.fees]]\nfrom_use = 3\nwelfare = 0\ntax_exempt = 0\ntaxed = 5000\n")))
    answers = {**MOTHER, "household": "taxed"}
    assert result(tiers, answers, existing_uses=FIRST_CHILD).fee_per_use.low == 1000   # her first use for this child
    assert result(tiers, answers, existing_uses=THIS_CHILD).fee_per_use.low == 5000    # her third


def test_caps_per_year_she_is_told_it_is_this_years():
    chat = Chat(capped("fiscal_year"), uses=THIS_CHILD)
    chat.walk({**MOTHER, "babies": "1"})
    assert ("screening.fee.remaining_year", {"remaining": 2}) in chat.lines("day_care")
    assert "この年度は、あと 2 回（日）ご利用いただけます。" in chat.text()
    chat = Chat(capped(), uses=THIS_CHILD)
    chat.walk({**MOTHER, "babies": "1"})
    assert ("screening.fee.remaining", {"remaining": 1}) in chat.lines("day_care")


def test_caps_per_mistakes_are_named_and_check_says_how_caps_count():
    found = problems(types("day_care", version='\n[versions.caps]\ntotal = 3\nper = "year"\n'))
    assert any("caps.per: must be one of（次のどれか）: birth, fiscal_year, birth_fiscal_year" in p for p in found)
    from scheduling.city.rules_cli import summarise
    assert "上限の数え方: 年度ごと（4月〜3月、利用日の年度）" in summarise(capped("fiscal_year"))
    assert "上限の数え方: お子さん（出産）ごと" in summarise(capped())


def test_caps_a_second_birth_has_its_own_caps_in_the_booking(sqlite_template, tmp_path):
    """Her bookings remember the child through the screening they were made under."""
    import shutil

    from scheduling.care import care_bookings, providers
    from scheduling.chat.desk import Desk
    from scheduling.family import screenings
    from scheduling.store.db import make_engine, make_sessionmaker, transaction
    from tests.test_booking_dialog import booking_config
    from tests.test_rules_kinds import BOOK_NOW
    path = tmp_path / "hagukumi.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = make_sessionmaker(engine)
    config = booking_config()
    one_use = parse(types("day_care", version="\n[versions.caps]\ntotal = 1\n"), start="2024-04-01")
    user = "U" + "4" * 32
    try:
        with transaction(sessions) as session:
            providers.sync(session, config=config)
            first = {**MOTHER, "birth_date": "2025-09-01"}
            screening = screenings.record(session, user_id=user, answers=first, decision={}, rules_version="t",
                                          care_date="2025-10-01", now=BOOK_NOW)
            row_ids = providers.ids(session)
            session.add(care_bookings.CareBooking(
                user_id=user, care_type="day_care", provider_id=row_ids["sakura"], start_date="2025-10-01",
                status="attended", request_key="old", screening_id=screening.id, created_at=BOOK_NOW,
                updated_at=BOOK_NOW))
            assert [u.child for u in care_bookings.uses_of(session, user_id=user)] == [date(2025, 9, 1)]
            desk = Desk(session, user, config=config, rules=one_use, now=BOOK_NOW)
            assert desk.care_days("day_care").problem == "not_eligible"        # the first child's one use
            screenings.record(session, user_id=user, answers={**MOTHER, "birth_date": "2026-10-20"}, decision={},
                              rules_version="t", care_date="2026-12-01", now=BOOK_NOW)
        with transaction(sessions) as session:
            desk = Desk(session, user, config=config, rules=one_use, now=BOOK_NOW)
            assert desk.care_days("day_care").days                              # the second child: its own cap
    finally:
        engine.dispose()


def parse(body: str, start: str = "2025-04-01"):
    from scheduling.rules import parse_rules
    return parse_rules(f'[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = {start}\n{body}', name="city.toml")


# --- 12. The household class that changes in the year ------------------------------------------------------

SWITCH = parse(types("day_care", version="\n[versions.household]\nswitch_month = 7\n", day_care=(
    "[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 2500\n")))
MAY, JULY, NEXT_MAY = date(2025, 5, 20), date(2025, 7, 1), date(2026, 5, 20)
YOUNG = {**MOTHER, "birth_date": "2025-04-20"}


@pytest.mark.parametrize("on_date, asked_on, fee", [
    (MAY, MAY, 2500),               # before the switch: her class now (taxed, last year's 住民税)
    (date(2025, 6, 30), MAY, 2500),
    (JULY, MAY, 0),                 # from July: the new year's class she gave (tax-exempt)
    (NEXT_MAY, JULY, 2500),         # asked in July: her class then holds until next June
    (date(2026, 7, 1), JULY, 0),    # and the class after it from the following July
    (date(2027, 7, 1), JULY, None), # a tax year she was not asked about: the range
])
def test_household_the_class_follows_the_tax_year_of_the_care(on_date, asked_on, fee):
    answers = {**YOUNG, "household": "taxed", "household_next": "tax_exempt"}
    found = decide(SWITCH, answers, on_date=on_date, asked_on=asked_on).results["day_care"].fee_per_use
    assert (found.low, found.high) == ((fee, fee) if fee is not None else (0, 2500))


def test_household_before_the_switch_she_is_asked_both_and_told_both():
    answers = {k: v for k, v in YOUNG.items()}
    question = next_question(SWITCH, answers, MAY, fees=True)
    assert (question.key, question.text_key, question.params) == (
        "household", "screening.question.household_before", {"before": 6})
    question = next_question(SWITCH, {**answers, "household": "taxed"}, MAY, fees=True)
    assert (question.key, question.params) == ("household_next", {"month": 7})
    assert next_question(SWITCH, {**answers, "household": "taxed"}, JULY, fees=True) is None   # after: once
    assert next_question(SWITCH, {**answers, "household": "taxed"}, MAY) is None              # no fee wanted
    no_next = parse(types("day_care", version="\n[versions.household]\nswitch_month = 7\nask_next = false\n",
                          day_care=FEE_TAXED))
    assert next_question(no_next, {**answers, "household": "taxed"}, MAY, fees=True) is None
    found = decide(no_next, {**answers, "household": "taxed"}, on_date=MAY).results["day_care"]
    assert (found.fee_next.low, found.fee_next.high) == (0, 2500)


FEE_TAXED = "[[versions.types.day_care.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 2500\n"


def test_household_the_chat_shows_the_fee_now_and_after_the_switch():
    from datetime import datetime

    from dialogs import router
    from dialogs.core import JST, Context, Postback
    from tests.test_screening_dialog import CITY
    answers = {**YOUNG, "babies": "1", "household": "taxed", "household_next": "tax_exempt"}
    now = datetime(2025, 5, 20, 10, 0, tzinfo=JST)
    ctx = Context(now=now, city=CITY.contact, rules=SWITCH)
    outcome = router.handle(None, Postback("menu:care", {}), ctx)
    for _ in range(12):
        state = outcome.state
        asking = (state or {}).get("asking")
        if asking is None:
            if "scr|fee" in [c.data for s in outcome.says for c in getattr(s, "choices", ())]:
                outcome = router.handle(state, Postback("scr|fee", {}), ctx)
                continue
            break
        data = f"scr|a|{asking}" + ("" if asking.endswith("_date") else f"|{answers[asking]}")
        outcome = router.handle(state, Postback(data, {"date": answers.get(asking)}), ctx)
    from bot.render import render
    text = str(render(outcome.says, "ja"))
    assert "1回 2,500円" in text and "7月からのご利用: 無料" in text
    assert "From July: free" in str(render(outcome.says, "en"))


@pytest.mark.parametrize("household, expected", [
    ("switch_month = 8", "household.switch_month: must be 6 or 7"),
    ("ask_next = true", "household.ask_next: needs switch_month"),
    ("switch = 7", "household.switch: unknown setting"),
])
def test_household_mistakes_are_named(household, expected):
    found = problems(types("day_care", version=f"\n[versions.household]\n{household}\n"))
    assert any(expected in p for p in found), found


def test_household_rules_check_says_when_and_how():
    from scheduling.city.rules_cli import summarise
    assert ("料金の区分: 住民税の年度で決まり、7月から新しい年度に切り替わります（4〜6月は前年度の住民税）。"
            "6月までに聞くときは、7月からの区分も聞きます") in summarise(SWITCH)


def test_household_the_booking_prices_a_care_by_the_tax_year_of_its_day(sqlite_template, tmp_path):
    import shutil
    from datetime import datetime

    from dialogs.core import JST
    from scheduling.care import providers
    from scheduling.chat.desk import Desk
    from scheduling.family import screenings
    from scheduling.store.db import make_engine, make_sessionmaker, transaction
    from tests.test_booking_dialog import booking_config
    path = tmp_path / "hagukumi.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions, config, user = make_sessionmaker(engine), booking_config(), "U" + "3" * 32
    now = datetime(2025, 6, 10, 10, 0, tzinfo=JST)
    try:
        with transaction(sessions) as session:
            providers.sync(session, config=config)
            screenings.record(session, user_id=user, answers={**YOUNG, "household": "taxed",
                                                              "household_next": "tax_exempt"},
                              decision={}, rules_version="t", care_date="2025-06-10", now=now)
            desk = Desk(session, user, config=config, rules=SWITCH, now=now)
            june, july = desk.quote("day_care", "sakura", date(2025, 6, 30)), desk.quote("day_care", "sakura", JULY)
            assert (june.total.low, july.total.low) == (2500, 0)
    finally:
        engine.dispose()


# --- Texts that fit the rule that made them ------------------------------------------------------------------

@pytest.mark.parametrize("clearance, told", [("", False), ('doctor_clearance = ["medical_care"]\n', True)])
def test_a_medical_refusal_names_the_doctor_only_where_the_file_allows_clearance(clearance, told):
    found = rules(types("day_care", version=f'\n[versions.exclusions]\nitems = ["medical_care"]\n{clearance}'))
    answers = {**MOTHER, "exclusions": "some", "exclusion:medical_care": "yes", "doctor_clearance": "no"}
    refused = result(found, answers)
    assert refused.status == "not_eligible"
    from scheduling.rules import render_reason
    texts = [render_reason(r, "ja") for r in refused.reasons]
    assert "医療的な処置が必要な間は、ご利用いただけません。" in texts
    assert any("主治医" in t for t in texts) is told
    assert ("主治医が認めた場合は利用できます。" in texts) is told


LAST_DAY = rules(types("short_stay", short_stay="").replace("age = { max = 4 }", 'age = { max = 4, at = "last_day" }'))
BORN_JULY = {**MOTHER, "birth_date": "2025-07-25"}      # 4 months on 2025-11-25


def test_a_stay_past_the_window_on_its_last_day_names_it_and_the_longest_that_fits():
    from scheduling.rules import render_reason
    long = decide(LAST_DAY, BORN_JULY, on_date=ON, nights=3).results["short_stay"]     # 11/23 → 11/26
    assert long.status == "not_eligible"
    [reason] = long.reasons
    assert (reason.key, reason.params["date"], reason.params["nights"]) == ("screening.reason.stay_too_long",
                                                                            "2025-11-26", 1)
    assert render_reason(reason, "ja") == ("最終日の2025年11月26日(水)には、お子さんが生後4か月になっています。"
                                           "1泊2日までならご利用いただけます。")
    assert decide(LAST_DAY, BORN_JULY, on_date=ON, nights=1).results["short_stay"].status == "eligible"
    none_fit = decide(LAST_DAY, BORN_JULY, on_date=date(2025, 11, 24)).results["short_stay"]
    assert [r.key for r in none_fit.reasons] == ["screening.reason.stay_last_day"]
    started_late = decide(LAST_DAY, BORN_JULY, on_date=date(2025, 11, 25)).results["short_stay"]
    assert [r.key for r in started_late.reasons] == ["screening.reason.age_over_months"]


TIERED = rules(types("short_stay", version="\n[versions.caps]\ntotal = 7\n", short_stay=(
    "[[versions.types.short_stay.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 2500\n"
    "[[versions.types.short_stay.fees]]\nfrom_use = 6\nwelfare = 0\ntax_exempt = 0\ntaxed = 5000\n")))


def test_fees_say_their_unit_and_a_stay_its_real_total_across_tiers(tmp_path, capsys):
    import json

    from scheduling.city.rules_cli import main
    path = tmp_path / "city.toml"
    body = types("short_stay", version="\n[versions.caps]\ntotal = 7\n", short_stay=(
        'count = "day"\n[[versions.types.short_stay.fees]]\nfrom_use = 1\nwelfare = 0\ntax_exempt = 0\ntaxed = 2500\n'
        "[[versions.types.short_stay.fees]]\nfrom_use = 6\nwelfare = 0\ntax_exempt = 0\ntaxed = 5000\n"))
    path.write_text('[city]\nname = "テスト市"\n\n[[versions]]\neffective_from = 2025-04-01\n' + body, encoding="utf-8")
    cases = tmp_path / "cases.json"
    used = [{"type": "short_stay", "start": "2025-11-01", "nights": 1}]     # 1泊2日 = 2 days: uses 1 and 2
    cases.write_text(json.dumps([{"on_date": "2025-11-23", "nights": 3, "existing_uses": used,
                                  "answers": {**MOTHER, "household": "taxed"}}]), encoding="utf-8")
    assert main(["rules", "try", str(path), str(cases)]) == 0
    stay = json.loads(capsys.readouterr().out)[0]["results"]["short_stay"]
    assert stay["fee_unit"] == "day"
    assert stay["fee_per_use"]["min"] == 2500
    assert stay["fee_total"]["min"] == 2500 * 3 + 5000          # 3泊4日 = 4 days: uses 3 to 6 (6: the dearer tier)
    chat = Chat(TIERED)
    chat.walk({**MOTHER, "babies": "1"})
    chat.send("scr|fee")
    while chat.asking:
        chat.send(f"scr|a|{chat.asking}|taxed")
    assert "1泊 2,500円" in chat.text() and "2,500 yen per night" in chat.text("en")


def test_by_facility_keeps_the_fee_unit_total_and_the_fee_after_the_switch():
    from scheduling.city.booking_config import load_booking_config
    from scheduling.rules import load_rules
    from scheduling.rules.facilities import attach
    fukuoka = attach(load_rules("config/rules/fukuoka.toml"),
                     load_booking_config("config/rules/cases/fukuoka.booking.toml"))
    answers = {**YOUNG, "household": "taxed", "household_next": "tax_exempt"}
    stay = decide(fukuoka, answers, on_date=MAY, nights=2).results["short_stay"]
    assert stay.providers == ("clinic", "josanin")
    assert (stay.fee_unit, stay.fee_total.low, stay.fee_next.low) == ("day", 9000, 0)   # 2泊3日 = 3日 × 3,000円


def test_by_facility_rules_try_without_the_booking_file_says_it_decides_with_the_citys_rule(capsys):
    from scheduling.city.rules_cli import main
    assert main(["rules", "check", "config/rules/fukuoka.toml"]) == 0
    assert "--booking で予約の設定を渡すと施設ごとに判定します" in capsys.readouterr().err
    assert main(["rules", "check", "config/rules/fukuoka.toml", "--booking",
                 "config/rules/cases/fukuoka.booking.toml"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "（仮）産婦人科クリニック: 生後4か月未満（4か月になる前日まで）" in captured.out
