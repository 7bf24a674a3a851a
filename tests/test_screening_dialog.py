"""The 産後ケア screening as a conversation: pure, fed inputs, checked on states and messages."""
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.render import render
from dialogs import router
from dialogs.core import JST, Cards, Context, DateChoice, Media, Outcome, Postback, Say, Text
from dialogs.screening import SaveScreening
from scheduling.city.city_file import load_city

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
NOW = datetime(2026, 11, 23, 21, 0, tzinfo=JST)  # 令和8年度: "anyone who needs it"
NOW_FY2025 = datetime(2025, 11, 23, 21, 0, tzinfo=JST)  # 令和7年度: needs-based


class Conversation:
    """One mother tapping through the dialog; keeps the state as the worker would."""

    def __init__(self, now=NOW):
        self.state, self.now, self.taps, self.sent = None, now, 0, []
        self.commands = []

    @property
    def ctx(self):
        return Context(now=self.now, city=CITY.contact, rules=CITY.rules)

    def send(self, event):
        outcome = router.handle(self.state, event, self.ctx)
        self.state = outcome.state
        self.sent.append(outcome.says)
        self.commands += outcome.commands
        for language in ("ja", "en"):
            render(outcome.says, language)  # every answer must be a valid LINE request
        return outcome.says

    def tap(self, data, **params):
        self.taps += 1
        return self.send(Postback(data, params))

    def answer(self, key, value):
        return self.tap(f"scr|a|{key}|{value}")

    def pick_date(self, key, day):
        return self.tap(f"scr|a|{key}", date=day)

    @property
    def asking(self):
        return (self.state or {}).get("asking")


def keys(says):
    return [say.key if isinstance(say, Say) else "cards" for say in says]


def cards(says) -> dict:
    found = next(say for say in says if isinstance(say, Cards))
    return {card.title.key.rsplit(".", 1)[1]: card for card in found.cards}


def status(card) -> str:
    return card.lines[0].key.rsplit(".", 1)[1]


def typical_mother(conversation, birth="2026-10-20"):
    conversation.tap("menu:care")
    conversation.answer("relationship", "birth")
    conversation.answer("residence", "resident")
    conversation.pick_date("birth_date", birth)
    conversation.answer("exclusions", "none")
    return conversation.answer("babies", "1")


def test_a_typical_eligible_mother_reaches_a_result_in_six_taps_or_fewer():
    c = Conversation()
    says = typical_mother(c)
    assert c.taps <= 6
    assert c.asking is None
    result = cards(says)
    assert set(result) == {"short_stay", "day_care", "home_visit"}
    assert {status(card) for card in result.values()} == {"eligible"}
    assert result["short_stay"].buttons[0].data == "book|short_stay"
    [saved] = c.commands
    assert isinstance(saved, SaveScreening)
    assert saved.rules_version == "令和8年度" and saved.care_date == "2026-11-23"
    assert saved.answers["birth_date"] == "2026-10-20"
    assert saved.decision["results"]["short_stay"]["status"] == "eligible"


def test_only_the_questions_the_rules_need_are_asked():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "other")  # not a resident, and the city takes none: certain at once
    assert c.asking is None
    assert {status(card) for card in cards(c.sent[-1]).values()} == {"not_eligible"}
    reasons = [line.key for line in cards(c.sent[-1])["day_care"].lines]
    assert "screening.reason.non_resident" in reasons
    assert cards(c.sent[-1])["day_care"].buttons[0].data == "scr|staff"


def test_needs_based_year_asks_the_needs():
    c = Conversation(now=NOW_FY2025)
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2025-10-20")
    assert c.asking.startswith("need:")


def test_unsure_about_an_exclusion_means_a_staff_check():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2026-10-20")
    c.answer("exclusions", "unsure")
    while c.asking:  # whatever else the rules still need, answered plainly
        c.answer(c.asking, "1" if c.asking == "babies" else "no")
    assert {status(card) for card in cards(c.sent[-1]).values()} == {"needs_check"}


