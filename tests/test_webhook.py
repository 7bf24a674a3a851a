"""The webhook over real HTTP, with the local LINE stand-in as LINE, on SQLite and PostgreSQL."""
import copy
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import local
from scheduling.store.models import InboundEvent, LineUser
from tests.conftest import DATA_KEY, SECRET, TOKEN, make_settings
from tests.helpers import StandIn, get, post, post_signed, sign, user_event, wait_for

EVENTS = Path(__file__).parent / "fixtures/line_events.json"
# Every event type and message content type of LINE's public webhook format (Messaging API reference).
LINE_EVENT_TYPES = {"message", "unsend", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft",
                    "postback", "videoPlayComplete", "beacon", "accountLink", "things", "membership", "module",
                    "activated", "deactivated", "botSuspended", "botResumed", "delivery", "messageEdited"}
MESSAGE_TYPES = {"text", "image", "video", "audio", "file", "location", "sticker"}
USER = "U" + "a" * 32


@pytest.fixture
def live(database_url):
    with local.running(make_settings(database_url)) as servers:
        yield servers


def count_events(servers) -> int:
    with servers.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent))


def pending_events(servers) -> int:
    with servers.app.state.sessions() as session:
        return session.scalar(select(func.count()).select_from(InboundEvent)
                              .where(InboundEvent.status != "done"))


def test_sdk_known_answer_vector_is_accepted(tmp_path):
    """LINE SDK's vector: secret 'channel_secret', body 'bodybodybodybody'. The signature passes;
    the body is then refused as malformed (not as badly signed)."""
    settings = make_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}", LINE_CHANNEL_SECRET="channel_secret")
    with local.running(settings) as servers:
        good = post(f"{servers.bot_url}/callback", content=b"bodybodybodybody",
                          headers={"X-Line-Signature": "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7k="})
        bad = post(f"{servers.bot_url}/callback", content=b"bodybodybodybody",
                         headers={"X-Line-Signature": "/gg9a+LvFevTH1sd7XCQycD7tsWclCsInj7MhBHxN7j="})
    assert (good.status_code, good.json()["message"]) == (400, "malformed body")
    assert (bad.status_code, bad.json()["message"]) == (400, "invalid signature")


def test_bad_signatures_get_400_and_leave_no_trace(live):
    body = json.dumps({"destination": "U1", "events": [user_event(USER, "follow")]}).encode()
    attempts = [
        {"X-Line-Signature": sign(SECRET, body)} | {"body": body.replace(b"follow", b"FOLLOW")},  # tampered
        {"X-Line-Signature": sign("another-secret", body), "body": body},
        {"body": body},  # no header
    ]
    for attempt in attempts:
        content = attempt.pop("body")
        response = post(f"{live.bot_url}/callback", content=content, headers=attempt)
        assert response.status_code == 400
    wait_for(lambda: False, timeout=0.5)
    assert count_events(live) == 0
    assert StandIn(live.standin_url).requests() == []


def test_verify_button_and_malformed_bodies(live):
    assert post_signed(f"{live.bot_url}/callback", SECRET, []).status_code == 200
    for body in (b"{not json", b'{"destination": "U1"}', b'[]', "\u3042".encode()):
        response = post(f"{live.bot_url}/callback", content=body,
                              headers={"X-Line-Signature": sign(SECRET, body)})
        assert response.status_code == 400, body
    assert count_events(live) == 0


def test_the_fixture_events_cover_every_line_event_type():
    samples = json.loads(EVENTS.read_text())["events"]
    assert {e["type"] for e in samples} >= LINE_EVENT_TYPES
    assert {e["message"]["type"] for e in samples if e["type"] == "message"} == MESSAGE_TYPES
    postback_params = {key for e in samples if e["type"] == "postback" for key in e["postback"].get("params", {})}
    assert postback_params >= {"date", "time", "datetime", "newRichMenuAliasId"}
    assert {e.get("source", {}).get("type") for e in samples} == {"user", "group", "room", None}


