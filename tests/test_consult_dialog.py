"""The 相談 dialog, turn by turn, on a small fake desk (dialogs/consult.py)."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dialogs import consult
from dialogs.core import Context, Postback, Resume, Say, Text
from dialogs.main_menu import MENU
from scheduling.chat.consult_desk import Added, CaseView, Reply
from scheduling.city.city_file import Contact
from scheduling.dates.calendar import JST

CITY = Contact(name="はぐくみ市", phone="043-000-0000", hours="平日 8:30〜17:15", privacy_url="https://example.jp")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=JST)  # a Wednesday morning


@dataclass
class FakeDesk:
    phone: str | None = None
    case: CaseView | None = None
    started: list = field(default_factory=list)
    replies: list = field(default_factory=list)

    def open_case(self):
        return self.case

    def start(self, **kwargs):
        self.started.append(kwargs)
        self.case = CaseView(1, kwargs["topic"], kwargs["answer_by"], kwargs["time_band"], kwargs["phone"])
        return self.case

    def known_phone(self):
        return self.phone

    def unread_replies(self):
        found, self.replies = self.replies, []
        return found


class Hours:
    """Open on weekdays 8:30-17:15 (JST)."""

    def in_hours(self, now):
        local = now.astimezone(JST)
        return local.weekday() < 5 and (8, 30) <= (local.hour, local.minute) < (17, 15)


class Chat:
    def __init__(self, desk=None, now=NOW, safety=None):
        safety = safety or Hours()
        self.desk, self.now, self.safety, self.state, self.says = desk or FakeDesk(), now, safety, None, ()

    def ctx(self):
        return Context(now=self.now, city=CITY, consult=self.desk, safety=self.safety)

    def start(self):
        return self._keep(consult.start(self.ctx(), MENU))

    def send(self, event):
        return self._keep(consult.handle(self.state, event, self.ctx(), MENU))

    def tap(self, label):
        choice = next(c for s in self.says for c in getattr(s, "choices", ()) if c.label == label)
        return self.send(Postback(choice.data))

    def _keep(self, outcome):
        self.state, self.says = outcome.state, outcome.says
        return outcome

    def keys(self):
        return [s.key for s in self.says if isinstance(s, Say)]

    def lines(self):
        return [line.key for s in self.says if isinstance(s, Say) for line in s.lines]


def test_a_line_answer_takes_two_taps_and_opens_the_case():
    chat = Chat()
    chat.start()
    assert chat.keys() == ["consult.intro", "consult.ask_topic"]
    chat.tap("consult.topic.feelings")
    assert chat.keys() == ["consult.ask_how"]
    outcome = chat.tap("consult.how.line")
    assert outcome.state is None and chat.desk.started == [
        {"topic": "feelings", "answer_by": "line", "source": "menu", "time_band": None, "phone": None}]
    assert chat.keys() == ["consult.opened"]
    assert chat.lines() == ["consult.write_on", "consult.when_open"]


def test_a_phone_answer_asks_the_band_and_the_number_and_reads_it_back():
    chat = Chat()
    chat.start()
    chat.tap("consult.topic.baby")
    chat.tap("consult.how.phone")
    chat.tap("consult.band.evening")
    assert chat.keys() == ["phone.ask"]
    chat.send(Text("１２３"))
    assert chat.keys() == ["phone.not_read", "phone.ask"]
    chat.send(Text("０９０ー１２３４ー５６７８"))
    assert chat.keys() == ["phone.confirm"] and chat.says[0].params == {"phone": "090-1234-5678"}
    chat.tap("phone.again")
    chat.send(Text("043-123-4567"))
    chat.tap("phone.yes")
    assert chat.desk.started[0] == {"topic": "baby", "answer_by": "phone", "source": "menu",
                                         "time_band": "evening", "phone": "043-123-4567"}
    assert chat.lines()[0] == "consult.will_call.evening"


def test_the_number_she_gave_before_is_offered_not_asked_again():
    chat = Chat(FakeDesk(phone="080-1111-2222"))
    chat.start()
    chat.tap("consult.topic.body")
    chat.tap("consult.how.phone")
    chat.tap("consult.band.morning")
    assert chat.keys() == ["phone.confirm"] and chat.says[0].params["phone"] == "080-1111-2222"


def test_back_cancel_a_stale_tap_and_typed_text_where_a_button_is_expected():
    chat = Chat()
    chat.start()
    chat.tap("consult.topic.other")
    chat.tap("consult.back")
    assert chat.keys() == ["consult.ask_topic"]
    chat.send(Postback("cons|band|morning"))           # a button of another step
    assert chat.keys() == ["consult.hint_stale", "consult.ask_topic"]
    chat.send(Text("どうしよう"))
    assert chat.keys() == ["consult.hint_tap", "consult.ask_topic"]
    chat.send(Resume())
    assert chat.keys() == ["consult.ask_topic"]
    outcome = chat.tap("consult.cancel")
    assert outcome.state is None and chat.keys() == ["consult.cancelled", "menu.prompt"] and not chat.desk.started


def test_out_of_hours_she_is_told_when_the_centre_opens_next():
    chat = Chat(now=datetime(2026, 12, 4, 20, 0, tzinfo=JST))  # Friday evening: next is Monday 8:30
    chat.start()
    chat.tap("consult.topic.feelings")
    chat.tap("consult.how.line")
    [when] = [line for s in chat.says for line in s.lines if line.key == "consult.when_next"]
    assert when.params["time"] == "08:30" and when.params["date"].isoformat() == "2026-12-07"


def test_with_a_case_open_she_is_not_asked_again_and_unread_replies_are_shown():
    desk = FakeDesk(case=CaseView(3, "baby", "line", None, None), replies=[Reply("お熱は下がりましたか。", NOW)])
    chat = Chat(desk)
    outcome = chat.start()
    assert outcome.state is None
    assert chat.keys() == ["consult.reply", "consult.already_open"]
    assert chat.says[0].params == {"text": "お熱は下がりましたか。"}


def test_reading_a_reply_from_the_push_button():
    desk = FakeDesk(case=CaseView(3, "baby", "line", None, None), replies=[Reply("1", NOW), Reply("2", NOW)])
    chat = Chat(desk)
    chat.send(Postback("cons|read|3"))
    assert chat.keys() == ["consult.reply", "consult.reply", "consult.after_reply"]
    chat.send(Postback("cons|read|3"))
    assert chat.keys() == ["consult.no_unread"]


def test_she_is_told_once_when_the_centre_answers_then_her_messages_are_taken_quietly():
    case = CaseView(3, "baby", "line", None, None)
    first = consult.received(Added(case, tell=True), Context(now=NOW, city=CITY, safety=Hours()))
    assert [s.key for s in first.says] == ["consult.received"]
    later = consult.received(Added(case, tell=False), Context(now=NOW, city=CITY, safety=Hours()))
    assert later.says == () and later.state is None


def test_a_state_left_half_a_day_is_over():
    chat = Chat()
    chat.start()
    chat.now = NOW + timedelta(hours=13)
    chat.send(Postback("cons|topic|body"))
    assert chat.keys() == ["reply.expired", "menu.prompt"]
