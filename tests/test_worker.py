"""The worker: per-user order, one slow user never delays another, crash re-runs, retries."""
import asyncio
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.line_client import Result
from bot.state import SqlStateStore
from bot.worker import Worker
from scheduling.city.city_file import load_city
from scheduling.messaging import inbox
from scheduling.store.db import transaction
from scheduling.store.models import InboundEvent, OutgoingMessage, utcnow
from tests.helpers import user_event, wait_for

CITY = load_city(Path(__file__).resolve().parents[1] / "config" / "city.toml")
SLOW, FAST = "U" + "1" * 32, "U" + "2" * 32


class RecordingLine:
    """Stands in for LineClient's interface; records what was sent and when."""

    def __init__(self, slow_users=(), result=None):
        self.sent, self.slow_users, self.result = [], set(slow_users), result or Result("sent", "reply")

    async def send(self, *, user_id, messages, **_):
        if user_id in self.slow_users:
            await asyncio.sleep(1.0)
        self.sent.append((user_id, messages[0]["text"]))
        return self.result

    async def profile_language(self, user_id):
        return "ja"


def store_events(sessions, events):
    rows = [dict(webhook_event_id=e["webhookEventId"], user_id=e["source"]["userId"], event_type=e["type"],
                 occurred_at=utcnow().fromtimestamp(e["timestamp"] / 1000, tz=utcnow().tzinfo),
                 is_redelivery=False, body=json.dumps(e, ensure_ascii=False)) for e in events]
    with transaction(sessions) as session:
        inbox.add(session, events=rows, now=utcnow())


def text_event(user, text, timestamp):
    return user_event(user, "message", timestamp=timestamp,
                      message={"type": "text", "id": "1", "quoteToken": "q", "text": text})


def run(worker_coro):
    return asyncio.run(worker_coro)


def new_worker(sessions, line, **options) -> Worker:
    """A worker as the worker process builds one, with the dialog state in the database."""
    return Worker(sessions=sessions, state_store=SqlStateStore(timedelta(hours=1)), line=line, city=CITY, **options)


def test_a_users_events_run_in_the_order_they_happened(sessions):
    line = RecordingLine()
    base = int(utcnow().timestamp() * 1000)
    # stored out of order, as LINE may deliver them
    store_events(sessions, [text_event(FAST, "メニュー", base + 2000), text_event(FAST, "産後ケア", base + 1000),
                            text_event(FAST, "こんにちは", base + 3000)])

    async def go():
        worker = new_worker(sessions, line)
        worker.kick(FAST, 3)   # three stored for her
        await worker.idle()
    run(go())
    firsts = [text for _, text in line.sent]
    assert firsts == ["産後ケアを利用できるか、いくつかの質問で確かめます。ボタンをタップして答えてください。"
                      "（回答はチャットに表示されません）",
                      "ご用件をお選びください。",
                      "こんにちは、はぐくみ市の子育て支援センターです。ご用件は、下のボタンからいつでもお選びいただけます。"]


def test_one_slow_user_does_not_delay_another(sessions):
    line = RecordingLine(slow_users=[SLOW])
    now = int(utcnow().timestamp() * 1000)
    store_events(sessions, [text_event(SLOW, "a", now), text_event(FAST, "b", now + 1)])

    async def go():
        worker = new_worker(sessions, line)
        worker.kick(SLOW)
        worker.kick(FAST)
        await worker.idle()
    run(go())
    assert [user for user, _ in line.sent] == [FAST, SLOW]


def test_an_event_claimed_by_a_worker_that_died_is_picked_up_by_the_sweep(sessions):
    line = RecordingLine()
    store_events(sessions, [text_event(FAST, "メニュー", int(utcnow().timestamp() * 1000))])
    with transaction(sessions) as session:  # a worker claims it, then dies
        claimed = inbox.claim_next(session, user_id=FAST, now=utcnow() - inbox.LEASE - timedelta(seconds=1))
    assert claimed is not None

    async def go():
        worker = new_worker(sessions, line)
        await worker.sweep()
        await worker.idle()
    run(go())
    assert len(line.sent) == 1
    with sessions() as session:
        assert session.scalar(select(InboundEvent.status)) == "done"


