"""The router: the safety net before everything, what she types understood, a switch offered inside a
dialog, a stop word only as a whole message, her messages joining an open 相談. Pure, with the example
city's real safety net and intents, and a small fake 相談 desk."""
from datetime import datetime
from pathlib import Path

import pytest

from bot.render import render
from dialogs import router
from dialogs.core import CityText, Context, Media, Postback, Say, Text
from scheduling.chat.consult_desk import Added, CaseView
from scheduling.city.city_file import load_city
from scheduling.dates.calendar import JST
from tests.test_consult_dialog import FakeDesk

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
NET = CITY.safety
DAY = datetime(2026, 12, 2, 10, 0, tzinfo=JST)      # a Wednesday morning: the centre is open
NIGHT = datetime(2026, 12, 2, 2, 30, tzinfo=JST)


class Desk(FakeDesk):
    def __init__(self, case=None):
        super().__init__(case=case)
        self.added = []

    def add(self, *, kind, body, event_id=None):
        if self.case is None:
            return None
        self.added.append((kind, body))
        return Added(self.case, tell=len(self.added) == 1)


class Chat:
    def __init__(self, now=DAY, desk=None):
        self.now, self.desk, self.state, self.says, self.commands = now, desk or Desk(), None, (), ()

    def send(self, event):
        ctx = Context(now=self.now, city=CITY.contact, rules=CITY.rules, consult=self.desk, safety=NET)
        outcome = router.handle(self.state, event, ctx)
        self.state, self.says, self.commands = outcome.state, outcome.says, outcome.commands
        for language in ("ja", "en"):
            render(outcome.says, language)   # every answer is a valid LINE request
        return outcome

    def keys(self):
        return [s.key if isinstance(s, Say) else type(s).__name__ for s in self.says]

    def data(self):
        return [c.data for s in self.says for c in getattr(s, "choices", ())]

    def screening_started(self):
        self.send(Postback("menu:care"))
        self.send(Postback("scr|a|relationship|birth"))
        assert self.state["asking"] == "residence"
        return dict(self.state)


def test_a_crisis_in_a_dialog_is_answered_first_staff_hear_of_it_and_the_dialog_waits():
    chat = Chat()
    before = chat.screening_started()
    chat.send(Text("もう死にたいです"))
    assert isinstance(chat.says[0], CityText) and "0120-279-338" in chat.says[0].text_for("ja")
    assert chat.keys()[1] == "safety.next_in_dialog"
    assert chat.data() == ["go|resume", "cons|start|safety", "menu:show"]
    assert chat.state == before                                   # the screening stays where it was
    [alert] = chat.commands
    assert isinstance(alert, router.RaiseAlert) and alert.category == "life" and alert.text == "もう死にたいです"
    chat.send(Postback("go|resume"))
    assert chat.keys() == ["screening.question.residence"]        # the same question, no scolding hint


def test_distress_is_answered_warmly_with_the_offer_of_consult_and_no_staff_item():
    chat = Chat()
    chat.send(Text("夜眠れなくてつらい"))
    assert isinstance(chat.says[0], CityText)
    assert "cons|start|safety" in chat.data() and chat.commands == ()


def test_the_answer_differs_in_and_out_of_the_centres_hours():
    day, night = Chat(DAY), Chat(NIGHT)
    day.send(Text("赤ちゃんが熱を出しました"))
    night.send(Text("赤ちゃんが熱を出しました"))
    assert day.says[0].text_for("ja") != night.says[0].text_for("ja")
    assert "#8000" in night.says[0].text_for("ja")
    assert day.commands == night.commands == ()                   # an ill baby: answered, not a staff item


@pytest.mark.parametrize("text", ["熱心に調べています", "死ぬほど眠いです"])
def test_near_misses_are_not_read_as_a_crisis(text):
    chat = Chat()
    chat.send(Text(text))
    assert not any(isinstance(s, CityText) for s in chat.says)
    assert not any(isinstance(c, router.RaiseAlert) for c in chat.commands)   # no urgent item (a person may read it)