def test_a_too_old_baby_is_told_why():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2026-05-01")  # 6 months old: stays and day care are for under 4–5 months
    assert c.asking == "preterm"  # a corrected age could still bring her within the window
    c.answer("preterm", "no")
    while c.asking:
        c.answer(c.asking, {"exclusions": "none", "babies": "1"}[c.asking])
    result = cards(c.sent[-1])
    assert status(result["short_stay"]) == "not_eligible"
    assert status(result["home_visit"]) == "eligible"


def test_back_goes_one_question_back_and_forgets_that_answer():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    assert c.asking == "residence"
    c.answer("residence", "resident")
    assert c.asking == "birth_date"
    says = c.tap("scr|back")
    assert c.asking == "residence"
    assert "residence" not in c.state["answers"]
    assert says[-1].key == "screening.question.residence"


def test_cancel_ends_it_and_shows_the_menu():
    c = Conversation()
    c.tap("menu:care")
    says = c.tap("scr|cancel")
    assert c.state is None
    assert keys(says) == ["care.cancelled", "menu.prompt"]


def test_a_stale_button_gets_the_current_question_again_with_a_hint():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    says = c.answer("relationship", "foster")  # a second tap on the first question's button
    assert keys(says) == ["care.hint_stale", "screening.question.residence"]
    assert c.state["answers"] == {"relationship": "birth"}


@pytest.mark.parametrize("event", [Text("はい"), Media("sticker")])
def test_typing_where_a_button_is_expected_re_asks_gently(event):
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    says = c.send(event)
    assert keys(says) == ["care.hint_tap", "screening.question.residence"]
    assert c.asking == "residence"


def test_typing_cancel_ends_it():
    c = Conversation()
    c.tap("menu:care")
    assert keys(c.send(Text("やめる"))) == ["care.cancelled", "menu.prompt"]


def test_a_date_outside_the_pickers_range_is_asked_again():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    says = c.pick_date("birth_date", "2027-01-01")  # after today
    assert keys(says) == ["care.hint_invalid", "screening.question.birth_date"]
    picker = says[-1].choices[0]
    assert isinstance(picker, DateChoice) and picker.max == "2026-11-23"


def test_an_answer_that_is_not_an_option_is_refused():
    c = Conversation()
    c.tap("menu:care")
    says = c.answer("relationship", "queen")
    assert keys(says)[0] == "care.hint_tap"
    assert c.state["answers"] == {}


def test_an_interrupted_screening_can_be_resumed_or_restarted():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    says = c.send(Text("産後ケアについて知りたい"))
    assert keys(says) == ["care.resume"]
    says = c.tap("scr|resume")
    assert c.asking == "residence" and keys(says) == ["screening.question.residence"]
    c.tap("menu:care")
    c.tap("scr|restart")
    assert c.asking == "relationship" and c.state["answers"] == {}


def test_a_session_left_for_a_day_expires_politely():
    c = Conversation()
    c.tap("menu:care")
    c.now += timedelta(hours=25)
    says = c.answer("relationship", "birth")
    assert c.state is None
    assert keys(says) == ["reply.expired", "menu.prompt"]


def test_a_tap_after_the_state_is_gone_gets_the_expiry_message():
    c = Conversation()
    says = c.answer("relationship", "birth")
    assert keys(says) == ["reply.expired", "menu.prompt"]


def test_fee_estimate_asks_the_household_class_only_when_wanted():
    c = Conversation()
    typical_mother(c)
    assert "household" not in c.state["answers"]
    says = c.tap("scr|fee")
    assert c.asking == "household"
    labels = [choice.label for choice in says[-1].choices]
    assert "screening.option.household.unknown" in labels
    says = c.answer("household", "unknown")
    stay = cards(says)["short_stay"]
    fee_line = next(line for line in stay.lines if line.key.startswith("screening.fee.range"))
    assert fee_line.params == {"low": "0", "high": "2,500", "per": "night"}
    c.tap("scr|restart")
    typical_mother(c)
    c.tap("scr|fee")
    says = c.answer("household", "taxed")
    fee_line = next(line for line in cards(says)["short_stay"].lines if line.key == "screening.fee.exact")
    assert fee_line.params == {"amount": "2,500", "per": "night"}
    assert "1泊 2,500円" in str(render(says, "ja")) and "2,500 yen per night" in str(render(says, "en"))