def test_every_line_event_type_is_acknowledged_without_error(live, caplog):
    samples = json.loads(EVENTS.read_text())["events"]
    assert len(samples) >= 20
    caplog.set_level(logging.WARNING)
    for sample in samples:
        event = copy.deepcopy(sample)
        event["webhookEventId"] = uuid.uuid4().hex
        event["timestamp"] = int(time.time() * 1000)   # the fixture's own dates are older than LINE redelivers
        response = post_signed(f"{live.bot_url}/callback", SECRET, [event])
        assert response.status_code == 200, (sample["type"], response.text)
    assert wait_for(lambda: pending_events(live) == 0, timeout=20)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    stored = count_events(live)
    user_samples = [e for e in samples if e.get("source", {}).get("type") == "user"
                    and e["type"] in ("message", "postback", "follow", "unfollow")]
    assert stored == len(user_samples)


def test_same_event_twice_and_redelivered_gets_one_answer(live):
    standin = StandIn(live.standin_url)
    event = {"type": "message", "message": {"type": "text", "text": "こんにちは"}}
    first = standin.send(USER, event, webhook_event_id="01HAGUKUMIDUPLICATE0000001")
    standin.send(USER, event, webhook_event_id="01HAGUKUMIDUPLICATE0000001")
    standin.send(USER, event, webhook_event_id="01HAGUKUMIDUPLICATE0000001", redelivery=True)
    assert first["status"] == 200
    standin.wait_messages(USER, 2)
    wait_for(lambda: False, timeout=1.0)  # give a wrong second answer the time to arrive
    assert len(standin.messages(USER)) == 2  # one answer: the hint and the menu
    assert len([r for r in standin.requests() if r["endpoint"] in ("reply", "push")]) == 1
    assert count_events(live) == 1


def test_follow_is_greeted_with_the_menu_end_to_end(live):
    standin = StandIn(live.standin_url)
    assert standin.send(USER, {"type": "follow", "follow": {"isUnblocked": False}})["status"] == 200
    greeting, menu = [m["message"] for m in standin.wait_messages(USER, 2)]
    assert "友だち追加ありがとうございます" in greeting["text"]
    labels = [item["action"]["label"] for item in menu["quickReply"]["items"]]
    assert labels == ["産後ケア", "利用申請", "パパママ・0歳児教室", "予約の確認", "妊娠・出産の登録", "相談する",
                      "使い方", "データの削除"]
    assert all(r["status"] == 200 for r in standin.requests())
    assert {r["endpoint"] for r in standin.requests()} >= {"reply"}


@pytest.mark.parametrize("message", [
    {"type": "text", "text": "おはようございます"},
    {"type": "sticker", "packageId": "1", "stickerId": "1", "stickerResourceType": "STATIC"},
    {"type": "image", "contentProvider": {"type": "line"}},
    {"type": "location", "latitude": 35.0, "longitude": 139.0, "address": "東京都"},
])
def test_messages_outside_a_dialog_get_a_hint_and_the_menu(live, message):
    standin = StandIn(live.standin_url)
    standin.send(USER, {"type": "message", "message": message})
    hint, menu = [m["message"] for m in standin.wait_messages(USER, 2)]
    assert "ボタン" in hint["text"]
    assert len(menu["quickReply"]["items"]) == 8


def test_language_comes_from_the_line_profile(live):
    standin = StandIn(live.standin_url)
    post(f"{live.standin_url}/_standin/users",
               json={"user_id": USER, "display_name": "Emma", "language": "en"}).raise_for_status()
    standin.send(USER, {"type": "follow", "follow": {"isUnblocked": False}})
    greeting = standin.wait_messages(USER, 2)[0]["message"]
    assert "Thank you for adding us" in greeting["text"]


def test_unfollow_marks_the_user_and_no_push_goes_to_them(live):
    from scheduling.messaging import outbox
    from scheduling.store.db import transaction
    from scheduling.store.models import OutgoingMessage, utcnow

    standin = StandIn(live.standin_url)
    standin.send(USER, {"type": "follow", "follow": {"isUnblocked": False}})
    standin.wait_messages(USER, 2)
    standin.send(USER, {"type": "unfollow"})
    sessions = live.app.state.sessions

    def unfollowed():
        with sessions() as session:
            user = session.get(LineUser, USER)
            return user is not None and not user.following
    assert wait_for(unfollowed)
    with transaction(sessions) as session:
        row_id = outbox.add(session, user_id=USER, now=utcnow(),
                            messages=[{"type": "text", "text": "予約が確定しました"}]).id

    def status():
        with sessions() as session:
            return session.get(OutgoingMessage, row_id).status
    assert wait_for(lambda: status() != "pending", timeout=10)
    assert status() == "skipped"
    assert [r for r in standin.requests() if r["endpoint"] == "push"] == []