@pytest.mark.parametrize("text, first", [
    ("相談したい", "consult.intro"), ("電話番号を教えて", "reply.phone"), ("help", "reply.help"),
    ("使い方", "reply.help"), ("メニュー", "menu.prompt"), ("データを消したい", "del.explain"),
])
def test_typed_outside_a_dialog_she_gets_what_she_means(text, first):
    chat = Chat()
    chat.send(Text(text))
    assert chat.keys()[0] == first


def test_what_is_not_understood_offers_consult_not_just_a_thank_you():
    chat = Chat()
    chat.send(Text("ｘｙｚ"))
    assert chat.keys() == ["reply.not_understood"] and chat.data()[0] == "cons|start|text"


def test_inside_a_dialog_another_meaning_is_offered_as_a_switch_never_as_cancel():
    chat = Chat()
    before = chat.screening_started()
    chat.send(Text("予約をキャンセルしたい"))
    assert chat.keys() == ["switch.ask.cancel_booking"] and chat.data() == ["go|cancel_booking", "go|resume"]
    assert chat.state == before
    chat.send(Postback("go|resume"))
    assert chat.keys() == ["screening.question.residence"]
    chat.send(Text("キャンセル待ちはできますか"))
    assert chat.state == before and chat.keys() == ["switch.ask.class"]
    chat.send(Text("相談したい"))
    assert chat.keys() == ["switch.ask.consult"]
    chat.send(Postback("go|consult"))
    assert chat.keys() == ["consult.intro", "consult.ask_topic"] and chat.state["dialog"] == "consult"


def test_a_whole_message_stop_word_ends_the_dialog_and_the_phone_is_answered_in_place():
    chat = Chat()
    before = chat.screening_started()
    chat.send(Text("電話番号は？"))
    assert chat.keys() == ["reply.phone", "switch.go_on"] and chat.state == before
    chat.send(Text("やめます"))
    assert chat.state is None and chat.keys()[0] == "care.cancelled"


def test_with_a_consult_open_what_she_types_joins_it_and_a_short_command_still_works():
    desk = Desk(case=CaseView(7, "baby", "line", None, None))
    chat = Chat(desk=desk)
    chat.send(Text("ミルクを飲む量が少ない気がします"))
    assert chat.keys() == ["consult.received"]
    chat.send(Text("昨日は500mlでした"))
    assert chat.says == () and [b for _, b in desk.added] == ["ミルクを飲む量が少ない気がします", "昨日は500mlでした"]
    chat.send(Text("メニュー"))
    assert len(desk.added) == 2 and chat.keys() == ["menu.prompt"]   # a command, not part of the 相談
    chat.send(Media("image"))
    assert desk.added[-1] == ("image", "") and chat.keys() == ["consult.media_noted"]


def test_a_crisis_during_an_open_consult_is_answered_and_joins_it_for_staff():
    desk = Desk(case=CaseView(7, "feelings", "line", None, None))
    chat = Chat(desk=desk)
    chat.send(Text("消えてしまいたい"))
    assert isinstance(chat.says[0], CityText) and chat.keys()[1] == "safety.in_consult"
    assert desk.added == [("text", "消えてしまいたい")] and isinstance(chat.commands[0], router.RaiseAlert)


def test_every_dialog_is_registered_once_and_owns_distinct_postbacks():
    names = [d.name for d in router.DIALOGS]
    assert len(names) == len(set(names))
    prefixes = [p for d in router.DIALOGS for p in d.owns]
    assert len(prefixes) == len(set(prefixes))


def test_words_of_her_own_that_nothing_understood_go_to_a_person():
    chat = Chat()
    chat.send(Text("窓の外をずっと見ています"))   # indirect: no word list knows every way of saying it
    assert chat.keys() == ["reply.not_understood_read"]
    [note] = chat.commands
    assert isinstance(note, router.NoteForStaff) and note.text == "窓の外をずっと見ています"
    chat.send(Text("ｘｙｚ"))                          # too short to be her own words: not sent to staff
    assert chat.keys() == ["reply.not_understood"] and chat.commands == ()


def test_her_own_words_inside_a_dialog_are_read_by_a_person_and_the_dialog_asks_again():
    chat = Chat()
    before = chat.screening_started()
    chat.send(Text("窓の外をずっと見ています"))
    assert chat.state["asking"] == before["asking"] and chat.keys()[-1] == "screening.question.residence"
    assert [type(c) for c in chat.commands] == [router.NoteForStaff]
