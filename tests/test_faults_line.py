"""Fault tests of the way out to LINE: a reply LINE delivered but answered 500, LINE down for longer
than the old give-up time (on a short clock), with every answer and push delivered once after."""
import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest

from bot import line_client
from bot.line_client import LineClient
from scheduling.models import utcnow
from tests.fault_helpers import standin_running

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
