"""Shared fixtures: a database on SQLite and (when there) PostgreSQL, Redis, the live bot + stand-in.

PostgreSQL (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) tests skip when the server is
missing, and fail instead when REQUIRE_SERVICES=1 (as on CI).
"""
import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from bot.settings import Settings
from scheduling.db import make_engine, make_sessionmaker, upgrade_schema

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET, TOKEN = "test-channel-secret", "test-access-token"


def service_missing(what: str, error: Exception):
    reason = f"{what} is not reachable ({type(error).__name__}: {error}); start it or unset REQUIRE_SERVICES"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hagukumi.sqlite3'}"
        return
    name = f"hagukumi_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001
        service_missing("PostgreSQL", error)
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url():
    import redis
    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.flushdb()
    except Exception as error:  # noqa: BLE001
        service_missing("Redis", error)
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def make_settings(database_url: str, **overrides) -> Settings:
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "DATABASE_URL": database_url}
    env.update(overrides)
    return Settings.from_env(env)
