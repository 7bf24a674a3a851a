"""Tests of the local LINE stand-in (bot/standin) itself."""

import asyncio
import json
import time
import uuid
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    DatetimePickerAction,
    MessageAction,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent

from bot.standin.chat import Chat, picker_value, render, run_chat
from bot.standin.server import create_standin_app, sign
from tests.helpers import local_socket, serving

with warnings.catch_warnings():  # starlette's notice about httpx; not ours to fix
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SECRET = "test-channel-secret"
TOKEN = "test-access-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USER = "U" + "1" * 32


def text(t="こんにちは"):
    return {"type": "text", "text": t}


def receiver_app(received: list) -> FastAPI:
    """A webhook endpoint that checks signatures with the SDK's parser."""
    app = FastAPI()
    parser = WebhookParser(SECRET)

    @app.post("/callback")
    async def callback(request: Request):
        body = (await request.body()).decode("utf-8")
        try:
            events = parser.parse(body, request.headers.get("x-line-signature", ""))
        except InvalidSignatureError:
            return Response(status_code=400)
        received.append({"body": body, "events": events})
        return {}

    return app


@pytest.fixture
def received():
    return []


TOKEN_TTL = 2.0  # short, for the expiry test; long enough for a reply right after its event on a loaded machine


def new_client(received, reply_token_ttl: float = TOKEN_TTL) -> TestClient:
    return TestClient(create_standin_app(channel_secret=SECRET, access_token=TOKEN,
                                         webhook_url="http://bot/callback", reply_token_ttl=reply_token_ttl,
                                         webhook_transport=httpx.ASGITransport(app=receiver_app(received))))


@pytest.fixture
def client(received):
    return new_client(received)


