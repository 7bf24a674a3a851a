"""Engine, sessions and schema migrations for SQLite (embedded default) and PostgreSQL."""
import fcntl
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, exc, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PG_MIGRATION_LOCK = 72_617_001  # any constant, shared by every process of this app
# A database that stops answering must not hold the webhook and the workers with it: connecting gives
# up after CONNECT_TIMEOUT, a statement after STATEMENT_TIMEOUT, a connection from the pool after
# POOL_TIMEOUT, and the kernel drops a connection whose peer vanished (keepalives, TCP_USER_TIMEOUT).
CONNECT_TIMEOUT = 5  # seconds
STATEMENT_TIMEOUT_MS = 30_000
LOCK_TIMEOUT_MS = 10_000
POOL_TIMEOUT = 10  # seconds
PING_IDLE_AFTER = 2.0  # seconds a pooled PostgreSQL connection may rest before it is pinged at checkout
PG_CONNECT_ARGS = {
    "connect_timeout": CONNECT_TIMEOUT,
    "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS}"
               " -c idle_in_transaction_session_timeout=60000",
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
    "tcp_user_timeout": 20_000,
}


def database_url_from_env(env) -> str:
    """DATABASE_URL, or the embedded default: a SQLite file in HAGUKUMI_DATA_DIR (default ./data)."""
    return env.get("DATABASE_URL") or f"sqlite:///{Path(env.get('HAGUKUMI_DATA_DIR', 'data')) / 'hagukumi.sqlite3'}"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, pool_size=10, max_overflow=10)
        _make_sqlite_safe(engine)
        # An attribute the Engine type does not know: transaction() and bot/ read it with getattr.
        engine.write_lock = SqliteWriteLock(parsed.database)  # type: ignore[attr-defined]
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    # No server-side prepared statements: psycopg prepares a statement after its fifth run, and
    # PostgreSQL may then keep a generic plan made while a table was small (a full scan) for good.
    engine = create_engine(parsed, pool_size=10, max_overflow=10, pool_timeout=POOL_TIMEOUT,
                           connect_args={"prepare_threshold": None, **PG_CONNECT_ARGS})
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """A pooled connection idle for PING_IDLE_AFTER is pinged before use, and replaced when it does not
    answer (the server restarted meanwhile). One in steady use is not: a ping on every checkout cost a
    round trip and about a tenth of a millisecond of CPU per transaction. Should the server restart
    between two close uses, that transaction fails as a disconnect, which has the pool replace every
    connection, and the work is tried again as any failed transaction is."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        if time.monotonic() - record.info.get("checked_in", 0.0) > PING_IDLE_AFTER:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as error:  # noqa: BLE001 (any failure: the pool connects anew)
                raise exc.DisconnectionError(str(error)) from error


class SqliteWriteLock:
    """SQLite has one writer, and its busy handler polls with sleeps of up to 100 ms. Writers, threads
    and processes alike, queue here instead (a thread lock, then an flock on a file beside the
    database), and each is woken the moment the one before is done."""

    def __init__(self, database: str | None):
        self._threads = threading.Lock()
        self._file = None
        if database and database != ":memory:":
            self._file = open(f"{database}.write-lock", "a+b")  # noqa: SIM115 (held for the process)

    def __enter__(self):
        self._threads.acquire()
        if self._file:
            fcntl.flock(self._file, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        if self._file:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()


def _make_sqlite_safe(engine: Engine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so two writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]):
    """The one place where work is committed: services below never commit."""
    with getattr(sessions.kw["bind"], "write_lock", nullcontext()), sessions.begin() as session:
        yield session


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe when several workers start at once."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:  # on SQLite this is BEGIN IMMEDIATE: one migrator at a time
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = 0"))  # a migration may take long; waiting is fine
            conn.execute(text("SET LOCAL lock_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def unreachable(url: str) -> str | None:
    """Why the database at `url` cannot be used, in one line, or None when it answers."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as error:  # noqa: BLE001 (any failure is the answer)
        first = str(getattr(error, "orig", None) or error).strip().splitlines() or [type(error).__name__]
        return first[0][:300]
    finally:
        engine.dispose()


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