def test_an_acknowledged_event_left_unhandled_is_handled_after_a_restart(database_url):
    settings = make_settings(database_url)
    with local.running(dataclasses.replace(settings, run_worker=False)) as stopped:
        standin = StandIn(stopped.standin_url)
        assert standin.send(USER, {"type": "follow", "follow": {"isUnblocked": False}})["status"] == 200
        wait_for(lambda: False, timeout=0.5)
        assert standin.messages(USER) == []
        assert pending_events(stopped) == 1
    with local.running(settings) as restarted:
        assert wait_for(lambda: pending_events(restarted) == 0, timeout=10)
        standin = StandIn(restarted.standin_url)
        # the stand-in was restarted too, so the old reply token is unknown there: the answer is pushed
        pushes = wait_for(lambda: [r for r in standin.requests() if r["endpoint"] == "push"])
        assert [r["status"] for r in pushes] == [200]
        assert pushes[0]["body"]["to"] == USER
        assert "友だち追加" in pushes[0]["body"]["messages"][0]["text"]


def test_healthz_reports_the_database(live):
    # a probe waits 1 s for the database: on a machine loaded by the rest of the suite, one may miss it
    response = wait_for(lambda: (r := get(f"{live.bot_url}/healthz")).status_code == 200 and r, timeout=10)
    assert response, "no 200 from /healthz within 10 s"
    body = response.json()
    assert body.pop("worker")["ok"] and body.pop("dispatcher")["ok"]
    assert body == {"ok": True, "database": True, "oldest_pending_seconds": 0}


def test_conversation_state_in_redis(database_url, redis_url):
    with local.running(make_settings(database_url, REDIS_URL=redis_url)) as servers:
        standin = StandIn(servers.standin_url)
        standin.send(USER, {"type": "follow", "follow": {"isUnblocked": False}})
        assert len(standin.wait_messages(USER, 2)) == 2
        body = get(f"{servers.bot_url}/healthz").json()
        assert body.pop("worker")["ok"] and body.pop("dispatcher")["ok"]
        assert body == {"ok": True, "database": True, "redis": True, "oldest_pending_seconds": 0}
        import redis
        assert redis.Redis.from_url(redis_url).get("hagukumi:state:" + USER) is not None


# Starts and stops the app in a fresh interpreter; prints the modules loaded that only answering needs.
STARTED_APP = """
import asyncio, sys
from bot.app import create_app
app = create_app()
async def started_and_stopped():
    async with app.router.lifespan_context(app):
        pass
asyncio.run(started_and_stopped())
print(" ".join(sorted(m for m in sys.modules if m in ("linebot.v3.messaging", "linebot.v3.webhooks",
                                                        "bot.worker", "bot.dispatcher", "bot.line_client"))))
"""


@pytest.mark.parametrize("inline_worker", ["0", "1"])
def test_a_webhook_process_loads_nothing_only_answering_needs(tmp_path, inline_worker):
    """`hagukumi serve`'s webhook processes (no inline worker) only store events: the worker, the dispatcher,
    the LINE client and the SDK's models (tens of megabytes a process) are loaded where answering is."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "HAGUKUMI_CITY_CONFIG")}
    env.update(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN, HAGUKUMI_DATA_KEYS=DATA_KEY,
               DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", HAGUKUMI_INLINE_WORKER=inline_worker,
               LINE_API_BASE_URL="http://127.0.0.1:9")
    started = subprocess.run([sys.executable, "-c", STARTED_APP], env=env, cwd=Path(__file__).parent.parent,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    loaded = started.stdout.split()
    if inline_worker == "0":
        assert loaded == []
    else:
        assert loaded == ["bot.dispatcher", "bot.line_client", "bot.worker", "linebot.v3.messaging",
                          "linebot.v3.webhooks"]