def test_a_message_line_could_not_take_is_retried_later_and_then_given_up(sessions):
    line = RecordingLine(result=Result("retry", error="HTTP 500"))
    store_events(sessions, [text_event(FAST, "メニュー", int(utcnow().timestamp() * 1000))])

    async def go():
        worker = new_worker(sessions, line)
        worker.kick(FAST)
        await worker.idle()
    run(go())
    with sessions() as session:
        row = session.scalars(select(OutgoingMessage)).one()
    assert (row.status, row.attempts, row.reply_token) == ("pending", 1, None)
    assert row.not_before > utcnow()
    assert "HTTP 500" in row.last_error


def test_two_worker_processes_answer_each_event_exactly_once(sessions):
    """Two workers (each with its own threads, as two processes would be) drain the same users at once."""
    base = int(utcnow().timestamp() * 1000)
    users = [f"U{n:032x}" for n in range(20)]
    store_events(sessions, [text_event(user, "こんにちは", base + i) for i in range(5) for user in users])
    lines = [RecordingLine(), RecordingLine()]

    async def go():
        workers = [new_worker(sessions, line) for line in lines]
        for user in users:
            for worker in workers:
                worker.kick(user, 5)
        await asyncio.gather(*(worker.idle() for worker in workers))
    run(go())
    sent = [user for line in lines for user, _ in line.sent]
    assert sorted(sent) == sorted(users * 5)
    with sessions() as session:
        assert set(session.scalars(select(InboundEvent.status))) == {"done"}


def test_an_event_that_keeps_failing_is_retried_with_backoff_then_set_aside_with_an_apology(sessions, monkeypatch):
    from dialogs import router
    real = router.handle

    def handle(state, event, ctx):
        if getattr(event, "text", "") == "壊れた入力":
            raise RuntimeError("a bug in a dialog")
        return real(state, event, ctx)
    monkeypatch.setattr(router, "handle", handle)
    line = RecordingLine()
    now = [utcnow()]
    store_events(sessions, [text_event(FAST, "壊れた入力", int(now[0].timestamp() * 1000)),
                            text_event(SLOW, "こんにちは", int(now[0].timestamp() * 1000))])

    async def go():
        worker = new_worker(sessions, line, clock=lambda: now[0])
        for _ in range(inbox.MAX_ATTEMPTS + 1):
            await worker.sweep()
            await worker.idle()
            now[0] += timedelta(minutes=5)  # past every backoff
    run(go())
    with sessions() as session:
        broken = session.scalars(select(InboundEvent).where(InboundEvent.user_id == FAST)).one()
        other = session.scalars(select(InboundEvent).where(InboundEvent.user_id == SLOW)).one()
    assert (broken.status, broken.attempts) == ("failed", inbox.MAX_ATTEMPTS)
    assert "a bug in a dialog" in broken.last_error
    assert other.status == "done"
    # only when it is given up does she hear from us: once, with an apology and the menu
    assert [user for user, _ in line.sent] == [SLOW, FAST]
    assert line.sent[1][1].startswith("申し訳ありません。うまく受け付けられませんでした。")


def test_sent_messages_are_forgotten_after_a_week_and_failed_ones_kept(sessions):
    from scheduling.messaging import outbox
    now = utcnow()
    with transaction(sessions) as session:
        old_sent = outbox.add(session, user_id=FAST, messages=[{"type": "text", "text": "a"}], now=now - timedelta(days=8))
        old_failed = outbox.add(session, user_id=FAST, messages=[{"type": "text", "text": "b"}],
                                now=now - timedelta(days=8))
        fresh = outbox.add(session, user_id=FAST, messages=[{"type": "text", "text": "c"}], now=now)
        outbox.mark_sent(session, sent=[(old_sent.id, "push")], now=now)
        outbox.mark_failed(session, message_id=old_failed.id, error="HTTP 400")
        outbox.mark_sent(session, sent=[(fresh.id, "push")], now=now)
    with transaction(sessions) as session:
        assert outbox.purge_sent(session, before=now - timedelta(days=7)) == 1
        left = {row.id for row in session.scalars(select(OutgoingMessage))}
    assert left == {old_failed.id, fresh.id}


