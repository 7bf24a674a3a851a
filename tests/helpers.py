"""Test helpers: signing, posting events to the bot, waiting for the bot's answers."""
import ast
import base64
import gc
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

# httpx.get and .post make a client per call, and each client a TLS context with the CA certificates
# loaded: that was half the CPU of the end-to-end tests, which poll the stand-in every 50 ms. The tests
# speak plain HTTP to 127.0.0.1, so one context made once serves every call.
TLS = ssl.create_default_context()


def local_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free 127.0.0.1 port, and its URL (for an app that must know its own address)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serving(app, sock: socket.socket | None = None):
    """An ASGI app (the LINE stand-in, say) on uvicorn in a thread of this process; yields its URL."""
    sock, url = (sock, f"http://127.0.0.1:{sock.getsockname()[1]}") if sock else local_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.install_signal_handlers = lambda: None  # noqa: E731 (the main thread keeps Ctrl-C)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, verify=TLS, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, verify=TLS, **kwargs)


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
    return post(url, content=body, headers={"X-Line-Signature": sign(secret, body),
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
        response = post(f"{self.url}/_standin/send", json={"user_id": user_id, "event": event, **extra})
        response.raise_for_status()
        return response.json()

    def messages(self, user_id: str, after: int = 0) -> list[dict]:
        response = get(f"{self.url}/_standin/messages", params={"user_id": user_id, "after": after})
        return response.json()["messages"]

    def requests(self) -> list[dict]:
        return get(f"{self.url}/_standin/requests").json()

    def fault(self, **spec) -> None:
        post(f"{self.url}/_standin/faults", json=spec).raise_for_status()

    def wait_messages(self, user_id: str, count: int, after: int = 0, timeout: float = 10.0) -> list[dict]:
        return wait_for(lambda: len(self.messages(user_id, after)) >= count and self.messages(user_id, after),
                        timeout) or self.messages(user_id, after)


def actions(message: dict) -> list[dict]:
    """Every tappable action of a LINE message: quick replies and flex buttons."""
    found = [item["action"] for item in (message.get("quickReply") or {}).get("items", [])]

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "button":
                found.append(node["action"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(message.get("contents"))
    return found


class Phone:
    """A user's phone on the stand-in: sends, taps by label, and reads the bot's last answer."""

    def __init__(self, standin: StandIn, user_id: str):
        self.standin, self.user_id, self.seen, self.last = standin, user_id, 0, []

    def _send(self, event: dict) -> list[dict]:
        sent = self.standin.send(self.user_id, event)
        assert sent["status"] == 200
        token = sent["event"].get("replyToken")
        got = wait_for(lambda: self.standin.messages(self.user_id, self.seen), timeout=10) or []
        if not any(token and m["reply_token"] == token for m in got):
            # not (yet) the reply to this event, which holds the whole answer: let the rest arrive
            wait_for(lambda: False, timeout=0.15)
            got = self.standin.messages(self.user_id, self.seen)
        assert got, "the bot did not answer"
        self.seen = got[-1]["seq"]
        self.last = [m["message"] for m in got]
        return self.last

    def follow(self):
        return self._send({"type": "follow", "follow": {"isUnblocked": False}})

    def say(self, text: str):
        return self._send({"type": "message", "message": {"type": "text", "text": text}})

    def tap(self, label: str, date: str | None = None, nth: int = 0):
        matching = [a for m in self.last for a in actions(m) if a.get("label") == label]
        assert len(matching) > nth, f"no button {label!r} in {self.texts()}"
        return self.tap_action(matching[nth], date)

    def tap_action(self, action: dict, date: str | None = None):
        postback = {"data": action["data"]}
        if action["type"] == "datetimepicker":
            postback["params"] = {"date": date}
        return self._send({"type": "postback", "postback": postback})

    def texts(self) -> str:
        return json.dumps(self.last, ensure_ascii=False)


def parse_python(path: Path) -> ast.Module:
    """ast.parse with the garbage collector held off: on CPython 3.11 a finalizer that runs during the
    parse (a coroutine or task some earlier test left behind) can fail it with "AST constructor recursion
    depth mismatch"."""
    gc.disable()
    try:
        return ast.parse(path.read_text(), str(path))
    finally:
        gc.enable()
