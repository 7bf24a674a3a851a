"""Outgoing messages against the stand-in: retry key, backoff on 429/5xx, 409 as delivered, 4xx failed."""
import asyncio
import uuid
from datetime import timedelta

import pytest

from bot import line_client
from bot.line_client import LineClient
from bot.standin.server import create_standin_app
from scheduling.store.models import utcnow
from tests.helpers import get, post, serving

TOKEN = "token"
USER = "U" + "b" * 32
TEXT = [{"type": "text", "text": "予約が確定しました"}]


@pytest.fixture
def standin(monkeypatch):
    monkeypatch.setattr(line_client, "BACKOFF", (0.01, 0.02, 0.03))
    app = create_standin_app(channel_secret="s", access_token=TOKEN, webhook_url="http://127.0.0.1:9/none")
    with serving(app) as url:
        post(f"{url}/_standin/users", json={"user_id": USER, "display_name": "x", "language": "ja"})
        yield url


def push(url, retry_key, **kwargs):
    async def go():
        client = LineClient(base_url=url, access_token=kwargs.pop("token", TOKEN))
        try:
            return await client.push(user_id=USER, messages=kwargs.pop("messages", TEXT), retry_key=retry_key)
        finally:
            await client.close()
    return asyncio.run(go())


def pushes(url):
    return [r for r in get(f"{url}/_standin/requests").json() if r["endpoint"] == "push"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_errors_are_retried_with_the_same_key(standin, status):
    post(f"{standin}/_standin/faults", json={"endpoint": "push", "status": status, "count": 2})
    key = str(uuid.uuid4())
    result = push(standin, key)
    assert (result.status, result.via) == ("sent", "push")
    log = pushes(standin)
    assert [r["status"] for r in log] == [status, status, 200]
    assert {r["retry_key"] for r in log} == {key}
    assert len(get(f"{standin}/_standin/messages", params={"user_id": USER}).json()["messages"]) == 1


def test_a_resend_after_lines_acceptance_counts_as_delivered(standin):
    key = str(uuid.uuid4())
    assert push(standin, key).status == "sent"
    again = push(standin, key)  # e.g. after a crash before the row was marked sent
    assert (again.status, again.via) == ("sent", "push")
    assert [r["status"] for r in pushes(standin)] == [200, 409]
    assert len(get(f"{standin}/_standin/messages", params={"user_id": USER}).json()["messages"]) == 1


def test_a_request_the_sdk_refuses_fails_without_a_call(standin):
    result = push(standin, str(uuid.uuid4()), messages=TEXT * 6)
    assert result.status == "failed"
    assert pushes(standin) == []


def test_other_client_errors_fail_at_once_with_lines_error_body(standin, caplog):
    long_label = [{"type": "text", "text": "x", "quickReply": {"items": [
        {"type": "action", "action": {"type": "postback", "label": "あ" * 21, "data": "d"}}]}}]
    result = push(standin, str(uuid.uuid4()), messages=long_label)
    assert result.status == "failed"
    assert "400" in result.error
    assert len(pushes(standin)) == 1  # never retried
    assert any("LINE refused a push" in r.getMessage() for r in caplog.records)


def test_wrong_token_is_a_failure_not_a_retry(standin):
    result = push(standin, str(uuid.uuid4()), token="wrong")
    assert result.status == "failed" and "401" in result.error


def test_persistent_outage_is_left_for_a_later_try(standin):
    post(f"{standin}/_standin/faults", json={"endpoint": "push", "status": 500, "count": 10})
    result = push(standin, str(uuid.uuid4()))
    assert result.status == "retry"
    assert len(pushes(standin)) == 1 + len(line_client.BACKOFF)


def test_an_expired_reply_token_falls_back_to_a_push(standin):
    async def go():
        client = LineClient(base_url=standin, access_token=TOKEN)
        try:
            return await client.send(user_id=USER, messages=TEXT, retry_key=str(uuid.uuid4()),
                                     reply_token="never-issued", reply_deadline=utcnow() + timedelta(seconds=30),
                                     now=utcnow())
        finally:
            await client.close()
    result = asyncio.run(go())
    assert (result.status, result.via) == ("sent", "push")
