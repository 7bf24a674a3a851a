"""What the webhook and the worker share, built once per process from the settings.

The worker, the dispatcher and the LINE client are imported where they are made: a webhook process
(`hagukumi serve`) only stores events and never makes them, and the SDK's messaging models they bring
are tens of megabytes."""
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.state import RedisStateStore, SqlStateStore, StateStore
from scheduling.applications.crypto import Cipher, KeysMissing, development_key
from scheduling.care import providers
from scheduling.city.city_file import City, CityConfigError, load_city
from scheduling.classes import classes
from scheduling.dates.calendar import jst_today
from scheduling.store.db import make_engine, make_sessionmaker, transaction, upgrade_schema
from scheduling.store.models import utcnow

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher
    from bot.line_client import LineClient
    from bot.worker import Share, Worker


@dataclass
class Runtime:
    settings: Settings
    city: City
    engine: Engine
    sessions: sessionmaker[Session]
    state_store: StateStore
    redis: object | None

    @cached_property
    def cipher(self) -> Cipher:
        """The contact fields' keys (HAGUKUMI_DATA_KEYS); on the embedded SQLite default without them, a
        development key beside the database file. Asked for by the web app only (the worker never reads a
        name): a service on another database without keys refuses to start."""
        if self.settings.data_keys:
            return Cipher(self.settings.data_keys)
        database = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and database and database != ":memory:":
            return Cipher([development_key(Path(database).resolve().parent)])
        raise KeysMissing()

    def new_worker(self, line: "LineClient", give_way=None, share: "Share | None" = None) -> "Worker":
        from bot.worker import Share, Worker
        return Worker(sessions=self.sessions, state_store=self.state_store, line=line, city=self.city,
                      give_way=give_way, share=share or Share())

    def new_dispatcher(self, line: "LineClient") -> "Dispatcher":
        from bot.dispatcher import Dispatcher
        return Dispatcher(sessions=self.sessions, line=line, config=self.city.booking,
                          quiet_hours=self.settings.quiet_hours)

    def prepare_database(self) -> None:
        """Bring the schema up to date and the providers and class sessions in step with the city's file."""
        upgrade_schema(self.engine)
        with transaction(self.sessions) as session:
            providers.sync(session, config=self.city.booking)
            classes.sync(session, config=self.city.booking, today=jst_today(utcnow()))

    def new_line_client(self) -> "LineClient":
        from bot.line_client import LineClient
        return LineClient(base_url=self.settings.line_api_base_url,
                          access_token=self.settings.channel_access_token)


def build(settings: Settings) -> Runtime:
    try:
        city = load_city(settings.city_config)
    except CityConfigError as error:
        raise SystemExit(f"Hagukumi cannot start: {error}") from None
    city = replace(city, contact=replace(city.contact, apply_url=settings.liff_open_url))   # the form's button
    engine = make_engine(settings.database_url)
    ttl = timedelta(seconds=settings.state_ttl_seconds)
    redis_client = None
    state_store: StateStore
    if settings.redis_url:
        import redis
        redis_client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        state_store = RedisStateStore(redis_client, ttl)
    else:
        state_store = SqlStateStore(ttl)
    return Runtime(settings, city, engine, make_sessionmaker(engine), state_store, redis_client)
