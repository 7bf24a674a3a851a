"""The screening end to end: signed webhooks from the stand-in, answers through LINE's API, stored."""
import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import local
from scheduling.store.models import ConversationState, Screening
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn, actions

MOTHER, OTHER = "U" + "d" * 32, "U" + "e" * 32


@pytest.fixture
def live(database_url):
    with local.running(make_settings(database_url)) as servers:
        yield servers


def today() -> str:
    return datetime.now().date().isoformat()


def weeks_ago(n: int) -> str:
    return (datetime.now().date() - timedelta(weeks=n)).isoformat()


def stored_screenings(servers, user_id):
    with servers.app.state.sessions() as session:
        return session.scalars(select(Screening).where(Screening.user_id == user_id)).all()


def eligible_path(phone: Phone, birth: str):
    phone.tap("産後ケア")
    phone.tap("出産したお母さん")
    phone.tap("住んでいる")
    phone.tap("日付を選ぶ", date=birth)
    phone.tap("どれもあてはまらない")
    return phone.tap("1人")


def test_an_eligible_mother_gets_cards_and_her_screening_is_stored(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.follow()
    result = eligible_path(phone, weeks_ago(5))
    card = next(m for m in result if m["type"] == "flex")
    assert card["altText"] == "産後ケアの確認結果です。"
    assert phone.texts().count("ご利用いただけます") >= 3
    assert [a["label"] for a in actions(card)] == ["予約する"] * 3
    [saved] = stored_screenings(live, MOTHER)
    rules = live.app.state.worker.city.rules
    assert saved.rules_version == rules.in_force(datetime.now().date()).label
    assert json.loads(saved.answers)["relationship"] == "birth"
    assert json.loads(saved.decision)["results"]["home_visit"]["status"] == "eligible"
    # her answers were never echoed: no message from the user side shows in the chat
    assert weeks_ago(5) not in phone.texts()


def test_not_eligible_and_needs_check(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.tap_action({"type": "postback", "data": "menu:care"})
    phone.tap("出産したお母さん")
    phone.tap("住んでいない")
    assert "ご利用の対象ではありません" in phone.texts()
    assert "センターに相談" in phone.texts()
    phone.tap("最初から")
    phone.tap("出産したお母さん")
    phone.tap("住んでいる")
    phone.tap("日付を選ぶ", date=weeks_ago(5))
    phone.tap("わからない")
    while "1人" in phone.texts() or "いいえ" in phone.texts():
        phone.tap("1人" if "1人" in phone.texts() else "いいえ")
    assert "センターで確認させてください" in phone.texts()
    assert len(stored_screenings(live, MOTHER)) == 2


def test_back_cancel_stale_tap_and_typed_text(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.say("産後ケアを使いたいです")
    first_question = phone.last
    phone.tap("出産したお母さん")
    phone.tap("1つ戻る")
    assert "あてはまるものを選んでください" in phone.texts()
    phone.tap("出産したお母さん")
    stale = next(a for m in first_question for a in actions(m) if a["label"] == "里親")
    phone.tap_action(stale)
    assert "その質問はもう終わっています" in phone.texts()
    assert "お住まいですか" in phone.texts()
    phone.say("はい")
    assert "下のボタンから選んでお答えください" in phone.texts()
    phone.tap("やめる")
    assert "確認をやめました" in phone.texts()
    assert stored_screenings(live, MOTHER) == []


def test_an_expired_session_is_told_so_politely(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.tap_action({"type": "postback", "data": "menu:care"})
    with live.app.state.sessions.begin() as session:  # a day passes
        row = session.get(ConversationState, MOTHER)
        record = json.loads(row.data)
        record["data"]["updated"] = (datetime.fromisoformat(record["data"]["updated"])
                                     - timedelta(hours=25)).isoformat()
        session.execute(update(ConversationState).where(ConversationState.user_id == MOTHER)
                        .values(data=json.dumps(record)))
    phone.tap("出産したお母さん")
    assert "時間がたったため終了しました" in phone.texts()


def test_two_mothers_interleaved_do_not_mix(live):
    standin = StandIn(live.standin_url)
    a, b = Phone(standin, MOTHER), Phone(standin, OTHER)
    a.tap_action({"type": "postback", "data": "menu:care"})
    b.tap_action({"type": "postback", "data": "menu:care"})
    a.tap("出産したお母さん")
    b.tap("里親")
    a.tap("住んでいる")
    b.tap("住んでいない")
    assert "ご利用の対象ではありません" in b.texts()
    assert "生年月日" in a.texts()
    a.tap("日付を選ぶ", date=weeks_ago(3))
    a.tap("どれもあてはまらない")
    a.tap("1人")
    assert "ご利用いただけます" in a.texts()


def test_many_mothers_at_once(live):
    standin = StandIn(live.standin_url)
    errors = []

    def mother(n):
        try:
            phone = Phone(standin, "U" + f"{n:032x}")
            phone.follow()
            eligible_path(phone, weeks_ago(4))
            assert "ご利用いただけます" in phone.texts()
        except Exception as error:  # noqa: BLE001
            errors.append(error)
    threads = [threading.Thread(target=mother, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
