"""Registration and the 32-week call end to end: signed webhooks from the stand-in, pushes from the
dispatcher through LINE's API (the stand-in), answers on the staff call list. A test city without quiet
hours, so pushes go whatever the hour of the run."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import local
from scheduling.dates.calendar import JST
from scheduling.family import calls
from scheduling.store.db import transaction
from scheduling.store.models import Call, LineUser, Mother, Reminder, Screening, utcnow
from tests.city_files import test_city
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn, wait_for

MOTHER = "U" + "7" * 32
# nothing she receives after her pregnancy ended may speak of a baby to come or of the pregnancy
PREGNANCY_WORDS = ("出産予定", "妊娠32週", "赤ちゃんとの暮らし", "パパママ教室で", "おめでとう", "32週ごろ")


@pytest.fixture
def live(database_url, tmp_path):
    city = test_city(tmp_path, quiet_hours=False)
    with local.running(make_settings(database_url, HAGUKUMI_CITY_CONFIG=str(city))) as servers:
        yield servers


def today():
    return utcnow().astimezone(JST).date()


def register_pregnant(phone: Phone, due: str) -> None:
    phone.tap_action({"type": "postback", "data": "menu:register"})
    assert "同意して進む" in phone.texts() and "privacy" in phone.texts()
    phone.tap("同意して進む")
    phone.tap("妊娠中です")
    phone.tap("日付を選ぶ", date=due)
    phone.tap("1人")
    phone.tap("はい")
    phone.tap("登録する")
    assert "登録しました" in phone.texts()


def make_due_now(live, kind: str) -> None:
    with transaction(live.app.state.sessions) as session:
        assert session.execute(update(Reminder).where(Reminder.kind == kind, Reminder.user_id == MOTHER)
                               .values(due_at=utcnow() - timedelta(seconds=1))).rowcount == 1


def wait_push(phone: Phone, text: str) -> list[dict]:
    """The next push containing `text` (pushes arrive without her sending anything)."""
    found = wait_for(lambda: [m for m in phone.standin.messages(phone.user_id, phone.seen)
                              if m["via"] == "push" and text in json.dumps(m["message"], ensure_ascii=False)],
                     timeout=15)
    assert found, f"no push with {text!r}"
    phone.seen = found[-1]["seq"]
    phone.last = [m["message"] for m in found]
    return phone.last


def call_of(live) -> Call:
    with transaction(live.app.state.sessions) as session:
        mother = session.scalars(select(Mother).where(Mother.user_id == MOTHER)).one()
        return calls.of_mother(session, mother_id=mother.id)


@pytest.mark.parametrize("answer, preference", [("平日の午後", "afternoon"), ("会って話したい", "in_person"),
                                                ("電話は不要です", "not_needed")])
def test_the_32_week_notice_and_her_answer_reach_the_call_list(live, answer, preference):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    register_pregnant(phone, (today() + timedelta(weeks=10)).isoformat())  # the notice is a week away
    assert call_of(live).preference == "none"  # on the list before she answers
    make_due_now(live, "call_notice")
    wait_push(phone, "32週ごろ")
    phone.tap(answer)
    assert "ありがとうございます" in phone.texts() or "承知しました" in phone.texts()
    call = call_of(live)
    assert (call.preference, call.status) == (preference, "open")
    assert call.due_on == (today() + timedelta(weeks=10) - timedelta(weeks=8)).isoformat()


def test_an_outcome_with_no_family_help_offers_her_postpartum_care_screening(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    register_pregnant(phone, (today() + timedelta(weeks=8)).isoformat())
    with transaction(live.app.state.sessions) as session:
        call = calls.due(session, until=today() + timedelta(days=7))[0].call
        calls.record(session, call_id=call.id, outcome="phone", staff="staff:1", now=utcnow(),
                     note="実家は遠方", no_family_help=True)
    wait_push(phone, "産後ケアをご案内")
    phone.tap("産後ケア")
    assert "産後ケアを利用できるか" in phone.texts()
    assert call_of(live).status == "done"


def test_a_pregnancy_ended_in_the_chat_stops_every_push_and_nothing_after_speaks_of_it(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    register_pregnant(phone, (today() + timedelta(weeks=13)).isoformat())
    make_due_now(live, "timed:week28_care")  # one due now, with the dispatcher about to send it
    call_due = utcnow() + timedelta(seconds=3)
    with transaction(live.app.state.sessions) as session:  # and one due later today
        session.execute(update(Reminder).where(Reminder.kind == "call_notice").values(due_at=call_due))
    wait_push(phone, "産後ケア")
    phone.tap_action({"type": "postback", "data": "menu:register"})
    phone.tap("お知らせを止める")
    phone.tap("妊娠が終わりました")
    assert "すべて止めました" in phone.texts()
    after = phone.seen
    with transaction(live.app.state.sessions) as session:
        assert not session.scalars(select(Reminder).where(Reminder.user_id == MOTHER, Reminder.status == "pending",
                                                          Reminder.kind != "richmenu")).all()
    phone.say("こんにちは")
    phone.tap_action({"type": "postback", "data": "menu:register"})  # a gentle word, nothing of pregnancy
    assert "登録に進む" in phone.texts()
    # the call notice would have been due and sent by now (the dispatcher looks every second)
    wait_for(lambda: utcnow() > call_due + timedelta(seconds=2), timeout=6)
    received = json.dumps([m["message"] for m in phone.standin.messages(MOTHER, after)], ensure_ascii=False)
    assert not any(word in received for word in PREGNANCY_WORDS), received
    assert "32週" not in received


def _rows_of(live, model, user_id: str) -> list:
    with transaction(live.app.state.sessions) as session:
        return session.scalars(select(model).where(model.user_id == user_id)).all()


def test_deleting_her_data_in_the_chat_leaves_no_trace_of_her(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    register_pregnant(phone, (today() + timedelta(weeks=20)).isoformat())
    phone.tap_action({"type": "postback", "data": "menu:delete"})
    assert "削除に進む" in phone.texts()
    phone.tap("削除に進む")
    phone.tap("削除する")
    assert "削除しました" in phone.texts()
    with transaction(live.app.state.sessions) as session:
        assert session.scalars(select(Mother)).one().user_id is None
        for model in (LineUser, Screening):
            assert not session.scalars(select(model).where(model.user_id == MOTHER)).all(), model
        # of her pushes nothing; only the switch of her rich menu back to the default, deleted once made
        assert [r.kind for r in session.scalars(select(Reminder).where(Reminder.user_id == MOTHER))] in ([], ["richmenu"])
    assert wait_for(lambda: not _rows_of(live, Reminder, MOTHER)), "the rich menu switch is made, then forgotten"