def send(client, event, **extra) -> dict:
    response = client.post("/_standin/send", json={"user_id": USER, "event": event, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def reply_token(client) -> str:
    return send(client, {"type": "message", "message": text()})["event"]["replyToken"]


def delivered(client) -> list[dict]:
    return client.get("/_standin/messages", params={"user_id": USER}).json()["messages"]


# --- Messaging API


def test_sdk_valid_reply_is_accepted_and_delivered(client):
    request = ReplyMessageRequest(reply_token=reply_token(client), messages=[TextMessage(
        text="メニュー", quick_reply=QuickReply(items=[
            QuickReplyItem(action=PostbackAction(label="予約", data="action=book"))]))])
    response = client.post("/v2/bot/message/reply", headers=AUTH, content=request.to_json())
    assert response.status_code == 200
    [sent] = response.json()["sentMessages"]
    assert sent["id"].isdigit() and sent["quoteToken"]
    [message] = delivered(client)
    assert message["via"] == "reply" and message["seq"] == 1
    assert message["message"]["quickReply"]["items"][0]["action"]["data"] == "action=book"


def quick_replies(n, label="選ぶ", data="x"):
    action = {"type": "postback", "label": label, "data": data}
    return {**text(), "quickReply": {"items": [{"type": "action", "action": action}] * n}}


@pytest.mark.parametrize("messages, prop", [
    ([text()] * 6, "messages"),
    ([quick_replies(14)], "messages[0].quickReply.items"),
    ([quick_replies(1, label="あ" * 21)], "messages[0].quickReply.items[0].action.label"),
    ([quick_replies(1, data="d" * 301)], "messages[0].quickReply.items[0].action.data"),
    ([text("x" * 5001)], "messages[0].text"),
    ([{"type": "template", "altText": "a" * 401, "template": {
        "type": "confirm", "text": "?", "actions": [
            {"type": "message", "label": "はい", "text": "はい"},
            {"type": "message", "label": "いいえ", "text": "いいえ"}]}}], "messages[0].altText"),
    ([{"type": "text"}], "text"),  # found by the SDK model
])
def test_limits_are_enforced(client, messages, prop):
    body = {"replyToken": reply_token(client), "messages": messages}
    response = client.post("/v2/bot/message/reply", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body has")
    assert prop in [d["property"] for d in response.json()["details"]]
    assert delivered(client) == []
    # a refused body does not use up the reply token
    body["messages"] = [text()]
    assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 200


def test_reply_token_used_twice_expired_or_unknown(client):
    token = reply_token(client)
    body = {"replyToken": token, "messages": [text()]}
    assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 200
    again = client.post("/v2/bot/message/reply", headers=AUTH, json=body)
    assert again.status_code == 400 and again.json() == {"message": "Invalid reply token"}

    body["replyToken"] = reply_token(client)
    time.sleep(TOKEN_TTL + 0.1)
    assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 400
    body["replyToken"] = "f" * 32
    assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 400
    assert len(delivered(client)) == 1


def test_push_retry_key(client):
    client.post("/_standin/users", json={"user_id": USER, "display_name": "花子"})
    key = str(uuid.uuid4())
    body = {"to": USER, "messages": [text("お知らせ")]}
    first = client.post("/v2/bot/message/push", headers={**AUTH, "X-Line-Retry-Key": key}, json=body)
    assert first.status_code == 200
    second = client.post("/v2/bot/message/push", headers={**AUTH, "X-Line-Retry-Key": key}, json=body)
    assert second.status_code == 409
    assert second.json() == {"message": "The retry key is already accepted",
                             "sentMessages": first.json()["sentMessages"]}
    assert [m["via"] for m in delivered(client)] == ["push"]
    bad = client.post("/v2/bot/message/push", headers={**AUTH, "X-Line-Retry-Key": "nope"}, json=body)
    assert bad.status_code == 400
    log = client.get("/_standin/requests").json()
    assert [(r["endpoint"], r["status"], r["retry_key"]) for r in log] == [
        ("push", 200, key), ("push", 409, key), ("push", 400, "nope")]
    assert log[0]["body"] == body


def test_a_push_accepted_once_is_still_checked_whole_for_the_next(client):
    """The stand-in remembers accepted pushes without their address: another address must still be a
    string, and other messages or fields are checked again."""
    accepted = {"to": "U" + "8" * 32, "messages": [text("お知らせ")]}
    assert client.post("/v2/bot/message/push", headers=AUTH, json=accepted).status_code == 200
    assert client.post("/v2/bot/message/push", headers=AUTH, json={**accepted, "to": "U" + "7" * 32}).status_code == 200
    for refused in ({**accepted, "to": 5}, {"messages": accepted["messages"]},
                    {**accepted, "notificationDisabled": "yes"}, {**accepted, "messages": [text("x" * 5001)]}):
        assert client.post("/v2/bot/message/push", headers=AUTH, json=refused).status_code == 400, refused


def test_push_to_unknown_or_unfollowed_user_is_accepted_but_not_delivered(client):
    body = {"to": "U" + "9" * 32, "messages": [text()]}
    assert client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code == 200
    send(client, {"type": "unfollow"})
    body["to"] = USER
    assert client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code == 200
    assert delivered(client) == []
    assert [u["reason"] for u in client.get("/_standin/undelivered").json()] == [
        "unknown user", "unfollowed"]
    send(client, {"type": "follow"})
    assert client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code == 200
    assert len(delivered(client)) == 1


def test_bad_bearer_token(client):
    body = {"to": USER, "messages": [text()]}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = client.post("/v2/bot/message/push", headers=headers, json=body)
        assert response.status_code == 401
        assert response.json()["message"].startswith("Authentication failed")
    assert client.get("/v2/bot/info").status_code == 401


def test_profile_and_bot_info(client):
    client.post("/_standin/users", json={"user_id": USER, "display_name": "花子", "language": "en"})
    assert client.get(f"/v2/bot/profile/{USER}", headers=AUTH).json() == {
        "userId": USER, "displayName": "花子", "language": "en"}
    missing = client.get("/v2/bot/profile/U" + "0" * 32, headers=AUTH)
    assert missing.status_code == 404 and missing.json() == {"message": "Not found"}
    assert client.get("/v2/bot/info", headers=AUTH).json()["chatMode"] == "bot"


def test_fault_injection(client):
    send(client, {"type": "follow"})
    client.post("/_standin/faults", json={"endpoint": "push", "status": 500, "count": 2})
    body = {"to": USER, "messages": [text()]}
    token = reply_token(client)
    # reply is not affected by a push fault
    reply = {"replyToken": token, "messages": [text()]}
    assert client.post("/v2/bot/message/reply", headers=AUTH, json=reply).status_code == 200
    statuses = [client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code
                for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert len(delivered(client)) == 2

    client.post("/_standin/faults", json={"endpoint": "any", "status": 429, "count": 5,
                                          "body": {"message": "slow down"}})
    response = client.post("/v2/bot/message/push", headers=AUTH, json=body)
    assert (response.status_code, response.json()) == (429, {"message": "slow down"})
    client.delete("/_standin/faults")
    assert client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code == 200

    client.post("/_standin/faults", json={"endpoint": "push", "delay": 0.2})
    started = time.monotonic()
    assert client.post("/v2/bot/message/push", headers=AUTH, json=body).status_code == 200
    assert time.monotonic() - started >= 0.2


# --- user side


def test_send_builds_signed_webhook(client, received):
    result = send(client, {"type": "message", "message": text()})
    [hook] = received
    [event] = hook["events"]
    assert isinstance(event, MessageEvent) and event.message.text == "こんにちは"
    assert event.source.user_id == USER and event.mode == "active"
    assert len(event.webhook_event_id) == 26 and event.reply_token
    assert event.message.id.isdigit() and event.message.quote_token
    assert event.delivery_context.is_redelivery is False
    payload = json.loads(hook["body"])
    assert payload["destination"].startswith("U") and len(payload["destination"]) == 33
    assert payload["events"][0] == result["event"]
    assert "こんにちは" in hook["body"]  # ensure_ascii=False

    send(client, {"type": "follow"}, redelivery=True, webhook_event_id="01HZZZZZZZZZZZZZZZZZZZZZZZ")
    follow = received[-1]["events"][0]
    assert isinstance(follow, FollowEvent) and follow.reply_token
    assert follow.delivery_context.is_redelivery is True
    assert follow.webhook_event_id == "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    assert "replyToken" not in send(client, {"type": "unfollow"})["event"]

    send(client, {"type": "postback", "postback": {"data": "a=1", "params": {"date": "2026-01-05"}}})
    postback = received[-1]["events"][0]
    assert isinstance(postback, PostbackEvent) and postback.postback.params == {"date": "2026-01-05"}


def test_send_raw(client, received):
    body = '{"destination":"Uxx","events":[]}'
    assert client.post("/_standin/send_raw", json={"body": body}).json()["status"] == 200
    assert received[-1]["body"] == body
    bad = client.post("/_standin/send_raw", json={"body": body, "signature": sign("other", body.encode())})
    assert bad.json()["status"] == 400


def test_messages_after(client):
    send(client, {"type": "follow"})
    for n in range(3):
        client.post("/v2/bot/message/push", headers=AUTH, json={"to": USER, "messages": [text(str(n))]})
    messages = client.get("/_standin/messages", params={"user_id": USER, "after": 1}).json()["messages"]
    assert [(m["seq"], m["message"]["text"]) for m in messages] == [(2, "1"), (3, "2")]


# --- chat client


def test_render_numbers_choices():
    message = {**text("どれにしますか"), "quickReply": {"items": [
        {"type": "action", "action": {"type": "postback", "label": "予約する", "data": "a"}},
        {"type": "action", "action": {"type": "datetimepicker", "label": "日付",
                                      "data": "d", "mode": "date"}}]}}
    assert render(message) == ["どれにしますか", "  [1] 予約する", "  [2] 日付 (YYYY-MM-DD)"]
    flex = {"type": "flex", "altText": "教室のご案内", "contents": {"type": "bubble", "footer": {
        "type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": {"type": "uri", "label": "詳しく", "uri": "https://x"}}]}}}
    assert render(flex) == ["[教室のご案内]", "  ┌", "  [1] 詳しく (https://x)"]
    card = {"type": "flex", "altText": "結果", "contents": {"type": "carousel", "contents": [
        {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": "宿泊型"}, {"type": "text", "text": "ご利用いただけます"}]}}]}}
    assert render(card, first=4) == ["[結果]", "  ┌", "  │ 宿泊型", "  │ ご利用いただけます"]
    buttons = {"type": "template", "altText": "alt", "template": {
        "type": "buttons", "text": "選んでください",
        "actions": [{"type": "message", "label": "はい", "text": "はい"}]}}
    assert render(buttons) == ["[buttons] alt", "選んでください", "  [1] はい"]


def test_buttons_of_the_same_label_say_which_card_they_are_on():
    def bubble(title, label):
        return {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "text", "text": title}]}, "footer": {"type": "box", "layout": "vertical", "contents": [
                {"type": "button", "action": {"type": "postback", "label": label, "data": title}}]}}
    cards = {"type": "flex", "altText": "結果", "contents": {"type": "carousel", "contents": [
        bubble("宿泊型", "予約する"), bubble("日帰り型", "予約する"), bubble("訪問型", "詳しく")]},
        "quickReply": {"items": [{"type": "action", "action": {"type": "postback", "label": "予約する",
                                                               "data": "q"}}]}}
    assert render(cards)[-4:] == ["  [1] 予約する — 宿泊型", "  [2] 予約する — 日帰り型", "  [3] 詳しく",
                                  "  [4] 予約する"]


@pytest.mark.parametrize("typed", ["2026-11-10", "2026/11/10", "2026年11月10日", "2026/11/10 ", "２０２６年１１月１０日"])
def test_a_date_is_read_as_typed_in_japan(typed):
    assert picker_value("date", typed) == "2026-11-10"


def test_other_picker_values():
    assert picker_value("date", "2026/2/3") == "2026-02-03"
    assert [picker_value("date", bad) for bad in ("11/10", "2026/2/30", "あした", "")] == [None] * 4
    today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    assert picker_value("date", "today-30") == (today - timedelta(days=30)).isoformat()
    assert picker_value("date", "today") == today.isoformat()
    assert (picker_value("time", "9:30"), picker_value("time", "25:00")) == ("09:30", None)
    assert picker_value("datetime", "2026/11/10 9:30") == picker_value("datetime", "2026-11-10T09:30") \
        == "2026-11-10T09:30"


def test_the_date_prompt_asks_again_until_it_is_a_date(live_standin):
    out, answers = [], iter(["11/10", "2026年1月5日"])
    with httpx.Client(base_url=live_standin) as client:
        chat = Chat(client, "U" + "d" * 32, out.append, wait=3, ask=lambda prompt: next(answers))
        chat.handle("/follow")
        chat.handle("2")
    assert "(not a date: '11/10'; e.g. 2026-11-10, 2026/11/10, 2026年11月10日 or today-30)" in out
    assert "bot: postback action=date {'date': '2026-01-05'}" in out


def fake_bot(standin_url: str) -> FastAPI:
    """A tiny bot that answers every event through the stand-in with line-bot-sdk."""
    app = FastAPI()
    parser = WebhookParser(SECRET)
    menu = QuickReply(items=[
        QuickReplyItem(action=PostbackAction(label="予約する", data="action=book")),
        QuickReplyItem(action=DatetimePickerAction(label="日付を選ぶ", data="action=date", mode="date")),
        QuickReplyItem(action=MessageAction(label="ヘルプ", text="ヘルプ")),
    ])

    @app.post("/callback")
    async def callback(request: Request):
        events = parser.parse((await request.body()).decode(), request.headers["x-line-signature"])
        async with AsyncApiClient(Configuration(host=standin_url, access_token=TOKEN)) as api:
            for event in events:
                if isinstance(event, FollowEvent):
                    message = TextMessage(text="ようこそ", quick_reply=menu)
                elif isinstance(event, PostbackEvent):
                    message = TextMessage(text=f"postback {event.postback.data} {event.postback.params}")
                elif isinstance(event, MessageEvent):
                    message = TextMessage(text=f"echo: {event.message.text}")
                else:
                    continue
                await AsyncMessagingApi(api).reply_message(
                    ReplyMessageRequest(reply_token=event.reply_token, messages=[message]))
        return {}

    return app


@pytest.fixture(scope="module")
def live_standin():
    """The stand-in on uvicorn (a free 127.0.0.1 port), its webhook going to fake_bot in-process."""
    sock, url = local_socket()
    app = create_standin_app(channel_secret=SECRET, access_token=TOKEN, webhook_url="http://bot/callback",
                             webhook_transport=httpx.ASGITransport(app=fake_bot(url)))
    with serving(app, sock):
        yield url


def test_chat_script_passes(live_standin):
    out = []
    script = """
    # welcome, then tap each quick reply
    /follow
    ? ようこそ
    ? [1] 予約する
    1
    ? postback action=book None
    /follow
    2 2026-01-05
    ? {'date': '2026-01-05'}
    /follow
    3
    ? echo: ヘルプ
    hello
    ? echo: hello
    """.splitlines()
    assert run_chat(live_standin, "U" + "a" * 32, lines=[line.strip() for line in script],
                    out=out.append, wait=3) == 0, "\n".join(out)
    assert "> /follow" in out and "bot: ようこそ" in out and "bot:   [2] 日付を選ぶ (YYYY-MM-DD)" in out


def test_chat_script_failing_assertion(live_standin):
    out = []
    lines = ["/follow", "? さようなら", "never reached"]
    assert run_chat(live_standin, "U" + "b" * 32, lines=lines, out=out.append, wait=3) == 1
    assert any("さようなら" in line and "FAILED" in line for line in out)
    assert "bot: ようこそ" in out and "> never reached" not in out


def test_sdk_push_profile_and_info(live_standin):
    """The SDK's async client understands the stand-in's answers."""
    user = "U" + "c" * 32
    httpx.post(f"{live_standin}/_standin/users", json={"user_id": user, "display_name": "太郎"})

    async def calls():
        async with AsyncApiClient(Configuration(host=live_standin, access_token=TOKEN)) as api:
            line = AsyncMessagingApi(api)
            key = str(uuid.uuid4())
            sent = await line.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="y")]),
                                           x_line_retry_key=key)
            with pytest.raises(ApiException) as conflict:
                await line.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="y")]),
                                        x_line_retry_key=key)
            profile = await line.get_profile(user)
            info = await line.get_bot_info()
        return sent, conflict.value, profile, info

    sent, conflict, profile, info = asyncio.run(calls())
    assert sent.sent_messages[0].id.isdigit()
    assert conflict.status == 409
    assert profile.display_name == "太郎" and profile.language == "ja"
    assert info.basic_id == "@standin"


