"""The FastAPI app: POST /callback for LINE's webhook, GET /healthz.

The webhook checks the signature, stores the events and answers 200; the worker does the rest.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session

from admin.app import create_admin_app
from bot import event_fields
from bot.inbox_writer import InboxWriter
from bot.liff.app import create_liff_app
from bot.liff.verify import TokenVerifier
from bot.runtime import build
from bot.settings import Settings
from scheduling.messaging import heartbeats, inbox
from scheduling.messaging.statuses import EventStatus
from scheduling.store.models import utcnow

log = logging.getLogger("hagukumi.webhook")
MAX_BODY = 2 * 1024 * 1024  # LINE's bodies are a few kilobytes; a redelivered backlog stays well below this
STORE_TIMEOUT = 5.0  # seconds a request waits for its events' commit before 500 (LINE sends it again)
FUTURE_SLACK = timedelta(hours=1)  # clocks differ; an event further ahead than this is not LINE's
ID_LENGTH = 64  # inbound_events.webhook_event_id and user_id
PROBE_WAIT = 1.0  # seconds /healthz waits for the database or Redis (an orchestrator's probe waits 1 s by default)
PENDING_TOO_LONG = 120  # seconds an acknowledged event may wait before /healthz says something is wrong


# async (body bytes or None when too large, signature) -> (status, JSON-able dict)
Webhook = Callable[[bytes | None, str], Awaitable[tuple[int, dict]]]
STORED = {"status": "ok"}   # the answer to nearly every request, encoded once
STORED_BODY = b'{"status":"ok"}'


class HagukumiApp(FastAPI):
    """The FastAPI app, with LINE's webhook (POST /callback) answered before FastAPI's middleware and
    routing: the webhook is the one endpoint under load (every tap of every mother), its work is small,
    and that stack cost more CPU per request than the work itself (py-spy). Everything else is FastAPI's."""

    webhook: Webhook | None = None

    async def __call__(self, scope, receive, send):
        if (self.webhook is not None and scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == "/callback" and not scope.get("root_path")):
            status, answer = await self.webhook(await _read_asgi_body(scope, receive), _header(scope, b"x-line-signature"))
            payload = STORED_BODY if answer is STORED else json.dumps(answer, ensure_ascii=False,
                                                                      separators=(",", ":")).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None) -> HagukumiApp:
    settings = settings or Settings.from_env()
    runtime = build(settings)
    engine, sessions, redis_client = runtime.engine, runtime.sessions, runtime.redis
    secret = settings.channel_secret.encode("utf-8")
    writer = InboxWriter(sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(runtime.prepare_database)
        if not settings.run_worker:   # a webhook process of `hagukumi serve`: its worker process answers
            try:
                yield
            finally:
                writer.close()
                engine.dispose()
            return
        line = runtime.new_line_client()
        app.state.worker = runtime.new_worker(line, give_way=writer.idle)
        app.state.dispatcher = runtime.new_dispatcher(line)
        app.state.worker.start()
        app.state.dispatcher.start()
        try:
            yield
        finally:
            await app.state.dispatcher.stop()
            await app.state.worker.stop()
            writer.close()
            await line.close()
            engine.dispose()

    app = HagukumiApp(title="Hagukumi", lifespan=lifespan, docs_url=None, redoc_url=None)
    cipher = runtime.cipher   # HAGUKUMI_DATA_KEYS: refuses to start here when they are needed and missing
    admin = create_admin_app(sessions=sessions, city=runtime.city, secure_cookies=settings.admin_secure_cookies,
                             forget_state=runtime.state_store.forget, cipher=cipher)
    admin.state.quiet_hours = settings.quiet_hours   # its booking page tells when a held push goes
    app.mount("/admin", admin)
    app.state.verifier = TokenVerifier(base_url=settings.line_api_base_url, client_id=settings.liff_client_id)
    app.mount("/liff", create_liff_app(sessions=sessions, city=runtime.city, verifier=app.state.verifier,
                                       cipher_of=lambda: cipher, liff_id=settings.liff_id,
                                       sdk_url=settings.liff_sdk_url, config=runtime.city.application))
    app.router.redirect_slashes = False  # its redirects are absolute, built from the Host header

    @app.get("/admin", include_in_schema=False)
    async def admin_root(request: Request):
        return RedirectResponse(request.scope.get("root_path", "") + "/admin/", status_code=307)
    app.state.settings, app.state.sessions, app.state.engine = settings, sessions, engine

    async def webhook(raw_body: bytes | None, signature: str) -> tuple[int, dict]:
        """LINE's webhook: the signature checked on the bytes, the body parsed once, its events stored
        in one insert (batched with other requests' by the writer) before the 200."""
        if raw_body is None:
            return _refused(f"body larger than {MAX_BODY} bytes", status=413)
        expected = base64.b64encode(hmac.new(secret, raw_body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
            return _refused("invalid signature")
        try:
            raw_events = json.loads(raw_body.decode("utf-8", errors="replace"))["events"]
            if not isinstance(raw_events, list):
                raise TypeError("events is not a list")
        except (ValueError, KeyError, TypeError, RecursionError):
            return _refused("malformed body")
        now = utcnow()
        rows = [_row(raw, user_id, now) for raw in raw_events
                if isinstance(raw, dict) and (user_id := event_fields.user_of(raw))]
        for row in rows:
            if row["status"] == EventStatus.REJECTED:
                log.warning("event %s acknowledged, recorded and not acted on: %s", row["webhook_event_id"],
                            row["last_error"])
        if rows:
            try:
                await writer.store(rows, timeout=STORE_TIMEOUT)
            except Exception as error:  # noqa: BLE001 (LINE redelivers; the log names the cause)
                log.error("events not stored, answering 500: %s", type(error).__name__ + f": {error}"[:300])
                return 500, {"message": "not stored, please send again"}
            if settings.run_worker:
                for user_id, count in inbox.pending_counts(rows).items():
                    app.state.worker.kick(user_id, count)
        return 200, STORED

    app.webhook = webhook

    @app.post("/callback")
    async def callback(request: Request):
        """The same webhook through FastAPI (reached when the app is mounted under a path)."""
        status, answer = await webhook(await _read_capped(request), request.headers.get("X-Line-Signature", ""))
        return JSONResponse(answer, status_code=status)

    started = time.monotonic()
    database_probe = Probe(lambda: _database_health(engine))
    redis_probe = Probe(lambda: _redis_answers(redis_client))

    @app.get("/healthz")
    async def healthz():
        """200 when the database (and Redis) answer, the worker and the dispatcher beat in time and no
        event waits too long; 503 otherwise, within a second even when the database hangs."""
        found, redis_up = await asyncio.gather(database_probe(), redis_probe() if redis_client else _nothing())
        checks: dict[str, object] = {"database": bool(found)}
        if redis_client is not None:
            checks["redis"] = bool(redis_up)
        healthy = all(checks.values())
        if found:
            starting = time.monotonic() - started < heartbeats.STALE_AFTER.total_seconds()
            for role, age in found["heartbeats"].items():
                fresh = starting if age is None else age <= heartbeats.STALE_AFTER.total_seconds()
                checks[role] = {"ok": fresh, "heartbeat_age_seconds": None if age is None else round(age, 1)}
                healthy = healthy and fresh
            checks["oldest_pending_seconds"] = round(found["oldest_pending"], 1)
            healthy = healthy and found["oldest_pending"] <= PENDING_TOO_LONG
        return JSONResponse({"ok": healthy, **checks}, status_code=200 if healthy else 503)

    return app


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY (found before reading it all)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(reason: str, status: int = 400) -> tuple[int, dict]:
    log.warning("webhook refused: %s", reason)
    return status, {"message": reason}


def _header(scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


async def _read_asgi_body(scope, receive) -> bytes | None:
    """The request's body, or None when it is larger than MAX_BODY (found before reading it all)."""
    length = _header(scope, b"content-length")
    if length.isdigit() and int(length) > MAX_BODY:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _fits(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= ID_LENGTH and "\x00" not in value


def _occurred_at(raw: dict) -> datetime | None:
    stamp = raw.get("timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        return None
    try:
        return event_fields.occurred_at(raw)
    except (ValueError, OverflowError, OSError):
        return None


def rejection(raw: dict, user_id: str, occurred: datetime | None, now: datetime) -> str | None:
    """Why a validly signed event must not be acted on, or None. Checked one event at a time, so a bad
    event is recorded as rejected and never fails the others stored with it."""
    event_id = raw.get("webhookEventId")
    if event_id is not None and not _fits(event_id):
        return "webhookEventId is not a string of 1 to 64 characters without NUL"
    if not _fits(user_id):
        return "source.userId is not a string of 1 to 64 characters without NUL"
    if occurred is None:
        return f"timestamp {str(raw.get('timestamp'))[:40]!r} is not a time in milliseconds"
    if occurred < now - inbox.KEEP_HANDLED:
        return (f"older than {inbox.KEEP_HANDLED.days} days (handled events are forgotten then, so this could "
                "be a replay): not acted on")
    if occurred > now + FUTURE_SLACK:
        return "timestamp is in the future"
    return None


def _digest(value) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "replace")).hexdigest()[:40]


def _row(raw: dict, user_id: str, now: datetime) -> dict:
    occurred = _occurred_at(raw)
    reason = rejection(raw, user_id, occurred, now)
    event_id = raw.get("webhookEventId")
    if not event_id or not _fits(event_id):
        digest = _digest((event_id, raw.get("timestamp"), raw.get("replyToken")))
        event_id = f"{'rejected' if event_id else 'no-id'}:{digest}"
    return dict(
        webhook_event_id=event_id,
        user_id=user_id if _fits(user_id) else f"rejected:{_digest(user_id)}",
        event_type=str(raw.get("type"))[:32],
        occurred_at=occurred if occurred is not None and reason is None else now,
        is_redelivery=bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
        body=json.dumps(raw, ensure_ascii=False),
        status=EventStatus.REJECTED if reason else EventStatus.PENDING,
        last_error=reason,
    )


class Probe:
    """Runs a check in a thread of its own, one at a time, and waits for it at most PROBE_WAIT: a
    database that hangs makes /healthz answer 503 at once (the hung check is not started again)."""

    def __init__(self, check):
        self._check, self._thread, self._running = check, ThreadPoolExecutor(1, "hagukumi-health"), None

    async def __call__(self):
        if self._running is None or self._running.done():
            self._running = asyncio.wrap_future(self._thread.submit(self._check))
        try:
            return await asyncio.wait_for(asyncio.shield(self._running), PROBE_WAIT)
        except Exception:  # noqa: BLE001 (timed out or failed: not healthy)
            return None


async def _nothing():
    return None


def _database_health(engine) -> dict | None:
    with engine.connect() as conn, Session(bind=conn) as session:
        now = utcnow()
        return {"heartbeats": heartbeats.ages(session, now=now),
                "oldest_pending": inbox.oldest_pending_age(session, now=now)}


def _redis_answers(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


app: HagukumiApp   # made by __getattr__ on first use


def __getattr__(name: str):
    """`bot.app:app` for uvicorn, built from the environment on first use."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