def test_each_answer_is_sent_once_and_its_outcome_recorded_with_the_next_transaction(sessions):
    """She taps twice; each answer goes out after its own event, and 'sent' is written with the claim of
    the next event (no transaction of its own), the last one with the next sweep."""
    line = RecordingLine()
    base = int(utcnow().timestamp() * 1000)

    def statuses():
        with sessions() as session:
            return [(row.status, row.lease_until is not None) for row in
                    session.scalars(select(OutgoingMessage).order_by(OutgoingMessage.id))]

    async def go():
        worker = new_worker(sessions, line)
        store_events(sessions, [text_event(FAST, "メニュー", base)])
        worker.kick(FAST)
        await worker.idle(recorded=False)
        assert statuses() == [("pending", True)]   # sent, still held by this worker: nobody else sends it
        store_events(sessions, [text_event(FAST, "こんにちは", base + 1000)])
        worker.kick(FAST)
        await worker.idle(recorded=False)
        assert statuses() == [("sent", False), ("pending", True)]
        await worker.sweep()
        assert statuses() == [("sent", False), ("sent", False)]
        await worker.stop()
    run(go())
    assert [user for user, _ in line.sent] == [FAST, FAST]


def test_a_worker_stopped_after_sending_records_what_it_sent(sessions):
    line = RecordingLine()
    store_events(sessions, [text_event(FAST, "メニュー", int(utcnow().timestamp() * 1000))])

    async def go():
        worker = new_worker(sessions, line)
        worker.kick(FAST)
        await worker.idle(recorded=False)
        await worker.stop()
    run(go())
    with sessions() as session:
        assert session.scalars(select(OutgoingMessage.status)).all() == ["sent"]


