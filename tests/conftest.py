"""Shared fixtures: a database on SQLite and (when there) PostgreSQL, Redis, the live bot + stand-in.

PostgreSQL (127.0.0.1:5432, user postgres, or TEST_POSTGRES_URL) and Redis (TEST_REDIS_URL) tests skip when
the server is missing, and fail instead when REQUIRE_SERVICES=1 (as on CI).

Fast by design (scripts/test runs the tests on several xdist workers): the schema is migrated once per
worker, not per test. A SQLite test gets a copy of a migrated file; a PostgreSQL test gets its worker's
migrated database, emptied (every row deleted, ids restarted) before it. A test of the migrations
themselves asks for `empty_database_url`; a test needing a second database makes a SQLite file in
tmp_path. The tests using `redis_url` take turns on TEST_REDIS_URL's database, the only one they flush.
Staff passwords are hashed at argon2's least cost (quick_password_hashes).
"""
import fcntl
import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import MetaData, create_engine, text

from bot.settings import Settings
from scheduling.accounts import staff
from scheduling.store.db import make_engine, make_sessionmaker, upgrade_schema

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET, TOKEN = "test-channel-secret", "test-access-token"
DATA_KEY = "kWb1Ijk6lcYyy7mhyrFRr5tJmh1lO0yrD5lnNrS5Ys0="   # tests only: a fixed Fernet key (HAGUKUMI_DATA_KEYS)


def pytest_collection_modifyitems(config, items):
    """On xdist workers, each worker starts with its share of the tests marked slow: xdist hands each worker
    one contiguous run of the collection and steals from their ends, so a long test left at the end of a run
    would be the suite's tail. The shares are even in seconds (`slow(seconds)`, each longest to the least
    loaded worker), not in count."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    slow = [item for item in items if item.get_closest_marker("slow")]
    if workers < 2 or not slow:
        return
    tests: dict[str, list] = {}   # a test's parameters stay together (one worker: no two take turns on Redis)
    for item in slow:
        tests.setdefault(item.nodeid.split("[")[0], []).append(item)
    seconds = {name: sum((item.get_closest_marker("slow").args or (10,))[0] for item in group)
               for name, group in tests.items()}
    shares: list[list] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for name in sorted(tests, key=lambda name: -seconds[name]):
        least = loads.index(min(loads))
        shares[least] += tests[name]
        loads[least] += seconds[name]
    rest = [item for item in items if not item.get_closest_marker("slow")]
    ordered, left = [], len(items)
    for worker, firsts in enumerate(shares):
        size = left // (workers - worker)  # xdist's first split (scheduler/worksteal.py)
        taken = size - len(firsts)
        ordered += firsts + rest[:taken]
        rest, left = rest[taken:], left - size
    items[:] = ordered + rest


def service_missing(what: str, error: Exception):
    reason = f"{what} is not reachable ({type(error).__name__}: {error}); start it or unset REQUIRE_SERVICES"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


SERVICE_HASHER = staff.SERVICE_HASHER


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """argon2id with its least cost: the service's (64 MiB, 3 passes, 4 lanes; ~0.2 s of CPU a hash, by
    design) made the admin tests a fifth of the suite's CPU. test_admin_auth checks the service's own."""
    monkeypatch.setattr(staff, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()


def new_postgres_database() -> str:
    """The url of a new, empty PostgreSQL database (drop it with drop_postgres_database)."""
    name = f"hagukumi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    finally:
        admin.dispose()


class WorkerPostgres:
    """This worker's migrated PostgreSQL database, handed to one test at a time and emptied between them."""

    def __init__(self):
        self.url, self.error, self.used, self._conn = None, None, False, None
        try:
            self.url = new_postgres_database()
            migrate(self.url)
            self._engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
            self._conn = self._engine.connect()
            self._empty_all = self._emptying_sql()
        except Exception as error:  # noqa: BLE001
            self.error = error

    def _emptying_sql(self) -> str:
        """Rows deleted children first, then every id sequence restarted: a few ms, where TRUNCATE of
        twenty tables takes a third of a second and CREATE DATABASE half a second."""
        tables = MetaData()
        tables.reflect(self._conn)
        sequences = self._conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                            "WHERE sequence_schema = current_schema()")).scalars()
        return "; ".join(["BEGIN"] + [f'DELETE FROM "{table.name}"' for table in reversed(tables.sorted_tables)
                                      if table.name != "alembic_version"]
                         + [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences] + ["COMMIT"])

    def fresh(self) -> str:
        if self.error:
            service_missing("PostgreSQL", self.error)
        if self.used:
            # connections a test left open would hold locks: end them, then empty every table
            self._conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            try:
                self._conn.exec_driver_sql(self._empty_all)
            except Exception:
                self._conn.exec_driver_sql("ROLLBACK")  # leave the connection usable for the next test
                raise
        self.used = True
        return self.url

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._engine.dispose()
        if self.url:
            drop_postgres_database(self.url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "hagukumi.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def worker_postgres():
    postgres = WorkerPostgres()
    yield postgres
    postgres.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of the test's own at the newest schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "hagukumi.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("worker_postgres").fresh()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A new database with no schema at all, for tests of the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    try:
        url = new_postgres_database()
    except Exception as error:  # noqa: BLE001
        service_missing("PostgreSQL", error)
    yield url
    drop_postgres_database(url)


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL's database, flushed before and after. The tests using it take turns (a file lock named
    after the url), whichever worker or checkout runs them, so none flushes another's keys mid-test."""
    import redis
    lock_name = "hagukumi-test-redis-" + hashlib.sha256(REDIS_URL.encode()).hexdigest()[:16] + ".lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


def make_settings(database_url: str, **overrides) -> Settings:
    env = {"LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "DATABASE_URL": database_url,
           "HAGUKUMI_DATA_KEYS": DATA_KEY}
    env.update(overrides)
    return Settings.from_env(env)
