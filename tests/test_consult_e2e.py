"""The safety net and 相談 end to end: signed webhooks from the stand-in, answers and pushes through LINE's
API (the stand-in), staff at /admin on the running bot. A test city without quiet hours, so the staff
reply's push goes whatever the hour of the run."""
import json
import re
from datetime import datetime, time, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from bot import local
from scheduling.accounts import staff
from scheduling.dates.calendar import JST
from scheduling.store.db import transaction
from scheduling.store.models import CareBooking, ConsultCase, ConsultMessage, Mother, Reminder, SafetyAlert, utcnow
from tests.city_files import test_city
from tests.conftest import make_settings
from tests.helpers import Phone, StandIn, actions, wait_for
from tests.test_booking_e2e import BOOKING, screened, tap_data
from tests.test_pregnancy_e2e import register_pregnant, wait_push

MOTHER = "U" + "c" * 32
PASSWORD = "correct-horse-battery"


def today():
    return datetime.now(JST).date()


@pytest.fixture
def live(database_url, tmp_path):
    city = test_city(tmp_path, booking=BOOKING.format(class_day=today() + timedelta(days=10)), quiet_hours=False)
    settings = make_settings(database_url, HAGUKUMI_CITY_CONFIG=str(city), HAGUKUMI_ADMIN_SECURE_COOKIES="0")
    with local.running(settings) as servers:
        yield servers


def rows(live, model, **where):
    with live.app.state.sessions() as session:
        return session.scalars(select(model).filter_by(**where).order_by(model.id)).all()