def test_answers_are_never_echoed_into_the_chat():
    c = Conversation()
    typical_mother(c)
    for says in c.sent:
        for message in render(says, "ja"):
            for item in (message.get("quickReply") or {}).get("items", []):
                assert "displayText" not in item["action"]
            assert "2026-10-20" not in str(message) or message["type"] != "text"


def test_book_on_a_result_card_hands_over_to_the_booking_dialog(monkeypatch):
    """The booking itself is tested in test_booking_dialog.py."""
    c = Conversation()
    says = typical_mother(c)
    book = cards(says)["day_care"].buttons[0]
    handed = []
    monkeypatch.setattr("dialogs.booking.start", lambda care_type, ctx, menu: handed.append(care_type) or
                        Outcome({"dialog": "booking"}, (Say("booking.start.day_care"),)))
    assert keys(c.tap(book.data)) == ["booking.start.day_care"]
    assert handed == ["day_care"] and c.state == {"dialog": "booking"}


# --- the result, from a walk-through as a mother (issue 10 §4) ------------------------------------

def _finish(c, **answers):
    while c.asking:
        c.answer(c.asking, answers.get(c.asking, {"exclusions": "none", "babies": "1"}.get(c.asking, "no")))
    return c.sent[-1]


def test_the_types_she_can_use_come_first():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2026-05-01")  # 6 months: only the home visit (under 1 year) is open
    says = _finish(c)
    order = [card.title.key.rsplit(".", 1)[1] for card in next(s for s in says if isinstance(s, Cards)).cards]
    assert order[0] == "home_visit"
    assert says[-1].key == "care.result_next"


def test_when_she_can_use_none_a_kind_closing_offers_what_she_can_do_instead():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    says = c.answer("residence", "other")
    closing = says[-1]
    assert closing.key == "care.none_usable"
    data = [choice.data for choice in closing.choices]
    assert "cons|start|care" in data and "menu:class" in data
    assert "scr|fee" not in data  # no 料金の目安 that would lead nowhere
    text = render((closing,), "ja")[0]["text"]
    assert text.startswith("申し訳ありません") and CITY.contact.phone in text
    assert "相談" in render((closing,), "ja")[0]["quickReply"]["items"][0]["action"]["label"]
    assert router.BY_NAME["consult"].owns[-1] == "cons|"  # the 相談 dialog answers cons|start|care


def test_after_a_loss_the_closing_does_not_offer_the_baby_class():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "after_loss")
    says = _finish(c, loss_date="2025-01-10", residence="resident")
    assert says[-1].key == "care.none_usable_plain"
    assert "menu:class" not in [choice.data for choice in says[-1].choices]


def test_the_fee_button_only_where_there_is_a_fee_to_show():
    says = typical_mother(Conversation())
    assert "scr|fee" in [choice.data for choice in says[-1].choices]  # eligible, with fees: offered


def test_twelve_months_reads_one_year():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2025-10-01")  # 13 months: every type is over its age
    says = _finish(c)
    visit = cards(says)["home_visit"]
    text = render((Say("care.result_next", lines=visit.lines),), "ja")[0]["text"]
    assert "1歳になる前まで" in text and "12か月" not in text
    english = render((Say("care.result_next", lines=visit.lines),), "en")[0]["text"]
    assert "1 year" in english and "12 months" not in english


def test_when_the_centre_must_check_it_is_no_closing_of_none():
    c = Conversation()
    c.tap("menu:care")
    c.answer("relationship", "birth")
    c.answer("residence", "resident")
    c.pick_date("birth_date", "2026-10-20")
    says = _finish(c, exclusions="unsure")
    assert {status(card) for card in cards(says).values()} == {"needs_check"}
    assert says[-1].key == "care.result_next"
