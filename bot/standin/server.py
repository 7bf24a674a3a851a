"""A fake LINE platform for development and tests.

For the bot it plays LINE's Messaging API (same paths as https://api.line.me):
    POST /v2/bot/message/reply, POST /v2/bot/message/push,
    GET /v2/bot/profile/{user_id}, GET /v2/bot/info,
    rich menus: POST /v2/bot/richmenu, GET /v2/bot/richmenu/list, GET|DELETE /v2/bot/richmenu/{id},
    POST /v2/bot/richmenu/{id}/content (LINE serves it on api-data.line.me; here on the same base URL),
    POST|GET|DELETE /v2/bot/user/all/richmenu[/{id}] (the default),
    GET /v2/bot/user/{userId}/richmenu, POST|DELETE /v2/bot/user/{userId}/richmenu[/{id}] (per user),
    POST /v2/bot/richmenu/alias, GET /v2/bot/richmenu/alias/list, GET|POST|DELETE /v2/bot/richmenu/alias/{id}

For developers and tests it plays the user's phone and offers test hooks:
    POST /_standin/users       register/update a profile
    POST /_standin/send        send a webhook event as a user (signed, to webhook_url)
    POST /_standin/send_raw    post an exact webhook body
    POST /_standin/reply_tokens issue fresh reply tokens for a user (for benchmarks)
    GET  /_standin/messages    messages the bot sent to users (?user_id=&after=)
    GET  /_standin/requests    log of every Messaging API call
    GET  /_standin/undelivered pushes accepted but not delivered
    GET  /_standin/richmenu/{user_id}  the rich menu she sees (hers, else the default)
    POST /_standin/faults      make the next API calls fail / be slow
    DELETE /_standin/faults    clear faults
    POST /_standin/reset       forget everything
    LIFF and LINE Login (the 利用申請 form): GET /liff/{liffId}, GET /_standin/liff/sdk.js,
    POST /oauth2/v2.1/verify, and their test hooks (bot/standin/liff.py)

Run it:  python -m bot.standin.server --webhook-url http://127.0.0.1:8000/callback
"""

import asyncio
import base64
import bisect
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from linebot.v3.messaging import (
    CreateRichMenuAliasRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
    UpdateRichMenuAliasRequest,
)
from pydantic import BaseModel, Field

from bot.standin.liff import add_liff_routes
from bot.standin.richmenus import RichMenus, layout_problems

DEFAULT_DISPLAY_NAME = "テストユーザー"
REPLY_TOKEN_EVENTS = {
    "message", "postback", "follow", "join", "memberJoined", "beacon",
    "accountLink", "things", "videoPlayComplete",
}
QUOTABLE_TYPES = {"text", "textV2", "sticker", "image", "video"}
ACCEPTED_KEEP = 10_000  # requests (without their address) the checks accepted, remembered
BOT_INFO = {
    "userId": "U" + "0" * 31 + "1",
    "basicId": "@standin",
    "displayName": "はぐくみ (stand-in)",
    "chatMode": "bot",
    "markAsReadMode": "auto",
}
AUTH_FAILED = {"message": "Authentication failed. Confirm that the access token "
                          "in the authorization header is valid."}
FAULT_BODIES = {
    429: {"message": "The API rate limit has been exceeded. Try again later."},
    500: {"message": "An error occurred in the API server."},
}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id() -> str:
    """A 26-char ULID-like id: 10 chars of millisecond time, 16 random."""
    ms = int(time.time() * 1000)
    head = "".join(_CROCKFORD[(ms >> (5 * i)) & 31] for i in reversed(range(10)))
    return head + "".join(secrets.choice(_CROCKFORD) for _ in range(16))


def new_message_id() -> str:
    return str(10**17 + secrets.randbelow(9 * 10**17))


