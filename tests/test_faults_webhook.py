"""Fault tests of the webhook's edge: one bad event among good ones, a huge or deeply nested body, an old
replayed event. Each is acknowledged or refused without harming any other request."""
import asyncio
import json
import socket
import time

import httpx
import pytest
from sqlalchemy import select

from bot import local
from bot.inbox_writer import InboxWriter
from scheduling.store.models import InboundEvent, utcnow
from tests.conftest import SECRET, make_settings
from tests.helpers import StandIn, sign, user_event, wait_for

pytestmark = pytest.mark.faults
TEXT = {"type": "text", "id": "468789577898262530", "quoteToken": "q", "text": "こんにちは"}


@pytest.fixture
def live(database_url):
    with local.running(make_settings(database_url)) as servers:
        yield servers


def stored(servers) -> dict[str, InboundEvent]:
    with servers.app.state.sessions() as session:
        return {row.webhook_event_id: row for row in session.scalars(select(InboundEvent))}


def body_of(events: list[dict]) -> bytes:
    return json.dumps({"destination": "U" + "f" * 32, "events": events}, ensure_ascii=False).encode()


async def post_all(url: str, bodies: list[bytes]) -> list[int]:
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(*(client.post(url, content=body, headers={"X-Line-Signature": sign(SECRET, body)})
                                           for body in bodies))
    return [r.status_code for r in responses]


def test_a_poisoned_event_among_sixty_requests_harms_none_of_the_others(live):
    good = [user_event(f"U{n:032x}", "message", message=TEXT) for n in range(57)]
    poisoned = [
        user_event("U" + "b" * 32, "message", webhookEventId="X" * 100),
        user_event("U\x00" + "c" * 31, "message"),
        user_event("U" + "d" * 32, "message", timestamp=-10**15),
    ]
    bodies = [body_of([event]) for event in good[:30] + poisoned + good[30:]]
    statuses = asyncio.run(post_all(f"{live.bot_url}/callback", bodies))
    assert statuses == [200] * 60
    rows = stored(live)
    assert all(event["webhookEventId"] in rows and rows[event["webhookEventId"]].status != "rejected"
               for event in good)
    rejected = [row for row in rows.values() if row.status == "rejected"]
    assert len(rejected) == 3
    reasons = sorted(row.last_error for row in rejected)
    assert any("webhookEventId" in r for r in reasons) and any("userId" in r for r in reasons)
    assert any("timestamp" in r for r in reasons)
    standin = StandIn(live.standin_url)

    def answered():  # the reply tokens are not the stand-in's, so every answer is a push
        return {r["body"]["to"] for r in standin.requests() if r["endpoint"] == "push" and r["status"] == 200}
    assert wait_for(lambda: len(answered()) == 57, timeout=20)
    wait_for(lambda: False, timeout=0.5)
    assert answered() == {event["source"]["userId"] for event in good}


def test_the_batch_writer_stores_the_good_requests_when_a_batch_fails_anyway(sessions):
    """A row the database refuses (one the webhook's checks would not let through) in a shared batch."""
    def row(n, user_id):
        return dict(webhook_event_id=f"ev-{n}", user_id=user_id, event_type="message", occurred_at=utcnow(),
                    is_redelivery=False, body="{}")

    async def scenario():
        writer = InboxWriter(sessions)
        requests = [writer.store([row(n, None if n == 7 else f"U{n}")]) for n in range(20)]
        results = await asyncio.gather(*requests, return_exceptions=True)
        writer.close()
        return results

    results = asyncio.run(scenario())
    assert [n for n, r in enumerate(results) if isinstance(r, Exception)] == [7]
    with sessions() as session:
        ids = set(session.scalars(select(InboundEvent.webhook_event_id)))
    assert ids == {f"ev-{n}" for n in range(20) if n != 7}


def test_a_deeply_nested_body_is_refused_with_400(live):
    body = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = httpx.post(f"{live.bot_url}/callback", content=body, headers={"X-Line-Signature": sign(SECRET, body)})
    assert (response.status_code, response.json()["message"]) == (400, "malformed body")
    assert httpx.get(f"{live.bot_url}/healthz").status_code == 200


def raw_request(url: str, head: str, chunks: list[bytes]) -> tuple[int, float]:
    """Send a request by hand (so the body need not be sent whole) and read the status line."""
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head.encode())
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except OSError:
                break
        status = sock.recv(200).split(b" ")[1]
        return int(status), time.monotonic() - started


def test_a_huge_body_gets_413_before_it_is_read(live):
    head = ("POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: bm9wZQ==\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n")
    status, seconds = raw_request(live.bot_url, head, [b"{" * 1000])  # 100 MB announced, 1 kB sent
    assert status == 413 and seconds < 2
    chunk = b"x" * (1024 * 1024)
    chunked = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 3 + [b"0\r\n\r\n"]
    head = ("POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: bm9wZQ==\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    assert raw_request(live.bot_url, head, chunked)[0] == 413  # no length given: counted while read
    assert httpx.get(f"{live.bot_url}/healthz").status_code == 200


def test_a_signed_event_older_than_the_purge_window_is_recorded_and_not_acted_on(live):
    month_ago = int((time.time() - 30 * 24 * 3600) * 1000)
    old = user_event("U" + "e" * 32, "message", timestamp=month_ago, message=TEXT)
    fresh = user_event("U" + "e" * 32, "message", message=TEXT)
    body = body_of([old, fresh])
    response = httpx.post(f"{live.bot_url}/callback", content=body, headers={"X-Line-Signature": sign(SECRET, body)})
    assert response.status_code == 200
    standin = StandIn(live.standin_url)
    assert wait_for(lambda: [r for r in standin.requests() if r["endpoint"] == "push"], timeout=10)
    wait_for(lambda: False, timeout=1.0)
    rows = stored(live)
    assert rows[old["webhookEventId"]].status == "rejected"
    assert "older than 7 days" in rows[old["webhookEventId"]].last_error
    assert rows[fresh["webhookEventId"]].status == "done"
    answers = [r for r in standin.requests() if r["endpoint"] in ("reply", "push") and r["status"] == 200]
    assert len(answers) == 1  # the fresh one only (as a push: the test's reply token is not the stand-in's)