def staff_client(live) -> httpx.Client:
    with transaction(live.app.state.sessions) as session:
        staff.create(session, login="sato", display_name="保健師 佐藤", password=PASSWORD, role="staff", actor="test",
                     now=utcnow())
    client = httpx.Client(base_url=f"{live.bot_url}/admin", follow_redirects=False)
    form = client.get("/login").text
    client.post("/login", data={"login": "sato", "password": PASSWORD, "csrf": csrf(form)})
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_a_crisis_in_the_middle_of_a_booking_is_answered_first_and_the_booking_goes_on(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    result = screened(phone)
    phone.tap_action(next(a for m in result for a in actions(m) if a["data"] == "book|day_care"))
    assert "どこでもよい" in phone.texts()
    answer = phone.say("もう しにたい")
    assert answer[0]["type"] == "text" and "0120-279-338" in answer[0]["text"] and "119" in answer[0]["text"]
    assert "続ける" in phone.texts() and "相談する" in phone.texts()
    assert "ご用件をお選びください" not in phone.texts()          # never just a menu
    [alert] = rows(live, SafetyAlert, user_id=MOTHER)
    assert alert.category == "life" and alert.body == "もう しにたい" and alert.status == "open"
    phone.tap("続ける")                                             # the booking, where it was
    assert "どこでもよい" in phone.texts() and "恐れ入りますが" not in phone.texts()
    phone.tap("どこでもよい")
    tap_data(phone, "bk|d|", 1)
    phone.tap("予約する")
    assert "お申し込みを受け付けました" in phone.texts()
    assert len(rows(live, CareBooking, user_id=MOTHER)) == 1


def test_an_emergency_at_night_gets_the_out_of_hours_answer(live):
    now = utcnow().astimezone(JST)
    night = datetime.combine(now.date() - timedelta(days=1 if now.hour < 23 else 0), time(23, 30), JST)
    live.app.state.worker.clock = lambda: night
    phone = Phone(StandIn(live.standin_url), MOTHER)
    answer = phone.say("赤ちゃんが息をしていないみたい！")
    net = live.app.state.worker.city.safety
    match = net.check("赤ちゃんが息をしていないみたい！")
    assert match.category == "emergency" and not net.in_hours(night)
    assert answer[0]["text"] == net.answer(match, "ja", night)
    assert answer[0]["text"].index("119") < 80                      # 119 first
    assert rows(live, SafetyAlert, user_id=MOTHER)[0].category == "emergency"


def test_a_consult_from_the_chat_to_a_staff_reply_and_her_reading_it(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.follow()
    phone.say("相談したいです")
    assert "どんなことのご相談ですか" in phone.texts()
    phone.tap("赤ちゃんのこと")
    phone.tap("このLINEで")
    assert "センターにお伝えしました" in phone.texts()
    phone.say("ミルクを飲む量が少ない気がします")
    assert "メッセージを受け取りました" in phone.texts()
    before = phone.seen
    assert phone.standin.send(MOTHER, {"type": "message", "message": {"type": "text", "text": "昨日は500mlでした"}})[
        "status"] == 200
    wait_for(lambda: len(rows(live, ConsultMessage)) == 2, timeout=10)
    assert phone.standin.messages(MOTHER, before) == []             # told once; then quiet
    [case] = rows(live, ConsultCase, user_id=MOTHER)

    client = staff_client(live)
    try:
        assert f"相談{case.id}" in client.get("/").text
        page = client.get(f"/consults/{case.id}").text
        assert "ミルクを飲む量が少ない気がします" in page and "昨日は500mlでした" in page
        response = client.post(f"/consults/{case.id}/reply",
                               data={"csrf": csrf(page), "body": "明日の午前、助産師がお電話しますね。"})
        assert response.status_code == 303
    finally:
        client.close()
    wait_push(phone, "お返事が届きました")
    assert "助産師" not in phone.texts()                            # nothing of the reply on a lock screen
    phone.tap("お返事を見る")
    assert "明日の午前、助産師がお電話しますね。" in phone.texts()
    assert rows(live, ConsultMessage, author="mother")[0].case_id == case.id
    assert all(m.read_at for m in rows(live, ConsultMessage) if m.author != "mother")


@pytest.mark.parametrize("typed", ["090-1234-5678", "09012345678", "０９０ー１２３４ー５６７８", "090 1234 5678",
                                   "+81 90-1234-5678"])
def test_a_phone_number_typed_in_any_common_form_reaches_the_case(live, typed):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.tap_action({"type": "postback", "data": "menu:consult"})
    phone.tap("気持ちのこと")
    phone.tap("電話で")
    phone.tap("平日の午後")
    phone.say("わからない")
    assert "うまく読み取れませんでした" in phone.texts()
    phone.say(typed)
    assert "090-1234-5678でよろしいですか" in phone.texts()
    phone.tap("はい")
    assert "平日の午後に、090-1234-5678へお電話します" in phone.texts()
    [case] = rows(live, ConsultCase, user_id=MOTHER)
    assert (case.answer_by, case.time_band, case.phone) == ("phone", "afternoon", "090-1234-5678")


def test_the_32_week_call_asks_her_number_for_the_staff_call_list(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    register_pregnant(phone, (today() + timedelta(days=80)).isoformat())
    with transaction(live.app.state.sessions) as session:   # the notice's day has come
        assert session.execute(update(Reminder).where(Reminder.kind == "call_notice", Reminder.user_id == MOTHER)
                               .values(due_at=utcnow() - timedelta(seconds=1))).rowcount == 1
    wait_push(phone, "お電話")
    phone.tap("平日の午前")
    assert "お電話する番号を" in phone.texts()
    phone.say("043-123-4567")
    phone.tap("はい")
    assert "043-123-4567にお電話します" in phone.texts()
    [mother] = rows(live, Mother, user_id=MOTHER)
    assert mother.phone == "043-123-4567"
    client = staff_client(live)
    try:
        assert "043-123-4567" in client.get(f"/calls?until={(today() + timedelta(days=90)).isoformat()}").text
    finally:
        client.close()
    # she can answer again later from her registration, not only from that one push
    phone.tap_action({"type": "postback", "data": "menu:register"})
    phone.tap("32週のお電話")
    phone.tap("平日の夕方")
    assert "平日の夕方にお電話します" in phone.texts() and "番号を" not in phone.texts()


def test_an_image_and_a_long_message_in_a_consult_and_its_erasure(live):
    phone = Phone(StandIn(live.standin_url), MOTHER)
    phone.tap_action({"type": "postback", "data": "menu:consult"})
    phone.tap("からだのこと")
    phone.tap("このLINEで")
    answer = phone._send({"type": "message", "message": {"type": "image", "id": "1", "contentProvider": {"type": "line"}}})
    assert "拝見できません" in json.dumps(answer, ensure_ascii=False)
    long_text = ("産後の体調について書きます。" * 400)[:5000]
    phone.standin.send(MOTHER, {"type": "message", "message": {"type": "text", "text": long_text}})  # told already
    assert wait_for(lambda: len(rows(live, ConsultMessage)) == 2, timeout=10)
    kinds = [(m.kind, len(m.body)) for m in rows(live, ConsultMessage)]
    assert kinds == [("image", 0), ("text", 5000)]
    phone.tap_action({"type": "postback", "data": "menu:delete"})
    phone.tap("削除に進む")
    phone.tap("削除する")
    assert "削除しました" in phone.texts()
    [case] = rows(live, ConsultCase)
    assert case.user_id.startswith("deleted:") and rows(live, ConsultMessage) == []
    # nothing of hers stays; only the rich-menu switch that unlinks her menu waits for the dispatcher (seconds)
    assert {r.kind for r in rows(live, Reminder, user_id=MOTHER)} <= {"richmenu"}
    assert wait_for(lambda: rows(live, Reminder, user_id=MOTHER) == [], timeout=15)
