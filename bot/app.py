"""The FastAPI app: POST /callback for LINE's webhook, GET /healthz.

The webhook checks the signature, stores the events and answers 200; the worker does the rest.
"""
import json
import logging
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser

from bot import events
from bot.line_client import LineClient
from bot.settings import Settings
from bot.state import RedisStateStore, SqlStateStore
from bot.worker import Worker
from scheduling import inbox
from scheduling.city import CityConfigError, load_city
from scheduling.db import make_engine, make_sessionmaker, ping, transaction, upgrade_schema
from scheduling.models import utcnow

log = logging.getLogger("hagukumi.webhook")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    try:
        city = load_city(settings.city_config)
    except CityConfigError as error:
        raise SystemExit(f"Hagukumi cannot start: {error}") from None
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    redis_client = None
    ttl = timedelta(seconds=settings.state_ttl_seconds)
    if settings.redis_url:
        import redis
        redis_client = redis.Redis.from_url(settings.redis_url)
        state_store = RedisStateStore(redis_client, ttl)
    else:
        state_store = SqlStateStore(ttl)
    parser = WebhookParser(settings.channel_secret)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(upgrade_schema, engine)
        line = LineClient(base_url=settings.line_api_base_url, access_token=settings.channel_access_token)
        app.state.worker = Worker(sessions=sessions, state_store=state_store, line=line, city=city)
        if settings.run_worker:
            app.state.worker.start()
        try:
            yield
        finally:
            await app.state.worker.stop()
            await line.close()
            engine.dispose()

    app = FastAPI(title="Hagukumi", lifespan=lifespan, docs_url=None, redoc_url=None)
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
            await run_in_threadpool(_store, sessions, rows)
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


def _store(sessions, rows: list[dict]) -> None:
    with transaction(sessions) as session:
        inbox.add(session, events=rows, now=utcnow())


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