def sign(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def error(status: int, message: str, details: list | None = None) -> tuple[int, dict]:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return status, body


def check_limits(body: dict) -> list[dict]:
    """LINE's size limits, as error details. An empty list means all is well."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return []  # the SDK model reports this
    if not 1 <= len(messages) <= 5:
        return [{"message": "Size must be between 1 and 5", "property": "messages"}]
    details: list[dict] = []

    def too_long(value, limit, prop):
        if isinstance(value, str) and len(value) > limit:
            details.append({"message": f"Length must be between 0 and {limit}", "property": prop})

    def walk(node, path):
        if isinstance(node, dict):
            too_long(node.get("label"), 20, f"{path}.label")
            if node.get("type") == "postback":
                too_long(node.get("data"), 300, f"{path}.data")
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, dict):
            continue
        if message.get("type") in ("text", "textV2"):
            too_long(message.get("text"), 5000, f"{path}.text")
        if message.get("type") in ("template", "flex"):
            too_long(message.get("altText"), 400, f"{path}.altText")
        quick_reply = message.get("quickReply")
        items = quick_reply.get("items") if isinstance(quick_reply, dict) else None
        if isinstance(items, list) and len(items) > 13:
            details.append({"message": "Size must be between 1 and 13",
                            "property": f"{path}.quickReply.items"})
        walk(message, path)
    return details


def sdk_errors(model, raw: str) -> list[dict]:
    """Validate with line-bot-sdk's own request model."""
    try:
        model.from_json(raw)
        return []
    except Exception as exc:  # pydantic.v1 ValidationError, ValueError, TypeError
        if hasattr(exc, "errors"):
            return [{"message": e["msg"], "property": ".".join(str(p) for p in e["loc"])}
                    for e in exc.errors()]
        return [{"message": str(exc), "property": ""}]


class LineState:
    """Everything the stand-in remembers. Safe to use from several threads."""

    def __init__(self, reply_token_ttl: float = 60.0):
        self.reply_token_ttl = reply_token_ttl
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.users: dict[str, dict] = {}
            self.reply_tokens: dict[str, tuple[str, float]] = {}  # token -> (user, issued)
            self.retry_keys: dict[str, list[dict]] = {}  # key -> sentMessages
            self.messages: list[dict] = []
            self.messages_of: dict[str, list[dict]] = {}  # the same, by user (a benchmark polls per user)
            self.undelivered: list[dict] = []
            self.requests: list[dict] = []
            self.faults: list[dict] = []
            self.seq = 0

    # --- users
    def _user(self, user_id: str) -> dict:
        if user_id not in self.users:
            self.users[user_id] = {"userId": user_id, "displayName": DEFAULT_DISPLAY_NAME,
                                   "language": "ja", "followed": True}
        return self.users[user_id]

    def upsert_user(self, user_id: str, display_name: str | None = None,
                    language: str | None = None, followed: bool | None = None) -> dict:
        with self._lock:
            user = self._user(user_id)
            for key, value in (("displayName", display_name), ("language", language),
                               ("followed", followed)):
                if value is not None:
                    user[key] = value
            return dict(user)

    def profile(self, user_id: str) -> dict | None:
        with self._lock:
            user = self.users.get(user_id)
            return {k: user[k] for k in ("userId", "displayName", "language")} if user else None

    # --- webhook events
    def build_event(self, user_id: str, partial: dict, redelivery: bool = False,
                    webhook_event_id: str | None = None) -> dict:
        event = json.loads(json.dumps(partial))  # deep copy
        kind = event.setdefault("type", "message")
        with self._lock:
            user = self._user(user_id)
            if kind == "follow":
                event.setdefault("follow", {"isUnblocked": not user["followed"]})
                user["followed"] = True
            elif kind == "unfollow":
                user["followed"] = False
            if kind in REPLY_TOKEN_EVENTS:
                token = secrets.token_hex(16)
                self.reply_tokens[token] = (user_id, time.monotonic())
                event["replyToken"] = token
        event.setdefault("mode", "active")
        event.setdefault("timestamp", int(time.time() * 1000))
        event.setdefault("source", {"type": "user", "userId": user_id})
        event["webhookEventId"] = webhook_event_id or new_event_id()
        event["deliveryContext"] = {"isRedelivery": bool(redelivery)}
        if kind == "message":
            message = event.setdefault("message", {"type": "text", "text": ""})
            message.setdefault("id", new_message_id())
            if message.get("type") in QUOTABLE_TYPES:
                message.setdefault("quoteToken", secrets.token_urlsafe(24))
        return event

    def issue_reply_tokens(self, user_id: str, count: int) -> list[str]:
        """Fresh reply tokens for the user, as if that many events had been sent."""
        with self._lock:
            self._user(user_id)
            now = time.monotonic()
            tokens = [secrets.token_hex(16) for _ in range(count)]
            self.reply_tokens.update((token, (user_id, now)) for token in tokens)
            return tokens

    # --- Messaging API
    def _deliver(self, user_id: str, messages: list[dict], via: str, reply_token: str | None = None) -> list[dict]:
        """`at`: when it arrived (time.time(), for benchmarks); `request`: which API call brought it;
        `reply_token`: the token a reply used (so a test knows its event's whole answer is there)."""
        sent = []
        self.deliveries = getattr(self, "deliveries", 0) + 1
        at = time.time()
        for message in messages:
            self.seq += 1
            record = {"seq": self.seq, "user_id": user_id, "via": via, "message": message, "at": at,
                      "request": self.deliveries, "reply_token": reply_token}
            self.messages.append(record)
            self.messages_of.setdefault(user_id, []).append(record)
            sent.append(self._sent_message(message))
        return sent

    @staticmethod
    def _sent_message(message: dict) -> dict:
        item = {"id": new_message_id()}
        if message.get("type") in QUOTABLE_TYPES:
            item["quoteToken"] = secrets.token_urlsafe(24)
        return item

    def reply(self, token: str, messages: list[dict]) -> list[dict] | None:
        """Deliver a reply; None if the token is unknown, used or expired."""
        with self._lock:
            issued = self.reply_tokens.pop(token, None)
            if issued is None or time.monotonic() - issued[1] > self.reply_token_ttl:
                return None
            return self._deliver(issued[0], messages, "reply", token)

    def push(self, to: str, messages: list[dict], retry_key: str | None) -> tuple[int, dict]:
        with self._lock:
            if retry_key and retry_key in self.retry_keys:
                return 409, {"message": "The retry key is already accepted",
                             "sentMessages": self.retry_keys[retry_key]}
            user = self.users.get(to)
            if user and user["followed"]:
                sent = self._deliver(to, messages, "push")
            else:
                # LINE accepts pushes to users who blocked the account (200, nothing
                # arrives), so we do the same for unknown users too; the stand-in
                # keeps them so tests can see what was dropped.
                sent = [self._sent_message(m) for m in messages]
                reason = "unknown user" if user is None else "unfollowed"
                self.undelivered.extend({"to": to, "reason": reason, "message": m}
                                        for m in messages)
            if retry_key:
                self.retry_keys[retry_key] = sent
            return 200, {"sentMessages": sent}

    # --- test hooks
    def add_fault(self, fault: dict) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(self, endpoint: str) -> dict | None:
        with self._lock:
            for fault in self.faults:
                if fault["endpoint"] in (endpoint, "any") and fault["count"] > 0:
                    fault["count"] -= 1
                    return dict(fault)
            return None

    def log(self, endpoint: str, status: int, retry_key: str | None, body: Any) -> None:
        with self._lock:
            self.requests.append({"endpoint": endpoint, "status": status,
                                  "retry_key": retry_key, "body": body})

    def messages_for(self, user_id: str | None = None, after: int = 0) -> list[dict]:
        with self._lock:
            found = self.messages if user_id is None else self.messages_of.get(user_id, [])
            return found[bisect.bisect_right(found, after, key=lambda m: m["seq"]):]  # in seq order


class UserIn(BaseModel):
    user_id: str
    display_name: str | None = None
    language: str | None = None
    followed: bool | None = None


class SendIn(BaseModel):
    user_id: str
    event: dict
    redelivery: bool = False
    webhook_event_id: str | None = None


class ReplyTokensIn(BaseModel):
    user_id: str
    count: int = Field(1, ge=1, le=100_000)


class SendRawIn(BaseModel):
    body: str
    signature: str | None = None


class FaultIn(BaseModel):
    endpoint: str = "any"  # push | reply | profile | info | richmenu | any
    status: int | None = None  # None: only delay, then answer normally
    count: int = 1
    body: dict | None = None
    delay: float = 0.0
    deliver: bool = False  # handle the call (deliver the messages) and still answer `status`
    retry_after: int | None = None  # a Retry-After header on the faulty answer


def create_standin_app(*, channel_secret: str, access_token: str, webhook_url: str,
                       reply_token_ttl: float = 60.0,
                       webhook_transport: httpx.AsyncBaseTransport | None = None,
                       liff_apps: dict[str, str] | None = None) -> FastAPI:
    """Build the stand-in. ``webhook_transport`` lets tests deliver webhooks in-process; ``liff_apps``:
    LIFF id -> the app's endpoint URL (bot/standin/liff.py)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if app.state.webhook_client is not None:
            await app.state.webhook_client.aclose()

    app = FastAPI(title="LINE stand-in", lifespan=lifespan)
    state = LineState(reply_token_ttl)
    menus = RichMenus()
    app.state.line, app.state.richmenus, app.state.webhook_client = state, menus, None
    destination = "U" + hashlib.md5(channel_secret.encode()).hexdigest()

    async def api_call(request: Request, endpoint: str, handle, binary: bool = False) -> JSONResponse:
        """Common part of every Messaging API call: faults, auth, logging. `binary`: the handler gets the
        body's bytes (an image), and the log only its type and size."""
        data = await request.body()
        raw = data if binary else data.decode("utf-8", "replace")
        retry_key = request.headers.get("x-line-retry-key")
        logged: object
        if binary:
            logged = {"content_type": request.headers.get("content-type"), "bytes": len(data)}
        else:
            try:
                logged = json.loads(raw) if raw else None
            except ValueError:
                logged = raw
        fault = state.take_fault(endpoint)
        if fault and fault["delay"]:
            await asyncio.sleep(fault["delay"])
        if fault and fault["status"]:
            if fault["deliver"] and request.headers.get("authorization") == f"Bearer {access_token}":
                handle(raw, retry_key)  # LINE did the work, then its answer was lost
            status = fault["status"]
            body = fault["body"] or FAULT_BODIES.get(status, {"message": f"Injected fault {status}"})
        elif request.headers.get("authorization") != f"Bearer {access_token}":
            status, body = 401, AUTH_FAILED
        else:
            status, body = handle(raw, retry_key)
        state.log(endpoint, status, retry_key, logged)
        headers = {"X-Line-Request-Id": str(uuid.uuid4())}
        if fault and fault["status"] and fault["retry_after"] is not None:
            headers["Retry-After"] = str(fault["retry_after"])
        return JSONResponse(body, status, headers=headers)

    accepted: set[str] = set()

    def validate(model, raw: str, address: str) -> tuple[dict, tuple[int, dict] | None]:
        """The request's JSON object and None, or {} and LINE's answer refusing it. The checks read
        the request apart from its `address` (any string to them), so a request accepted once is
        remembered without it: most pushes of a run are one notice to many users."""
        try:
            body = json.loads(raw)
        except ValueError:
            return {}, error(400, "The request body has 1 error(s)",
                             [{"message": "Malformed JSON", "property": ""}])
        if not isinstance(body, dict):
            return {}, error(400, "The request body has 1 error(s)",
                             [{"message": "Must be a JSON object", "property": ""}])
        shape = None
        if isinstance(body.get(address), str):
            shape = model.__name__ + json.dumps({key: value for key, value in body.items() if key != address},
                                                sort_keys=True)
            if shape in accepted:
                return body, None
        details = check_limits(body) or sdk_errors(model, raw)
        if details:
            return {}, error(400, f"The request body has {len(details)} error(s)", details)
        if shape is not None:
            if len(accepted) >= ACCEPTED_KEEP:
                accepted.clear()
            accepted.add(shape)
        return body, None

    def do_reply(raw: str, retry_key: str | None) -> tuple[int, dict]:
        body, failure = validate(ReplyMessageRequest, raw, "replyToken")
        if failure:
            return failure
        sent = state.reply(body["replyToken"], body["messages"])
        if sent is None:
            return error(400, "Invalid reply token")
        return 200, {"sentMessages": sent}

    def do_push(raw: str, retry_key: str | None) -> tuple[int, dict]:
        if retry_key is not None:
            try:
                uuid.UUID(retry_key)
            except ValueError:
                return error(400, "The value of the X-Line-Retry-Key header is invalid. "
                                  "Specify a UUID.")
        body, failure = validate(PushMessageRequest, raw, "to")
        if failure:
            return failure
        return state.push(body["to"], body["messages"], retry_key)

    @app.post("/v2/bot/message/reply")
    async def reply(request: Request):
        return await api_call(request, "reply", do_reply)

    @app.post("/v2/bot/message/push")
    async def push(request: Request):
        return await api_call(request, "push", do_push)

    @app.get("/v2/bot/profile/{user_id}")
    async def profile(user_id: str, request: Request):
        def handle(raw, retry_key):
            found = state.profile(user_id)
            return (200, found) if found else error(404, "Not found")
        return await api_call(request, "profile", handle)

    @app.get("/v2/bot/info")
    async def info(request: Request):
        return await api_call(request, "info", lambda raw, key: (200, BOT_INFO))

    # --- rich menus (LINE's api-data host for the image; one base URL here)
    def json_body(model, raw: str) -> tuple[dict, tuple[int, dict] | None]:
        """The request's JSON object and None, or {} and LINE's answer refusing it."""
        try:
            body = json.loads(raw)
        except ValueError:
            return {}, error(400, "The request body has 1 error(s)", [{"message": "Malformed JSON", "property": ""}])
        if not isinstance(body, dict):
            return {}, error(400, "The request body has 1 error(s)",
                             [{"message": "Must be a JSON object", "property": ""}])
        details = sdk_errors(model, raw)
        if model is RichMenuRequest and not details:
            details = layout_problems(body)
        if details:
            return {}, error(400, f"The request body has {len(details)} error(s)", details)
        return body, None

    def create_menu(raw: str, retry_key: str | None) -> tuple[int, dict]:
        body, failure = json_body(RichMenuRequest, raw)
        return failure or menus.create(body)

    @app.post("/v2/bot/richmenu")
    async def richmenu_create(request: Request):
        return await api_call(request, "richmenu", create_menu)

    @app.get("/v2/bot/richmenu/list")
    async def richmenu_list(request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.all())

    @app.get("/v2/bot/richmenu/alias/list")
    async def richmenu_alias_list(request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.all_aliases())

    @app.post("/v2/bot/richmenu/alias")
    async def richmenu_alias_create(request: Request):
        def handle(raw, key):
            body, failure = json_body(CreateRichMenuAliasRequest, raw)
            return failure or menus.create_alias(body["richMenuAliasId"], body["richMenuId"])
        return await api_call(request, "richmenu", handle)

    @app.get("/v2/bot/richmenu/alias/{alias_id}")
    async def richmenu_alias_get(alias_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.get_alias(alias_id))

    @app.post("/v2/bot/richmenu/alias/{alias_id}")
    async def richmenu_alias_update(alias_id: str, request: Request):
        def handle(raw, key):
            body, failure = json_body(UpdateRichMenuAliasRequest, raw)
            return failure or menus.update_alias(alias_id, body["richMenuId"])
        return await api_call(request, "richmenu", handle)

    @app.delete("/v2/bot/richmenu/alias/{alias_id}")
    async def richmenu_alias_delete(alias_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.delete_alias(alias_id))

    @app.get("/v2/bot/richmenu/{menu_id}")
    async def richmenu_get(menu_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.get(menu_id))

    @app.delete("/v2/bot/richmenu/{menu_id}")
    async def richmenu_delete(menu_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.delete(menu_id))

    @app.post("/v2/bot/richmenu/{menu_id}/content")
    async def richmenu_upload(menu_id: str, request: Request):
        content_type = request.headers.get("content-type", "")
        return await api_call(request, "richmenu", lambda raw, key: menus.upload(menu_id, content_type, raw),
                              binary=True)

    @app.get("/v2/bot/user/all/richmenu")
    async def richmenu_default_get(request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.get_default())

    @app.delete("/v2/bot/user/all/richmenu")
    async def richmenu_default_cancel(request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.cancel_default())

    @app.post("/v2/bot/user/all/richmenu/{menu_id}")
    async def richmenu_default_set(menu_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.set_default(menu_id))

    @app.get("/v2/bot/user/{user_id}/richmenu")
    async def richmenu_of_user(user_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.of_user(user_id))

    @app.delete("/v2/bot/user/{user_id}/richmenu")
    async def richmenu_unlink(user_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.unlink(user_id))

    @app.post("/v2/bot/user/{user_id}/richmenu/{menu_id}")
    async def richmenu_link(user_id: str, menu_id: str, request: Request):
        return await api_call(request, "richmenu", lambda raw, key: menus.link(user_id, menu_id))

    @app.get("/_standin/richmenu/{user_id}")
    def richmenu_shown(user_id: str):
        """The menu her LINE app shows (hers, else the default), or null."""
        return {"richmenu": menus.shown_to(user_id)}

    # --- user side and test hooks

    async def post_webhook(body: bytes, signature: str) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Line-Signature": signature, "User-Agent": "LineBotWebhook/2.0"}
        try:
            if app.state.webhook_client is None:  # one client for the app's life: creating one costs ~50 ms
                app.state.webhook_client = httpx.AsyncClient(transport=webhook_transport, timeout=30)
            response = await app.state.webhook_client.post(webhook_url, content=body, headers=headers)
            return response.status_code, None
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def webhook_result(status: int | None, failure: str | None, **extra) -> JSONResponse:
        result = {"status": status, **extra}
        if failure:
            result["error"] = failure
        return JSONResponse(result, 502 if failure else 200)

    @app.post("/_standin/users")
    def upsert_user(user: UserIn):
        return state.upsert_user(user.user_id, user.display_name, user.language, user.followed)

    @app.post("/_standin/send")
    async def send(req: SendIn):
        event = state.build_event(req.user_id, req.event, req.redelivery, req.webhook_event_id)
        body = json.dumps({"destination": destination, "events": [event]},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        status, failure = await post_webhook(body, sign(channel_secret, body))
        return webhook_result(status, failure, event=event)

    @app.post("/_standin/send_raw")
    async def send_raw(req: SendRawIn):
        body = req.body.encode("utf-8")
        status, failure = await post_webhook(body, req.signature or sign(channel_secret, body))
        return webhook_result(status, failure)

    @app.post("/_standin/reply_tokens")
    def reply_tokens(req: ReplyTokensIn):
        return {"tokens": state.issue_reply_tokens(req.user_id, req.count)}

    @app.get("/_standin/messages")
    def messages(user_id: str | None = None, after: int = 0):
        return {"messages": state.messages_for(user_id, after)}

    @app.get("/_standin/requests")
    def requests():
        with state._lock:
            return list(state.requests)

    @app.get("/_standin/undelivered")
    def undelivered():
        with state._lock:
            return list(state.undelivered)

    @app.post("/_standin/faults")
    def add_fault(fault: FaultIn):
        state.add_fault(fault.model_dump())
        return {"ok": True}

    @app.delete("/_standin/faults")
    def clear_faults():
        state.clear_faults()
        return {"ok": True}

    add_liff_routes(app, state, liff_apps)

    @app.post("/_standin/reset")
    def reset():
        state.reset()
        menus.reset()
        return {"ok": True}

    return app


def main() -> None:
    import argparse
    import gc
    import os

    import uvicorn

    parser = argparse.ArgumentParser(description="Run the local LINE stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/callback")
    parser.add_argument("--channel-secret", default=os.environ.get("LINE_CHANNEL_SECRET", "standin-secret"))
    parser.add_argument("--access-token",
                        default=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", "standin-token"))
    parser.add_argument("--reply-token-ttl", type=float, default=60.0)
    args = parser.parse_args()
    app = create_standin_app(channel_secret=args.channel_secret, access_token=args.access_token,
                             webhook_url=args.webhook_url, reply_token_ttl=args.reply_token_ttl)
    gc.freeze()  # the loaded modules live as long as the process: the collector need not walk them again
    uvicorn.run(app, host=args.host, port=args.port, access_log=False)


if __name__ == "__main__":
    main()
