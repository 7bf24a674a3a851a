"""The FastAPI app: POST /callback for LINE's webhook, GET /healthz.

The webhook checks the signature, stores the events and answers 200; the worker does the rest.
"""
import json
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser

from admin.app import create_admin_app
from bot import events
from bot.inbox_writer import InboxWriter
from bot.runtime import build
from bot.settings import Settings
from scheduling.db import ping

log = logging.getLogger("hagukumi.webhook")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    runtime = build(settings)
    engine, sessions, redis_client = runtime.engine, runtime.sessions, runtime.redis
    parser = WebhookParser(settings.channel_secret)
    writer = InboxWriter(sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(runtime.prepare_database)
        line = runtime.new_line_client()
        app.state.worker = runtime.new_worker(line, give_way=writer.idle)
        app.state.dispatcher = runtime.new_dispatcher(line)
        if settings.run_worker:
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

    app = FastAPI(title="Hagukumi", lifespan=lifespan, docs_url=None, redoc_url=None)
    admin = create_admin_app(sessions=sessions, city=runtime.city, secure_cookies=settings.admin_secure_cookies,
                             forget_state=runtime.state_store.forget)
    admin.state.quiet_hours = settings.quiet_hours   # its booking page tells when a held push goes
    app.mount("/admin", admin)
    app.router.redirect_slashes = False  # its redirects are absolute, built from the Host header

    @app.get("/admin", include_in_schema=False)
    async def admin_root(request: Request):
        return RedirectResponse(request.scope.get("root_path", "") + "/admin/", status_code=307)
    app.state.settings, app.state.sessions, app.state.engine = settings, sessions, engine

    @app.post("/callback")
    async def callback(request: Request):
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            parser.parse(body, request.headers.get("X-Line-Signature", ""))
            raw_events = json.loads(body)["events"]
        except InvalidSignatureError:
            return _refuse("invalid signature")
        except (ValueError, KeyError, TypeError):
            return _refuse("malformed body")
        rows = [_row(raw) for raw in raw_events if isinstance(raw, dict) and events.user_of(raw)]
        if rows:
            await writer.store(rows)
            if settings.run_worker:
                for user_id in {row["user_id"] for row in rows}:
                    app.state.worker.kick(user_id)
        return {"status": "ok"}

    @app.get("/healthz")
    async def healthz():
        checks = {"database": await run_in_threadpool(ping, engine)}
        if redis_client is not None:
            checks["redis"] = await run_in_threadpool(_redis_answers, redis_client)
        healthy = all(checks.values())
        return JSONResponse({"ok": healthy, **checks}, status_code=200 if healthy else 503)

    return app


def _refuse(reason: str) -> JSONResponse:
    log.warning("webhook refused: %s", reason)
    return JSONResponse({"message": reason}, status_code=400)


def _row(raw: dict) -> dict:
    return dict(
        webhook_event_id=raw.get("webhookEventId") or f"no-id:{raw.get('timestamp')}:{raw.get('replyToken')}",
        user_id=events.user_of(raw),
        event_type=str(raw.get("type"))[:32],
        occurred_at=events.occurred_at(raw),
        is_redelivery=bool((raw.get("deliveryContext") or {}).get("isRedelivery")),
        body=json.dumps(raw, ensure_ascii=False),
    )



def _redis_answers(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def __getattr__(name: str):
    """`bot.app:app` for uvicorn, built from the environment on first use."""
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
