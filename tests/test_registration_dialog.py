"""The registration, 32-week call answer and deletion dialogs, turn by turn, on the real desk."""
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dialogs import privacy, registration
from dialogs.core import Context, Postback, Say, Text
from dialogs.main_menu import MENU
from scheduling.chat.family_desk import FamilyDesk
from scheduling.city.city_file import load_city
from scheduling.dates.calendar import JST
from scheduling.family import calls, link_codes, mothers
from scheduling.store.db import transaction
from scheduling.store.models import Call, Mother, Reminder

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
CONFIG = CITY.pregnancy
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
USER = "U" + "a" * 32


class Chat:
    """One mother talking to a dialog, each turn in its own transaction, like the worker."""

    def __init__(self, sessions, user=USER, now=NOW):
        self.sessions, self.user, self.now, self.state = sessions, user, now, None

    def turn(self, function, *args):
        with transaction(self.sessions) as session:
            ctx = Context(now=self.now, city=CITY.contact, family=FamilyDesk(session, self.user, config=CONFIG,
                                                                             now=self.now))
            outcome = function(*args, ctx, MENU) if function in (registration.start, privacy.start) \
                else function(self.state, *args, ctx, MENU)
        self.state = outcome.state
        self.says = outcome.says
        self.commands = outcome.commands
        return outcome

    def start(self):
        return self.turn(registration.start)

    def tap(self, label_key: str, date: str | None = None):
        choice = next(c for say in self.says for c in getattr(say, "choices", ()) if c.label == label_key)
        params = {"date": date} if date else {}
        return self.turn(registration.handle, Postback(choice.data, params))

    def keys(self) -> list[str]:
        return [say.key for say in self.says if isinstance(say, Say)]


def registered(sessions, user=USER):
    with transaction(sessions) as session:
        return session.scalars(select(Mother).where(Mother.user_id == user)).all()


def test_a_pregnant_woman_consents_and_registers_her_due_date(sessions):
    chat = Chat(sessions)
    chat.start()
    assert chat.keys() == ["reg.consent"]
    assert CITY.contact.privacy_url == chat.says[0].params["privacy_url"]
    chat.tap("reg.agree")
    chat.tap("reg.kind_pregnant")
    due = (NOW.date() + timedelta(days=100)).isoformat()
    chat.tap("reg.pick_date", date=due)
    chat.tap("reg.babies_1")
    chat.tap("reg.yes")
    assert chat.keys() == ["reg.summary_pregnant"]
    chat.tap("reg.register")
    assert chat.keys()[0] == "reg.done_pregnant" and chat.state is None
    [mother] = registered(sessions)
    assert (mother.status, mother.due_date, mother.first_baby) == ("pregnant", due, True)
    assert mother.consent_version == CONFIG.consent_version and mother.consent_at == NOW
    with transaction(sessions) as session:
        assert session.scalars(select(Call).where(Call.mother_id == mother.id)).one().status == "open"
        assert session.scalars(select(Reminder).where(Reminder.kind == "call_notice")).one().user_id == USER


def test_typed_text_and_stale_taps_re_ask_and_a_wrong_date_is_refused(sessions):
    chat = Chat(sessions)
    chat.start()
    chat.tap("reg.agree")
    chat.tap("reg.kind_pregnant")
    chat.turn(registration.handle, Text("3月1日です"))
    assert chat.keys() == ["reg.hint_tap", "reg.ask_due_date"]
    chat.turn(registration.handle, Postback("reg|a|babies|1"))
    assert chat.keys() == ["reg.hint_stale", "reg.ask_due_date"]
    chat.tap("reg.pick_date", date="2030-01-01")
    assert chat.keys() == ["reg.hint_date", "reg.ask_due_date"]
    assert registered(sessions) == []


def test_the_birth_is_registered_on_her_pregnancy_and_pregnancy_pushes_stop(sessions):
    with transaction(sessions) as session:
        mothers.register_pregnancy(session, config=CONFIG, user_id=USER, due_date=NOW.date() + timedelta(days=20),
                                   babies=1, first_baby=True, now=NOW)
    chat = Chat(sessions)
    chat.start()
    assert chat.keys() == ["reg.current_pregnant"]
    chat.tap("reg.born")
    born = (NOW.date() - timedelta(days=3)).isoformat()
    chat.tap("reg.pick_date", date=born)
    chat.tap("reg.babies_2")
    chat.tap("reg.yes")  # born early
    chat.tap("reg.pick_date", date=(NOW.date() + timedelta(days=20)).isoformat())
    chat.tap("reg.register")
    assert chat.keys()[0] == "reg.done_birth"
    [mother] = registered(sessions)
    assert (mother.status, mother.birth_date, mother.babies) == ("mother", born, 2)
    with transaction(sessions) as session:
        pending = session.scalars(select(Reminder).where(Reminder.status == "pending", Reminder.kind != "richmenu")).all()
        assert pending and all(r.stage == "baby" for r in pending)


def test_one_gentle_question_ends_a_pregnancy_and_stops_every_pregnancy_push(sessions):
    with transaction(sessions) as session:
        mothers.register_pregnancy(session, config=CONFIG, user_id=USER, due_date=NOW.date() + timedelta(days=60),
                                   babies=1, first_baby=True, now=NOW)
    chat = Chat(sessions)
    chat.start()
    chat.tap("reg.stop")
    assert chat.keys() == ["reg.stop_question"]
    chat.tap("reg.stop_ended")
    assert chat.keys() == ["reg.ended", "menu.prompt"]
    [mother] = registered(sessions)
    assert mother.status == "ended"
    with transaction(sessions) as session:
        assert not session.scalars(select(Reminder).where(Reminder.status == "pending", Reminder.kind != "richmenu")).all()