def test_reply_tokens_hook_issues_usable_tokens(received):
    client = new_client(received, reply_token_ttl=60.0)   # LINE's minute: six replies can take long when loaded
    tokens = client.post("/_standin/reply_tokens", json={"user_id": USER, "count": 3}).json()["tokens"]
    assert len(set(tokens)) == 3
    for token in tokens:
        body = {"replyToken": token, "messages": [text()]}
        assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 200
        assert client.post("/v2/bot/message/reply", headers=AUTH, json=body).status_code == 400
    assert [m["via"] for m in delivered(client)] == ["reply"] * 3
    assert client.post("/_standin/reply_tokens", json={"user_id": USER, "count": 0}).status_code == 422


def test_the_demo_script_screens_books_and_shows_the_booking(tmp_path):
    """bot/standin/demo.chat against the real bot on a new database, every "?" line checked."""
    from bot import local
    from tests.conftest import make_settings

    script = (Path(__file__).resolve().parents[1] / "bot/standin/demo.chat").read_text().splitlines()
    out = []
    with local.running(make_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}")) as servers:
        assert run_chat(servers.standin_url, "U" + "e" * 32, lines=script, out=out.append) == 0, "\n".join(out)
    checks = [line for line in script if line.startswith("?")]
    assert len(checks) >= 20 and all(f"> {line}" in out for line in checks)
    assert out[out.index("> ? [4] 予約の確認") + 1] == "> 4"  # the walk ends on the booking list


@pytest.mark.parametrize("ending", [EOFError, KeyboardInterrupt])
def test_ctrl_d_or_ctrl_c_at_a_date_prompt_ends_the_chat_without_a_traceback(tmp_path, monkeypatch, ending):
    from bot import local
    from tests.conftest import make_settings

    typed = iter(["3", "1", "1"])   # パパママ・0歳児教室, 妊娠中, 日付を選ぶ: the terminal asks for the date
    prompts = []

    def fake_input(prompt=""):
        prompts.append(prompt)
        try:
            return next(typed)
        except StopIteration:
            raise ending from None
    monkeypatch.setattr("builtins.input", fake_input)
    out = []
    with local.running(make_settings(f"sqlite:///{tmp_path / 'chat.sqlite3'}")) as servers:
        assert run_chat(servers.standin_url, "U" + "f" * 32, out=out.append, wait=3) == 0
    assert prompts[-1].startswith("YYYY-MM-DD"), (prompts, out)