def test_events_stored_together_are_all_answered_from_one_kick_that_counts_them(sessions):
    line = RecordingLine()
    base = int(utcnow().timestamp() * 1000)
    store_events(sessions, [text_event(FAST, "メニュー", base), text_event(FAST, "こんにちは", base + 1)])

    async def go():
        worker = new_worker(sessions, line)
        worker.kick(FAST, 2)
        await worker.idle()
    run(go())
    assert len(line.sent) == 2
    with sessions() as session:
        assert set(session.scalars(select(InboundEvent.status))) == {"done"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_stored_events_wake_a_listening_worker_at_once_and_a_rolled_back_store_does_not(database_url, sessions):
    """PostgreSQL's NOTIFY, sent in the webhook's transaction, reaches the worker process's listener at
    commit, naming the users: the worker takes them up then instead of at its next poll (30 s away)."""
    from bot.inbox_writer import InboxWriter
    from scheduling.messaging import wakeup
    line = RecordingLine()
    heard: list[dict] = []
    woken = threading.Event()

    async def go():
        worker = new_worker(sessions, line)
        loop = asyncio.get_running_loop()

        def on_notify(stored):
            heard.append(stored)
            woken.set()
            loop.call_soon_threadsafe(worker.wake, stored)
        listener = wakeup.Listener(database_url, on_notify)
        listener.start()
        try:
            assert await asyncio.to_thread(woken.wait, 5) and heard == [{}]   # on listening: sweep
            worker.start(sweep_every=30)
            await asyncio.sleep(0.3)   # the first sweep is over; the next poll is 30 s away
            woken.clear()
            with pytest.raises(RuntimeError), sessions.kw["bind"].begin() as connection:
                wakeup.notify(connection, {SLOW: 1})
                raise RuntimeError("rolled back")
            assert not await asyncio.to_thread(woken.wait, 0.5)
            event = text_event(FAST, "メニュー", int(utcnow().timestamp() * 1000))
            writer = InboxWriter(sessions)
            await writer.store([dict(webhook_event_id=event["webhookEventId"], user_id=FAST, event_type="message",
                                     occurred_at=utcnow(), is_redelivery=False, body=json.dumps(event),
                                     status="pending")])
            writer.close()
            for _ in range(40):
                if line.sent:
                    break
                await asyncio.sleep(0.05)
            assert [user for user, _ in line.sent] == [FAST]   # answered within 2 s, not 30
            assert heard[1:] == [{FAST: 1}]
        finally:
            await asyncio.to_thread(listener.stop)
            await worker.stop()
    run(go())


def test_a_long_notification_is_split_and_read_back_whole(monkeypatch):
    from scheduling.messaging import wakeup
    stored = {f"U{n:032x}": n % 3 + 1 for n in range(600)}   # about 21,000 bytes of user ids
    sent = []

    class Connection:
        class dialect:
            name = "postgresql"

    class Cursor:
        def fetchall(self):
            return []

    def execute(_connection, _sql, params):
        sent.append(params["payload"])
        return Cursor()
    monkeypatch.setattr(wakeup.raw, "execute", execute)
    wakeup.notify(Connection(), stored)
    assert len(sent) > 1 and all(len(payload.encode()) <= wakeup.PAYLOAD_LIMIT for payload in sent)
    heard: dict[str, int] = {}
    for payload in sent:
        heard.update(wakeup.parse(payload))
    assert heard == stored
    assert wakeup.parse("not a payload") == {}


def test_two_worker_processes_split_the_users_and_take_up_what_the_other_left():
    from bot.worker import ORPHANED_AFTER, Share
    users = [f"U{n:032x}" for n in range(200)]
    first, second = Share.parse("1/2"), Share.parse("2/2")
    mine = [u for u in users if first.owns(u)]
    assert 70 < len(mine) < 130 and not any(second.owns(u) for u in mine)
    assert all(first.owns(u) or second.owns(u) for u in users) and all(Share().owns(u) for u in users)
    with pytest.raises(ValueError):
        Share.parse("3/2")
    assert ORPHANED_AFTER.total_seconds() <= 60   # a share whose process is gone waits no longer


def test_a_worker_kicks_only_its_share_and_events_left_waiting_by_the_other(sessions):
    from bot.worker import ORPHANED_AFTER, Share
    line = RecordingLine()
    share = Share.parse("1/2")
    ours = next(f"U{n:032x}" for n in range(50) if share.owns(f"U{n:032x}"))
    theirs = next(f"U{n:032x}" for n in range(50) if not share.owns(f"U{n:032x}"))
    now = [utcnow()]
    base = int(now[0].timestamp() * 1000)
    store_events(sessions, [text_event(ours, "メニュー", base), text_event(theirs, "メニュー", base)])

    async def go():
        worker = new_worker(sessions, line, clock=lambda: now[0], share=share)
        worker.wake({ours: 1, theirs: 1})
        await worker.idle()
        assert [user for user, _ in line.sent] == [ours]
        await worker.sweep()   # hers is another process's, and has not waited long
        await worker.idle()
        assert [user for user, _ in line.sent] == [ours]
        now[0] += ORPHANED_AFTER + timedelta(seconds=1)   # that process may be gone: anyone takes her up
        await worker.sweep()
        await worker.idle()
        assert [user for user, _ in line.sent] == [ours, theirs]
    run(go())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_listener_whose_connection_dies_listens_again_and_has_the_worker_sweep(database_url, engine):
    """PostgreSQL restarted, or the connection cut: the listener connects again within a few seconds,
    asks for a sweep (events stored meanwhile were heard by no one), and hears the next NOTIFY."""
    from sqlalchemy import text

    from scheduling.messaging import wakeup
    heard: list[dict] = []
    listener = wakeup.Listener(database_url, heard.append)
    listener.start()
    try:
        assert wait_for(lambda: heard == [{}], timeout=5)
        with engine.begin() as connection:
            killed = connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND datname = current_database() AND pid <> pg_backend_pid()")
            ).scalars().all()
        assert killed and all(killed)
        assert wait_for(lambda: heard == [{}, {}], timeout=10)   # connected again: sweep
        with engine.begin() as connection:
            wakeup.notify(connection, {FAST: 2})
        assert wait_for(lambda: heard == [{}, {}, {FAST: 2}], timeout=5)
    finally:
        listener.stop()