def test_a_code_from_staff_links_her_record_and_a_wrong_one_is_answered_kindly(sessions):
    with transaction(sessions) as session:
        record = mothers.register_pregnancy(session, config=CONFIG, user_id=None, via="staff", now=NOW,
                                            due_date=NOW.date() + timedelta(days=90), babies=1, first_baby=False)
        code = link_codes.issue(session, config=CONFIG, mother_id=record.id, staff="staff:1", now=NOW)
    chat = Chat(sessions)
    chat.start()
    chat.tap("reg.agree")
    chat.tap("reg.kind_code")
    chat.turn(registration.handle, Text("ABCD-EFGH"))
    assert chat.keys() == ["reg.code_wrong"] and chat.state["step"] == "code"
    chat.turn(registration.handle, Text(code.lower()))
    assert chat.keys()[0] == "reg.code_linked"
    [mother] = registered(sessions)
    assert mother.id == record.id


@pytest.mark.parametrize("choice", ["morning", "in_person", "not_needed"])
def test_her_answer_to_the_call_notice_reaches_the_call_list(sessions, choice):
    with transaction(sessions) as session:
        mother = mothers.register_pregnancy(session, config=CONFIG, user_id=USER, now=NOW,
                                            due_date=NOW.date() + timedelta(days=60), babies=1, first_baby=True)
    chat = Chat(sessions)
    chat.turn(registration.handle, Postback(f"call|pref|{choice}|{mother.id}"))
    assert chat.keys()[0] == f"call.thanks.{choice}"
    with transaction(sessions) as session:
        assert calls.of_mother(session, mother_id=mother.id).preference == choice
    other = Chat(sessions, user="U" + "b" * 32)  # someone else's button does nothing
    other.turn(registration.handle, Postback(f"call|pref|evening|{mother.id}"))
    assert other.keys()[0] == "call.closed"


def test_deleting_her_data_asks_twice_then_runs_the_command(sessions):
    chat = Chat(sessions)
    chat.turn(privacy.start)
    assert chat.keys() == ["del.explain"]
    chat.turn(privacy.handle, Postback("del|delete"))  # the final button before the explanation: not yet
    assert "del.hint" in chat.keys() and not chat.commands  # noqa: SIM118 (the chat's keys, not a dict's)
    chat.turn(privacy.handle, Postback("del|go_on"))
    assert chat.keys() == ["del.sure"]
    chat.turn(privacy.handle, Postback("del|delete"))
    assert chat.keys() == ["del.done"] and chat.state is None
    assert chat.commands == (privacy.DeleteMyData(),)


def test_the_classes_use_her_registration_instead_of_asking_again(sessions):
    from dialogs import classes as class_dialog
    from scheduling.care import providers
    from scheduling.chat.desk import Desk
    from scheduling.classes import classes
    booking = CITY.booking
    with transaction(sessions) as session:
        providers.sync(session, config=booking)
        classes.sync(session, config=booking, today=NOW.date())
        mothers.register_pregnancy(session, config=CONFIG, user_id=USER, due_date=datetime(2027, 3, 1).date(),
                                   babies=1, first_baby=True, now=NOW)
    with transaction(sessions) as session:
        ctx = Context(now=NOW, city=CITY.contact, desk=Desk(session, USER, config=booking,
                                                           rules=CITY.rules, now=NOW))
        outcome = class_dialog.handle(None, Postback("menu:class"), ctx, MENU)
    keys = [say.alt.key if hasattr(say, "alt") else say.key for say in outcome.says]
    assert "classes.ask_session" in keys and not {"classes.ask_stage", "classes.ask_due", "classes.ask_first"} & set(keys)


def test_registration_has_back_like_the_screening(sessions):
    chat = Chat(sessions)
    chat.start()
    labels = lambda: [c.label for say in chat.says for c in getattr(say, "choices", ())]  # noqa: E731
    assert "reg.back" not in labels()                      # nothing before the consent
    chat.tap("reg.agree")
    chat.tap("reg.kind_born")
    born = (NOW.date() - timedelta(days=20)).isoformat()
    chat.tap("reg.pick_date", date=born)
    assert chat.keys() == ["reg.ask_babies"] and "reg.back" in labels()
    assert labels()[-2:] == ["reg.back", "reg.cancel"]
    chat.tap("reg.back")                                   # back to the birth date, its answer forgotten
    assert chat.keys() == ["reg.ask_birth_date"] and "birth_date" not in chat.state["answers"]
    chat.tap("reg.back")
    assert chat.keys() == ["reg.kind"]
    chat.tap("reg.kind_pregnant")                          # another way from there
    due = (NOW.date() + timedelta(days=90)).isoformat()
    chat.tap("reg.pick_date", date=due)
    chat.tap("reg.babies_1")
    chat.tap("reg.yes")
    assert chat.keys() == ["reg.summary_pregnant"] and "reg.back" in labels()
    chat.tap("reg.register")
    [mother] = registered(sessions)
    assert (mother.status, mother.due_date, mother.birth_date) == ("pregnant", due, None)
