"""Fault tests of the way out to LINE: a reply LINE delivered but answered 500, LINE down for longer
than the old give-up time (on a short clock), with every answer and push delivered once after."""
import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot import line_client
from bot.dispatcher import Dispatcher
from bot.line_client import LineClient
from bot.state import SqlStateStore
from bot.worker import Worker
from scheduling.messaging import inbox, lease, outbox, reminders
from scheduling.store import audit
from scheduling.store.db import transaction
from scheduling.store.models import OutgoingMessage, Reminder, utcnow
from tests.fault_helpers import standin_running
from tests.test_worker import CITY, store_events, text_event

pytestmark = pytest.mark.faults
TOKEN, USER = "fault-token", "U" + "f" * 32
TEXT = [{"type": "text", "text": "こんにちは"}]


@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setattr(line_client, "BACKOFF", (0.05, 0.1, 0.2))
    with standin_running("s", TOKEN, "http://127.0.0.1:9/none") as (url, _app):
        httpx.post(f"{url}/_standin/users", json={"user_id": USER, "language": "ja"})
        yield url


def token_for(url: str) -> str:
    return httpx.post(f"{url}/_standin/reply_tokens", json={"user_id": USER}).json()["tokens"][0]


def send(url: str, token: str, **kwargs):
    async def go():
        client = LineClient(base_url=url, access_token=TOKEN)
        try:
            return await client.send(user_id=USER, messages=TEXT, retry_key=str(uuid.uuid4()), reply_token=token,
                                     reply_deadline=utcnow() + timedelta(seconds=30), now=utcnow(), **kwargs)
        finally:
            await client.close()
    return asyncio.run(go())


def delivered(url: str) -> list[dict]:
    return httpx.get(f"{url}/_standin/messages", params={"user_id": USER}).json()["messages"]


def calls(url: str) -> list[tuple[str, int]]:
    return [(r["endpoint"], r["status"]) for r in httpx.get(f"{url}/_standin/requests").json()]


def test_a_reply_line_delivered_but_answered_500_arrives_once(standin):
    httpx.post(f"{standin}/_standin/faults", json={"endpoint": "reply", "status": 500, "deliver": True})
    result = send(standin, token_for(standin))
    assert (result.status, result.via) == ("sent", "reply")
    assert len(delivered(standin)) == 1
    assert calls(standin) == [("reply", 500), ("reply", 400)]  # the token was used up: it was delivered


def test_a_reply_line_did_not_take_is_tried_again_with_its_token(standin):
    httpx.post(f"{standin}/_standin/faults", json={"endpoint": "reply", "status": 503})
    result = send(standin, token_for(standin))
    assert (result.status, result.via) == ("sent", "reply")
    assert len(delivered(standin)) == 1 and calls(standin) == [("reply", 503), ("reply", 200)]


def test_a_reply_sent_by_a_worker_that_died_before_recording_it_is_not_pushed_again(standin):
    token = token_for(standin)
    assert send(standin, token).status == "sent"
    again = send(standin, token, replied_before=True)  # the row's second claim, after the lease ran out
    assert (again.status, again.via) == ("sent", "reply")
    assert len(delivered(standin)) == 1 and calls(standin) == [("reply", 200), ("reply", 400)]


def test_a_reply_token_refused_at_first_use_falls_back_to_one_push(standin):
    result = send(standin, "never-issued")
    assert (result.status, result.via) == ("sent", "push")
    assert len(delivered(standin)) == 1 and calls(standin) == [("reply", 400), ("push", 200)]


@pytest.mark.slow(9)
def test_line_down_for_two_hours_then_every_answer_and_push_arrives_once(sessions, standin, monkeypatch):
    """On a short clock: LINE answers 500 to everything for two (simulated) hours, far beyond the old
    give-up time of about five minutes; after it recovers, each of five answers and one push arrives
    exactly once, the answers with an apology for being late."""
    monkeypatch.setattr(line_client, "BACKOFF", (0.0, 0.0, 0.0))
    users = [f"U{n:032x}" for n in range(5)]
    for user in users:
        httpx.post(f"{standin}/_standin/users", json={"user_id": user, "language": "ja"})
    start = utcnow().replace(hour=3, minute=0, second=0, microsecond=0)  # noon in Japan: no quiet hours
    clock = [start]
    httpx.post(f"{standin}/_standin/faults", json={"endpoint": "any", "status": 500, "count": 10**6})
    store_events(sessions, [text_event(user, "メニュー", int(start.timestamp() * 1000)) for user in users])
    with transaction(sessions) as session:
        reminders.add(session, user_id=users[0], kind="care_offer", facts={}, due_at=start,
                      now=start)

    async def scenario():
        line = LineClient(base_url=standin, access_token=TOKEN)
        worker = Worker(sessions=sessions, state_store=SqlStateStore(timedelta(hours=1)), line=line, city=CITY,
                        clock=lambda: clock[0])
        dispatcher = Dispatcher(sessions=sessions, line=line, config=CITY.booking, clock=lambda: clock[0])
        for user in users:
            worker.kick(user)
        await worker.idle()
        while clock[0] < start + timedelta(hours=2):
            clock[0] += timedelta(minutes=1)
            await worker.sweep()
            await worker.idle()
            await dispatcher.dispatch_due()
        with sessions() as session:
            down = [(row.status, row.attempts) for row in session.scalars(select(OutgoingMessage))]
            reminder = session.scalars(select(Reminder)).one()
            assert reminder.status == "pending"
        httpx.delete(f"{standin}/_standin/faults")
        clock[0] += lease.MAX_BACKOFF + timedelta(seconds=1)
        await worker.sweep()
        await worker.idle()
        await dispatcher.dispatch_due()
        await line.close()
        await worker.stop()
        return down, reminder.attempts

    down, reminder_attempts = asyncio.run(scenario())
    assert len(down) == 5 and {status for status, _ in down} == {"pending"}
    for user in users:
        got = delivered_to(standin, user)
        answers = [m for m in got if m["via"] == "push" and m["message"].get("text", "").startswith("お返事が遅く")]
        assert len(answers) == 1, got
    assert sum(1 for m in delivered_to(standin, users[0])
               if m["message"].get("text", "").startswith("子育て支援センターからのお知らせです。")) == 1  # the push
    with sessions() as session:
        assert {row.status for row in session.scalars(select(OutgoingMessage))} == {"sent"}
        assert session.scalars(select(Reminder)).one().status == "sent"
    print(f"\nLINE down 2 h (simulated): answers tried {max(a for _, a in down)} times, the push {reminder_attempts}"
          " times; all delivered once after recovery")


