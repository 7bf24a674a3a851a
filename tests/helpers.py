"""Test helpers: signing, posting events to the bot, waiting for the bot's answers."""
import base64
import hashlib
import hmac
import json
import time
import uuid

import httpx


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def user_event(user_id: str, type_: str, **fields) -> dict:
    event = {"type": type_, "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user_id}, "webhookEventId": uuid.uuid4().hex.upper()[:26],
             "deliveryContext": {"isRedelivery": False}}
    if type_ != "unfollow":
        event["replyToken"] = uuid.uuid4().hex
    event.update(fields)
    return event


def post_signed(url: str, secret: str, events: list[dict]) -> httpx.Response:
    body = json.dumps({"destination": "U" + "f" * 32, "events": events}, ensure_ascii=False).encode()
    return httpx.post(url, content=body, headers={"X-Line-Signature": sign(secret, body),
                                                  "Content-Type": "application/json"})


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class StandIn:
    """The user's side of the local LINE stand-in, over HTTP."""

    def __init__(self, url: str):
        self.url = url

    def send(self, user_id: str, event: dict, **extra) -> dict:
        response = httpx.post(f"{self.url}/_standin/send", json={"user_id": user_id, "event": event, **extra})
        response.raise_for_status()
        return response.json()

    def messages(self, user_id: str, after: int = 0) -> list[dict]:
        response = httpx.get(f"{self.url}/_standin/messages", params={"user_id": user_id, "after": after})
        return response.json()["messages"]

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.url}/_standin/requests").json()

    def fault(self, **spec) -> None:
        httpx.post(f"{self.url}/_standin/faults", json=spec).raise_for_status()

    def wait_messages(self, user_id: str, count: int, after: int = 0, timeout: float = 10.0) -> list[dict]:
        return wait_for(lambda: len(self.messages(user_id, after)) >= count and self.messages(user_id, after),
                        timeout) or self.messages(user_id, after)