def delivered_to(url: str, user: str) -> list[dict]:
    return httpx.get(f"{url}/_standin/messages", params={"user_id": user}).json()["messages"]


def test_retry_after_is_honoured(standin):
    httpx.post(f"{standin}/_standin/faults", json={"endpoint": "push", "status": 429, "retry_after": 900, "count": 9})

    async def go():
        client = LineClient(base_url=standin, access_token=TOKEN)
        try:
            return await client.push(user_id=USER, messages=TEXT, retry_key=str(uuid.uuid4()))
        finally:
            await client.close()
    result = asyncio.run(go())
    assert (result.status, result.retry_after) == ("retry", 900)
    assert calls(standin) == [("push", 429)]  # no quick retries against LINE's wish
    now = utcnow()
    assert lease.next_try(3, now, result.retry_after) == now + timedelta(seconds=900)
    assert lease.next_try(30, now, None) == now + lease.MAX_BACKOFF


def test_staff_see_failed_and_long_delayed_messages_and_can_resend_one(sessions):
    now = utcnow()
    with transaction(sessions) as session:
        failed = outbox.add(session, user_id=USER, messages=TEXT, now=now - timedelta(days=2), source_event_id=1)
        outbox.mark_failed(session, message_id=failed.id, error="gave up")
        delayed = outbox.add(session, user_id=USER, messages=TEXT, now=now - timedelta(minutes=30))
        outbox.add(session, user_id=USER, messages=TEXT, now=now - timedelta(minutes=1))  # on its way
        old_key = failed.retry_key
    with transaction(sessions) as session:
        assert [row.id for row in outbox.troubled(session, now=now)] == [failed.id, delayed.id]
        assert outbox.resend(session, message_id=failed.id, actor="staff:tanaka", now=now)
        assert not outbox.resend(session, message_id=delayed.id, actor="staff:tanaka", now=now)  # not failed
    with sessions() as session:
        row = session.get(OutgoingMessage, failed.id)
        assert (row.status, row.not_before) == ("pending", now) and row.retry_key != old_key
        assert [(e.actor, e.action) for e in audit.entries(session)] == [("staff:tanaka", "message.resend")]


def test_today_shows_undelivered_answers_and_staff_resend_one(sessions):
    from tests.admin_helpers import add_staff, admin_app, csrf_of, signed_in_client
    now = utcnow()
    with transaction(sessions) as session:
        failed = outbox.add(session, user_id=USER, messages=TEXT, now=now - timedelta(days=1), source_event_id=1)
        outbox.mark_failed(session, message_id=failed.id, error="HTTP 500: gave up")
        push = reminders.add(session, user_id=USER, kind="care_offer", facts={},
                             due_at=now - timedelta(days=1), now=now - timedelta(days=2))
        reminders.mark(session, reminder_id=push.id, status="failed", error="HTTP 500: gave up")
        late = reminders.add(session, user_id=USER, kind="care_offer", facts={},
                             due_at=now + timedelta(minutes=5), now=now - timedelta(hours=1))
        late.first_tried_at = now - timedelta(minutes=40)
        inbox.add(session, events=[dict(webhook_event_id="waiting", user_id=USER, event_type="message",
                                        occurred_at=now, is_redelivery=False, body="{}")], now=now - timedelta(minutes=7))
    add_staff(sessions, "desk", "staff")
    client = signed_in_client(admin_app(sessions), "desk")
    today = client.get("/")
    assert "届いていない返信（1件）" in today.text and "送れませんでした" in today.text
    assert "お答えしていないメッセージが1件あります（いちばん古いものは7分前に届きました）" in today.text
    response = client.post(f"/messages/{failed.id}/resend", data={"csrf": csrf_of(today.text)})
    assert response.status_code == 303
    assert client.post(f"/messages/{failed.id}/resend", data={"csrf": csrf_of(today.text)}).status_code == 404
    assert "送れていないお知らせ（2件）" in today.text and "配信が遅れています（再試行中）：" in today.text
    assert client.post(f"/reminders/{push.id}/resend", data={"csrf": csrf_of(today.text)}).status_code == 303
    assert client.post(f"/reminders/{late.id}/resend", data={"csrf": csrf_of(today.text)}).status_code == 404
    with sessions() as session:
        assert session.get(OutgoingMessage, failed.id).status == "pending"
        assert session.get(Reminder, push.id).status == "pending"
        assert {"message.resend", "reminder.resend"} <= {e.action for e in audit.entries(session)}
